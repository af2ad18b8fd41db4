// A fake PassthruSystem for unit tests: datagram sockets that record what is bound and sent
// (and can be told to fail), and a daemon side the test drives by hand.
import type { DatagramSocket } from '../../agents/common/unix-dgram';
import { realSystem, type PassthruSystem } from '../../agents/passthru/system';

export interface SentDatagram {
  msg: Buffer;
  dest: string;
}

function errnoError(code: string, syscall: string, address: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code} ${address}`);
  err.code = code;
  err.syscall = syscall;
  err.path = address;
  return err;
}

export class FakeDatagram implements DatagramSocket {
  readonly binds: string[] = [];
  /** Datagrams that were accepted (a send that did not throw). */
  readonly sent: SentDatagram[] = [];
  /** Every send call, failed or not. */
  attempts = 0;
  private isClosed = false;

  constructor(
    private readonly owner: FakeSystem,
    private readonly onMessage: (msg: Buffer) => void,
    private readonly onError: (err: NodeJS.ErrnoException) => void,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  bind(path: string): void {
    if (this.isClosed) throw errnoError('EBADF', 'bind', path);
    // A file a crashed run left at the path: bind fails as the kernel's would until it is removed.
    if (this.owner.stale.has(path) && !this.owner.removed.includes(path)) throw errnoError('EADDRINUSE', 'bind', path);
    this.binds.push(path);
  }

  send(msg: Buffer, dest: string): void {
    this.attempts++;
    if (this.isClosed) throw errnoError('EBADF', 'sendto', dest);
    const failure = this.owner.failures.shift();
    if (failure) throw errnoError(failure, 'sendto', dest);
    // Copy: the caller may reuse its buffer.
    this.sent.push({ msg: Buffer.from(msg), dest });
    this.owner.onSend?.(msg, dest, this);
  }

  close(): void {
    this.isClosed = true;
  }

  /** The socket fails as the addon reports a libuv poll error: closed, then onError. */
  failPoll(code: string): void {
    this.isClosed = true;
    this.onError(errnoError(code, 'poll', ''));
  }

  /** The daemon sends `msg` to this socket's path; ignored once closed, as the kernel would. */
  deliver(msg: Buffer | string): boolean {
    if (this.isClosed) return false;
    this.onMessage(typeof msg === 'string' ? Buffer.from(msg) : msg);
    return true;
  }
}

export class FakeSystem implements PassthruSystem {
  readonly sockets: FakeDatagram[] = [];
  readonly removed: string[] = [];
  /** Error codes the next send calls throw, one per call, across all sockets. */
  failures: string[] = [];
  onSend: ((msg: Buffer, dest: string, sock: FakeDatagram) => void) | null = null;

  /** The next `n` sends throw an error with this `.code`. */
  failNextSends(code: string, n = 1): void {
    for (let i = 0; i < n; i++) this.failures.push(code);
  }

  /** The most recently opened socket (each Conversation opens exactly one). */
  get last(): FakeDatagram {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error('no datagram socket was opened');
    return s;
  }

  /** Socket files a crashed run left behind (see FakeDatagram.bind). */
  readonly stale = new Set<string>();

  openDatagram(onMessage: (msg: Buffer) => void, onError: (err: NodeJS.ErrnoException) => void): DatagramSocket {
    const s = new FakeDatagram(this, onMessage, onError);
    this.sockets.push(s);
    return s;
  }

  createTcpServer(): never {
    throw new Error('FakeSystem.createTcpServer is not used by these tests');
  }

  statusServer(): never {
    throw new Error('FakeSystem.statusServer is not used by these tests');
  }

  socketIdentity(): string | null {
    return null;
  }

  ipv4Addresses(): [] {
    return [];
  }

  watchPath(): { close(): void } {
    return { close: () => undefined };
  }

  watchAddresses(): { close(): void } {
    return { close: () => undefined };
  }

  makePrivateDir(): null {
    return null;
  }

  listDir(): string[] {
    return [];
  }

  removeFile(path: string): void {
    this.removed.push(path);
  }

  removeDir(): void {}

  readText(path: string): string {
    throw errnoError('ENOENT', 'open', path);
  }

  // Time is the real clock's: these tests watch conversations on real TCP sockets.
  now = realSystem.now;
  monotonic = realSystem.monotonic;
  after = realSystem.after;
  until = realSystem.until;
}
