// A fake PassthruSystem for unit tests: datagram sockets that record what is bound and sent
// (and can be told to fail), a daemon side the test drives by hand, and a clock that moves only
// when the test moves it.
import type { DatagramSocket } from '../../agents/common/unix-dgram';
import type { PassthruSystem, Timer } from '../../agents/passthru/system';

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

  // The clock: whole microseconds since the fake system was made, so that steps of a fraction of
  // a millisecond add up exactly, and a timer falls due at the very time the test advances to.
  private micros = 0;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private armed = 0;

  /** The wall clock: whole milliseconds, as Date.now() gives them, from a fixed date. */
  now(): number {
    return FAKE_EPOCH + Math.floor(this.micros / 1000);
  }

  /** Milliseconds since the fake system was made, with the fraction. */
  monotonic(): number {
    return this.micros / 1000;
  }

  /** Falls due `ms` from now; fires only within advance(). */
  after(ms: number, fn: () => void): Timer {
    // As Node's setTimeout: a delay under 1 ms is 1 ms.
    const t = { at: this.micros + Math.round((ms >= 1 ? ms : 1) * 1000), seq: this.armed++, fn };
    this.timers.push(t);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== t)) };
  }

  /**
   * Moves the clock on by `ms`, firing every timer that falls due meanwhile, in the order they
   * fall due (those armed by a timer included), each with the clock at its own time.
   */
  advance(ms: number): void {
    const until = this.micros + Math.round(ms * 1000);
    for (let fired = 0; ; fired++) {
      if (fired > 100_000) throw new Error('FakeSystem.advance: timers keep arming timers that fall due at once');
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.micros = due.at;
      due.fn();
    }
    this.micros = until;
  }

  /**
   * Advances `stepMs` at a time, letting pending callbacks and I/O run between steps, until
   * `done()` holds; fails once `maxMs` of fake time has gone by without it.
   */
  async advanceUntil(what: string, done: () => boolean, stepMs: number, maxMs: number): Promise<void> {
    for (let spent = 0; !done(); spent += stepMs) {
      if (spent >= maxMs) throw new Error(`${what}: not within ${maxMs} ms of fake time`);
      this.advance(stepMs);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Resolves once `done()` holds, looked at every fake millisecond, or once `ms` have gone by. */
  until(done: () => boolean, ms: number): Promise<void> {
    const deadline = this.micros + ms * 1000;
    return new Promise((resolve) => {
      const look = (): void => {
        if (done() || this.micros >= deadline) resolve();
        else this.after(1, look);
      };
      look();
    });
  }
}

/** The fake wall clock's start, a whole millisecond: its milliseconds begin where the monotonic clock's do. */
const FAKE_EPOCH = Date.UTC(2026, 10, 26, 14, 0, 0);
