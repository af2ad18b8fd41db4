// Two TCP connections joined in the kernel (native/tcp_join.c): each direction is spliced through a
// pipe, so the bytes of a TCP line never enter the process. socat and Node's streams copy every
// byte into user space and out again; on the guest's one vCPU that copy was the whole cost of a
// fast upload.
import { loadAddon } from '../common/unix-dgram';

declare const joinBrand: unique symbol;
interface JoinHandle {
  readonly [joinBrand]: true;
  onend?: (flow: number) => void;
  ondone?: () => void;
  onerror?: (err: NodeJS.ErrnoException) => void;
}

interface JoinBinding {
  join(clientFd: number, targetFd: number): JoinHandle;
  joinInfo(handle: JoinHandle): [bytesIn: number, bytesOut: number, lastActiveMs: number];
  joinClose(handle: JoinHandle, reset: boolean): void;
}

export interface JoinEvents {
  /** One side's end was passed on to the other: 'in' the client's, 'out' the target's. */
  end(direction: 'in' | 'out'): void;
  /** Both ends passed on: nothing more will move. */
  done(): void;
  /** A side failed (ECONNRESET, EPIPE, …): nothing more moves until close(). */
  error(code: string): void;
}

export interface KernelJoin {
  /** Bytes delivered client → target (in) and target → client (out) so far. */
  bytes(): { in: number; out: number };
  /** When bytes last moved, on Date.now()'s clock (the join's start before any). */
  lastActive(): number;
  /** Closes both connections (idempotent); reset: the client's is reset rather than ended. */
  close(reset: boolean): void;
}

/**
 * Joins the connected sockets `clientFd` and `targetFd`: the addon takes copies of both, so the
 * caller closes its own descriptors. Throws a system error (EMFILE, …) when it cannot.
 */
export function joinInKernel(clientFd: number, targetFd: number, events: JoinEvents): KernelJoin {
  const binding = loadAddon() as JoinBinding;
  const handle = binding.join(clientFd, targetFd);
  handle.onend = (flow) => events.end(flow === 0 ? 'in' : 'out');
  handle.ondone = () => events.done();
  handle.onerror = (err) => events.error(err.code ?? err.message);
  return {
    bytes() {
      const [bytesIn, bytesOut] = binding.joinInfo(handle);
      return { in: bytesIn, out: bytesOut };
    },
    lastActive: () => binding.joinInfo(handle)[2],
    close: (reset) => binding.joinClose(handle, reset),
  };
}
