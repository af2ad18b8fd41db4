// UNIX datagram sockets through our native addon (native/unix_dgram.c):
// Node has no AF_UNIX SOCK_DGRAM, and wpa_supplicant, hostapd and syslogd
// all speak it.
import fs from 'node:fs';
import path from 'node:path';

export interface DatagramSocket {
  /** Bind to a filesystem path and start delivering datagrams to onMessage.
   *  A bound socket keeps the process alive until close(), like a server. */
  bind(path: string): void;
  /** Non-blocking sendto. Throws Node-style errors: `.code` ('ENOENT',
   *  'ECONNREFUSED', 'EAGAIN', 'EMSGSIZE', 'EBADF' once closed, ...),
   *  `.errno` (negative), `.syscall`, `.address`. */
  send(msg: Buffer, dest: string): void;
  /** Idempotent; safe inside onMessage. Does not unlink the bound path. */
  close(): void;
  readonly closed: boolean;
}

declare const handleBrand: unique symbol;
type NativeHandle = { readonly [handleBrand]: true };

interface DgramBinding {
  open(onMessage: (msg: Buffer) => void): NativeHandle & { onerror?: (err: NodeJS.ErrnoException) => void };
  bind(handle: NativeHandle, path: string): void;
  send(handle: NativeHandle, msg: Buffer, dest: string): void;
  close(handle: NativeHandle): void;
  injectPollError(handle: NativeHandle, errno: number): void;
  watchRoute(groups: number, onMessage: (msg: Buffer) => void): NativeHandle;
}

const ADDON_FILE = 'wifibox_dgram.node';

// The bundle in dist/ has the addon copied beside it; from source (vitest)
// it is node-gyp's output. An explicit override is the only place looked at,
// so a typo in it fails loudly instead of silently loading another build.
function candidatePaths(): string[] {
  const override = process.env.WIFIBOX_DGRAM_ADDON;
  if (override) return [override];
  return [path.join(__dirname, ADDON_FILE), path.join(__dirname, '../../native/build/Release', ADDON_FILE)];
}

let loaded: { binding: DgramBinding; file: string } | undefined;

function load(): { binding: DgramBinding; file: string } {
  if (loaded) return loaded;
  const tried = candidatePaths();
  const file = tried.find((p) => fs.existsSync(p));
  if (file === undefined) {
    throw new Error(`${ADDON_FILE} not found (tried ${tried.join(', ')}); run \`npm run build\``);
  }
  // process.dlopen rather than require: bundlers leave it alone, and it
  // behaves the same under vitest's module runner.
  const mod = { exports: {} as unknown };
  try {
    process.dlopen(mod, file);
  } catch (err) {
    throw new Error(`cannot load ${file}: ${(err as Error).message}; run \`npm run build\``, {
      cause: err,
    });
  }
  loaded = { binding: mod.exports as DgramBinding, file };
  return loaded;
}

/**
 * The addon's exports, for the other surface it carries (native/tcp_join.c, wrapped by
 * agents/forward/kernel-join.ts); throws as openDatagramSocket does when it cannot be loaded.
 */
export function loadAddon(): unknown {
  return load().binding;
}

/** Where the addon was loaded from (loading it if needed). */
export function addonPath(): string {
  return load().file;
}

class UnixDatagramSocket implements DatagramSocket {
  private isClosed = false;

  constructor(
    private readonly binding: DgramBinding,
    readonly handle: NativeHandle & { onerror?: (err: NodeJS.ErrnoException) => void },
    onError: (err: NodeJS.ErrnoException) => void,
  ) {
    // libuv stopped watching the socket (the addon closes it right after): nothing more will come.
    handle.onerror = (err) => {
      this.isClosed = true;
      onError(err);
    };
  }

  get closed(): boolean {
    return this.isClosed;
  }

  bind(socketPath: string): void {
    this.binding.bind(this.handle, socketPath);
  }

  send(msg: Buffer, dest: string): void {
    this.binding.send(this.handle, msg, dest);
  }

  close(): void {
    this.isClosed = true;
    this.binding.close(this.handle);
  }
}

/**
 * Open an unbound socket. Unclosed, unbound sockets are freed by GC. `onError`: the socket failed
 * (a poll error) and is closed; it will deliver nothing more.
 */
export function openDatagramSocket(onMessage: (msg: Buffer) => void, onError: (err: NodeJS.ErrnoException) => void = () => undefined): DatagramSocket {
  const { binding } = load();
  return new UnixDatagramSocket(binding, binding.open(onMessage), onError);
}

/** For tests: the socket meets a poll error (errno, e.g. 5 for EIO), as libuv would report one. */
export function injectPollError(socket: DatagramSocket, errno: number): void {
  if (!(socket instanceof UnixDatagramSocket)) throw new TypeError('not a socket of openDatagramSocket');
  load().binding.injectPollError(socket.handle, errno);
}

/** The kernel's rtnetlink multicast groups (linux/rtnetlink.h) an agent may wait on. */
export const ROUTE_GROUPS = { link: 0x1, neighbour: 0x4, ipv4Address: 0x10 } as const;

export interface RouteWatch {
  close(): void;
}

/**
 * Calls `onChange` whenever the kernel announces a change in `groups` (a link appearing, going or
 * changing its flags; an address added or removed): the caller looks at the state again, so a
 * message's content does not matter, nor events the kernel dropped (it says so, and that calls
 * onChange too). The socket sleeps in the kernel until then: nothing is polled.
 */
export function watchRoute(groups: number, onChange: () => void): RouteWatch {
  const { binding } = load();
  const handle = binding.watchRoute(groups, () => onChange());
  return { close: () => binding.close(handle) };
}
