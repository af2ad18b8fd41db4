// A UDP line of forwarding.conf.
//
//   UDP4-RECV  datagrams from anyone, merged, sent on to the target from one socket; no replies
//              (socat: "No replies are possible"): what the target sends back is dropped.
//   UDP-LISTEN the first datagram of a peer makes an association: a socket of its own toward the
//              target, whose replies go back to that peer. With fork, one association per peer
//              (up to --max-peers); without, one peer at a time. An association idle for the
//              line's -T (or --udp-idle-timeout) is closed; the peer's next datagram opens a new one.
//
// socat forks a process per association; here each is one socket in this process.
import { LineRelay } from './relay';
import type { Peer, UdpPort } from './system';

/** Datagrams held while an association's socket is being opened, and queued toward one socket. */
const MAX_PENDING = 64;
const MAX_QUEUED = 256;

class Association {
  upstream: UdpPort | null = null;
  pending: Buffer[] = [];
  lastActive: number;
  closed = false;

  constructor(
    /** null: the receive-only line's one socket, which has no peer to answer. */
    readonly peer: Peer | null,
    now: number,
  ) {
    this.lastActive = now;
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    this.upstream?.close();
  }
}

const key = (p: Peer) => `${p.address}:${p.port}`;

export class UdpRelay extends LineRelay {
  private socket: UdpPort | null = null;
  private readonly associations = new Map<string, Association>();
  /** UDP4-RECV's single socket toward the target. */
  private merged: Association | null = null;

  protected defaultIdleMs(): number {
    return this.env.limits.udpIdleMs;
  }

  protected async open(): Promise<void> {
    const l = this.line.listen;
    this.socket = await this.env.sys.udp(
      { address: l.address, port: l.port, reuseAddr: l.reuseAddr, broadcast: l.broadcast },
      (msg, from) => this.fromPeer(msg, from),
      (err) => this.failed(err),
    );
  }

  private failed(err: NodeJS.ErrnoException): void {
    this.counters.errors++;
    this.env.log.debug({ ...this.fields, err: err.code ?? err.message }, 'UDP send failed');
  }

  private fromPeer(msg: Buffer, from: Peer): void {
    if (!this.admit(from.address)) return;
    let a = this.line.listen.kind === 'udp-recv' ? (this.merged ??= this.associate(null)) : this.associations.get(key(from));
    if (!a) {
      const limit = this.line.listen.fork ? (this.line.listen.maxChildren ?? this.env.limits.maxPeers) : 1;
      if (this.associations.size >= limit) {
        this.counters.refusedLimit++;
        this.refused(from.address, limit === 1 ? 'busy with another peer (no fork)' : `over the limit of ${limit} peers`);
        return;
      }
      a = this.associate(from);
    }
    a.lastActive = this.env.sys.now();
    this.counters.datagrams++;
    this.counters.bytesIn += msg.length;
    if (!a.upstream) {
      if (a.pending.length < MAX_PENDING) a.pending.push(msg);
      else this.counters.dropped++;
    } else if (a.upstream.queued() >= MAX_QUEUED) {
      this.counters.dropped++;
    } else {
      a.upstream.send(msg);
    }
  }

  private targetPeer(): Peer {
    return { address: this.line.target.host, port: this.line.target.port };
  }

  /** A socket of its own toward the target; datagrams that come meanwhile wait in `pending`. */
  private associate(peer: Peer | null): Association {
    const a = new Association(peer, this.env.sys.now());
    if (peer) {
      this.associations.set(key(peer), a);
      this.watchIdle();
    }
    const t = this.line.target;
    this.env.sys
      .udp(
        { address: t.bindAddress ?? '0.0.0.0', port: t.bindPort ?? 0, reuseAddr: false, broadcast: t.broadcast, connectTo: this.targetPeer() },
        (msg) => this.fromTarget(a, msg),
        (err) => this.failed(err),
      )
      .then(
        (upstream) => {
          if (a.closed) {
            upstream.close();
            return;
          }
          a.upstream = upstream;
          for (const m of a.pending.splice(0)) upstream.send(m);
        },
        (err: NodeJS.ErrnoException) => {
          this.failed(err);
          this.forget(a);
        },
      );
    return a;
  }

  /** What the target sends back (the socket is connected to it: nothing else arrives). */
  private fromTarget(a: Association, msg: Buffer): void {
    if (!a.peer || this.line.oneWay || !this.socket) {
      this.counters.dropped++;
      return;
    }
    a.lastActive = this.env.sys.now();
    this.counters.replies++;
    this.counters.bytesOut += msg.length;
    this.socket.send(msg, a.peer);
  }

  private forget(a: Association): void {
    a.close();
    if (a.peer && this.associations.get(key(a.peer)) === a) this.associations.delete(key(a.peer));
    if (this.merged === a) this.merged = null;
  }

  protected closeIdle(now: number, idleMs: number): void {
    for (const a of this.associations.values()) {
      if (now - a.lastActive >= idleMs) {
        this.counters.idleClosed++;
        this.forget(a);
      }
    }
  }

  protected close(): void {
    for (const a of [...this.associations.values()]) this.forget(a);
    if (this.merged) this.forget(this.merged);
    this.socket?.close();
    this.socket = null;
  }

  protected active(): { count: number; peers: Iterable<string> } {
    const peers = [...this.associations.values()].map((a) => a.peer?.address ?? '');
    return { count: this.associations.size, peers };
  }
}
