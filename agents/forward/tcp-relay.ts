// A TCP line of forwarding.conf (TCP-LISTEN → TCP4): each accepted connection is joined to a new
// connection to the target.
//
// - Half-close: one side's end (FIN) is passed on as an end; the other direction keeps flowing
//   until it ends too (with socat -t: at most that long after the first end).
// - Backpressure: a side is not read while the other side's send buffer is full, so a fast sender
//   and a slow receiver cost no more than the sockets' own buffers.
// - Carried by the kernel: once the target has connected, a two-way line's pair is joined with
//   splice (kernel-join.ts) and no byte passes through the process. A one-way line (-u), or a pair
//   the kernel join cannot take (EMFILE), is carried by Node's streams as below.
// - Limits: --max-connections per line (max-children= if the line gives it; 1 without fork, where
//   socat would serve one connection and exit); a connection idle for the line's -T (or
//   --tcp-idle-timeout) is closed.
import type { Socket } from 'node:net';
import type { ForwardCounters } from '../common/status';
import type { KernelJoin } from './kernel-join';
import { LineRelay } from './relay';
import type { Closable } from './system';

interface Joined {
  client: Socket;
  target: Socket;
  peer: string;
  lastActive: number;
  closeTimer: { cancel(): void } | null;
  /** Set once the pair is carried by the kernel: the sockets above are given up then. */
  kernel: KernelJoin | null;
}

export class TcpRelay extends LineRelay {
  private server: Closable | null = null;
  private readonly joined = new Set<Joined>();

  protected defaultIdleMs(): number {
    return this.env.limits.tcpIdleMs;
  }

  protected async open(): Promise<void> {
    const l = this.line.listen;
    this.server = await this.env.sys.tcpServer(l.address, l.port, l.backlog ?? 128, (s) => this.accept(s));
  }

  private accept(client: Socket): void {
    const peer = client.remoteAddress ?? '';
    client.on('error', () => undefined);
    // A refused or failed connection is reset, not ended: the peer must not take it for an empty answer.
    if (!this.admit(peer)) {
      client.resetAndDestroy();
      return;
    }
    const l = this.line.listen;
    const limit = l.fork ? (l.maxChildren ?? this.env.limits.maxConnections) : 1;
    if (this.joined.size >= limit) {
      this.counters.refusedLimit++;
      this.refused(peer, limit === 1 ? 'busy with another connection (no fork)' : `over the limit of ${limit} connections`);
      client.resetAndDestroy();
      return;
    }
    const t = this.line.target;
    const target = this.env.sys.tcpConnect({ address: t.host, port: t.port }, t.bindAddress, t.bindPort);
    const j: Joined = { client, target, peer, lastActive: this.env.sys.now(), closeTimer: null, kernel: null };
    this.joined.add(j);
    this.watchIdle();
    this.counters.connections++;
    const connectTimer = this.env.sys.after(t.connectTimeoutMs ?? this.env.limits.connectTimeoutMs, () => this.fail(j, 'ETIMEDOUT'));
    target.on('error', (err: NodeJS.ErrnoException) => this.fail(j, err.code ?? err.message));
    client.on('error', (err: NodeJS.ErrnoException) => this.fail(j, err.code ?? err.message));
    const inKernel = !this.line.oneWay;
    target.once('connect', () => {
      connectTimer.cancel();
      if (l.keepAlive || t.keepAlive) for (const s of [client, target]) s.setKeepAlive(true);
      if (inKernel && !this.joinInKernel(j)) this.carryInNode(j);
    });
    // Both ends done (or one failed, and fail() destroyed both): the pair is over.
    const gone = () => {
      if (client.destroyed && target.destroyed) this.forget(j);
    };
    client.on('close', () => {
      connectTimer.cancel();
      gone();
    });
    target.on('close', gone);
    // Node's streams read the peer at once: what it sent waits in the target socket until that
    // connects (a turn of the event loop sooner), and write()'s backpressure bounds it. The
    // kernel's join leaves it in the client's socket until then.
    if (!inKernel) this.carryInNode(j);
  }

  /** The pair carried by the kernel from now on; false when it cannot be (it is left to Node's streams). */
  private joinInKernel(j: Joined): boolean {
    try {
      j.kernel = this.env.sys.join(j.client, j.target, {
        end: () => this.ended(j),
        done: () => this.destroy(j),
        error: (code) => this.fail(j, code),
      });
      return true;
    } catch (err) {
      this.env.log.debug({ ...this.fields, peer: j.peer, code: (err as NodeJS.ErrnoException).code }, 'carried by Node: no kernel join');
      return false;
    }
  }

  private carryInNode(j: Joined): void {
    const { client, target } = j;
    this.pipe(j, client, target, 'bytesIn');
    if (this.line.oneWay) {
      // socat -u: nothing goes back. What the target sends is read and thrown away, so that its
      // end is seen and passed on, and the connection closes.
      target.resume();
      target.on('end', () => {
        client.end();
        this.ended(j);
      });
    } else {
      this.pipe(j, target, client, 'bytesOut');
    }
    client.resume();
  }

  /** from → to, pausing `from` while `to` cannot take more; an end is passed on as an end. */
  private pipe(j: Joined, from: Socket, to: Socket, count: 'bytesIn' | 'bytesOut'): void {
    from.on('data', (chunk: Buffer) => {
      j.lastActive = this.env.sys.now();
      this.counters[count] += chunk.length;
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      j.lastActive = this.env.sys.now();
      from.resume();
    });
    from.on('end', () => {
      to.end();
      this.ended(j);
    });
  }

  /** socat -t: after the first end, the rest of the connection gets this long. */
  private ended(j: Joined): void {
    const ms = this.line.closeTimeoutMs;
    if (ms === null || j.closeTimer) return;
    j.closeTimer = this.env.sys.after(ms, () => this.destroy(j));
  }

  private fail(j: Joined, code: string): void {
    if (!this.joined.has(j)) return;
    this.counters.errors++;
    this.env.log.debug({ ...this.fields, peer: j.peer, code }, 'connection failed');
    j.kernel?.close(true);
    j.client.resetAndDestroy();
    this.destroy(j);
  }

  private destroy(j: Joined): void {
    j.kernel?.close(false);
    j.client.destroy();
    j.target.destroy();
    this.forget(j);
  }

  private forget(j: Joined): void {
    j.closeTimer?.cancel();
    // A kernel join's bytes are counted when asked for (status) and for good when it goes.
    if (j.kernel && this.joined.has(j)) {
      const b = j.kernel.bytes();
      this.counters.bytesIn += b.in;
      this.counters.bytesOut += b.out;
    }
    this.joined.delete(j);
  }

  protected closeIdle(now: number, idleMs: number): void {
    for (const j of [...this.joined]) {
      if (now - Math.max(j.lastActive, j.kernel?.lastActive() ?? 0) >= idleMs) {
        this.counters.idleClosed++;
        this.destroy(j);
      }
    }
  }

  protected close(): void {
    this.server?.close();
    this.server = null;
    for (const j of [...this.joined]) this.destroy(j);
  }

  protected countersNow(): ForwardCounters {
    const c = { ...this.counters };
    for (const j of this.joined) {
      const b = j.kernel?.bytes();
      c.bytesIn += b?.in ?? 0;
      c.bytesOut += b?.out ?? 0;
    }
    return c;
  }

  protected active(): { count: number; peers: Iterable<string> } {
    return { count: this.joined.size, peers: [...this.joined].map((j) => j.peer) };
  }
}
