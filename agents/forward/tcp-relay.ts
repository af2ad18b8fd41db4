// A TCP line of forwarding.conf (TCP-LISTEN → TCP4): each accepted connection is joined to a new
// connection to the target.
//
// - Half-close: one side's end (FIN) is passed on as an end; the other direction keeps flowing
//   until it ends too (with socat -t: at most that long after the first end).
// - Backpressure: a side is not read while the other side's send buffer is full, so a fast sender
//   and a slow receiver cost no more than the sockets' own buffers.
// - Limits: --max-connections per line (max-children= if the line gives it; 1 without fork, where
//   socat would serve one connection and exit); a connection idle for the line's -T (or
//   --tcp-idle-timeout) is closed.
import type { Socket } from 'node:net';
import { LineRelay } from './relay';
import type { Closable } from './system';

interface Joined {
  client: Socket;
  target: Socket;
  peer: string;
  lastActive: number;
  closeTimer: { cancel(): void } | null;
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
    const j: Joined = { client, target, peer, lastActive: this.env.sys.now(), closeTimer: null };
    this.joined.add(j);
    this.watchIdle();
    this.counters.connections++;
    const connectTimer = this.env.sys.after(t.connectTimeoutMs ?? this.env.limits.connectTimeoutMs, () => this.fail(j, 'ETIMEDOUT'));
    target.on('error', (err: NodeJS.ErrnoException) => this.fail(j, err.code ?? err.message));
    client.on('error', (err: NodeJS.ErrnoException) => this.fail(j, err.code ?? err.message));
    target.once('connect', () => {
      connectTimer.cancel();
      if (l.keepAlive || t.keepAlive) for (const s of [client, target]) s.setKeepAlive(true);
    });
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
    // Read the peer at once: what it sent waits in the target socket until that connects (a turn
    // of the event loop sooner than waiting for the connect), and write()'s backpressure bounds it.
    client.resume();
    // Both ends done (or one failed, and fail() destroyed both): the pair is over.
    const gone = () => {
      if (client.destroyed && target.destroyed) this.forget(j);
    };
    client.on('close', () => {
      connectTimer.cancel();
      gone();
    });
    target.on('close', gone);
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
    j.client.resetAndDestroy();
    this.destroy(j);
  }

  private destroy(j: Joined): void {
    j.client.destroy();
    j.target.destroy();
    this.forget(j);
  }

  private forget(j: Joined): void {
    j.closeTimer?.cancel();
    this.joined.delete(j);
  }

  protected closeIdle(now: number, idleMs: number): void {
    for (const j of [...this.joined]) {
      if (now - j.lastActive >= idleMs) {
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

  protected active(): { count: number; peers: Iterable<string> } {
    return { count: this.joined.size, peers: [...this.joined].map((j) => j.peer) };
  }
}
