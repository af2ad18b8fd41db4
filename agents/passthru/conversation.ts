// One host client's conversation: one TCP connection from the host's socat child, bridged to
// the daemon's control socket through a datagram socket bound to a path of its own, so the
// daemon's replies and events come back to this connection and no other.
//
// The host writes one datagram, then half-closes at once (before the reply); so we relay
// replies after its FIN, and close ourselves once the reply is through. An ATTACHed monitor
// instead stays for as long as the host keeps its side, and is DETACHed on the way out.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PortCounters } from '../common/status';
import type { DatagramSocket } from '../common/unix-dgram';
import type { PassthruSystem, Timer } from './system';

export interface ConversationLimits {
  /** Largest request the daemon takes whole (wpa_supplicant 8192, hostapd 4096). */
  maxRequest: number;
  /** Wait after the last reply before closing, for a straggling datagram. */
  lingerMs: number;
  /** Close a connection that never attached after this long without traffic. */
  idleMs: number;
  /** Bytes we buffer toward a slow TCP peer before dropping datagrams. */
  maxBuffered: number;
  /** How long a closing monitor waits for the daemon's answer to DETACH. */
  detachWaitMs: number;
  /** Least time between two messages on one connection, so the host reads them apart. */
  messageGapMs: number;
}

interface ConversationEnv {
  id: number;
  daemonPath: string;
  clientPath: string;
  limits: ConversationLimits;
  counters: PortCounters;
  sys: PassthruSystem;
  log: Logger;
  onClosed(c: Conversation): void;
}

// Requests of this size or more may arrive split across TCP segments; they are gathered until
// the host's half-close (or a short quiet spell) so the daemon still gets one datagram.
const SEGMENT_SAFE = 1024;
const GATHER_QUIET_MS = 20;
// A zero-length reply cannot cross a byte stream; this stands in for it (see README).
const EMPTY_REPLY = Buffer.from('\n');
const REFUSED_REPLY = Buffer.from('FAIL\n');
const DETACH = Buffer.from('DETACH');
const EVENT = /^<[0-9]>/;
// About two seconds of retries (1, 2, 4, 8, then 16 ms apart) while the daemon's queue is full.
const SEND_RETRIES = 130;
const KEEPALIVE_MS = 30_000;
// A connection is not read while one of its requests waits for room in the daemon's queue, nor
// while this many of its requests are unanswered (wpa_ctrl asks one at a time): what a peer streams
// waits in the kernel's buffers, not in the agent's memory, and reaches the daemon in the order sent.
const MAX_UNANSWERED = 4;
const WARN_EVERY_MS = 10_000;
const lastWarned = new Map<string, { at: number; suppressed: number }>();

/**
 * A host client that polls (wpa_cli while the daemon is down) or a peer that floods would write
 * one line per connection: each warning at most every 10 s, with how many were left out.
 */
function warnSparingly(log: Logger, fields: object, msg: string, now: number): void {
  const seen = lastWarned.get(msg);
  if (seen && now - seen.at < WARN_EVERY_MS) {
    seen.suppressed++;
    return;
  }
  log.warn({ ...fields, suppressed: seen?.suppressed ?? 0 }, msg);
  lastWarned.set(msg, { at: now, suppressed: 0 });
}

export class Conversation {
  readonly peer: string;
  attached = false;
  lingering = false;
  private closed = false;
  private attachPending = false;
  private detaching = false;
  private pending = 0;
  /** A request waits for room in the daemon's queue. */
  private retrying = false;
  private hostEnded = false;
  private gather: Buffer[] = [];
  private gatherBytes = 0;
  private gatherTimer: Timer | null = null;
  private lingerTimer: Timer | null = null;
  private idleTimer: Timer | null = null;
  private detachTimer: Timer | null = null;
  private retryTimer: Timer | null = null;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private queueTimer: Timer | null = null;
  private lastWrite = -Infinity; // this.env.sys.monotonic() of the last write
  private readonly dgram: DatagramSocket;

  constructor(
    private readonly tcp: Socket,
    private readonly env: ConversationEnv,
  ) {
    this.peer = `${tcp.remoteAddress}:${tcp.remotePort}`;
    this.dgram = env.sys.openDatagram(
      (msg) => this.fromDaemon(msg),
      // The socket is closed and hears nothing more: the host's client reconnects to a new one.
      (err) => {
        this.env.counters.errors++;
        this.env.log.warn({ peer: this.peer, id: this.env.id, err: err.message }, 'client socket failed');
        this.close(`client socket failed (${err.code ?? err.message})`);
      },
    );
    try {
      this.bindClientPath();
    } catch (err) {
      this.dgram.close();
      throw err;
    }
    tcp.setNoDelay(true);
    tcp.on('data', (chunk: Buffer) => this.fromHost(chunk));
    tcp.on('end', () => {
      this.hostEnded = true;
      if (this.closed || this.detaching) return;
      if (this.gather.length) this.flushGather();
      this.maybeFinish();
    });
    tcp.on('error', (err) => {
      this.env.log.debug({ peer: this.peer, err: err.message }, 'connection error');
    });
    tcp.on('close', () => this.close('host closed'));
    this.armIdle();
  }

  /** Binds first: the path is fresh almost always, and an unlink that fails costs an exception. */
  private bindClientPath(): void {
    try {
      this.dgram.bind(this.env.clientPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      this.env.sys.removeFile(this.env.clientPath); // a leftover from a crashed run
      this.dgram.bind(this.env.clientPath);
    }
  }

  private fromHost(chunk: Buffer): void {
    if (this.closed || this.detaching) return;
    this.armIdle();
    if (this.gather.length || chunk.length >= SEGMENT_SAFE) {
      this.gather.push(chunk);
      this.gatherBytes += chunk.length;
      if (this.gatherBytes > this.env.limits.maxRequest) {
        // Bounded, whatever the peer streams: refuse and close instead of buffering on.
        this.gather = [];
        this.gatherBytes = 0;
        this.gatherTimer?.cancel();
        this.gatherTimer = null;
        this.env.counters.oversized++;
        this.toHost(REFUSED_REPLY);
        this.close('request too large');
        return;
      }
      this.gatherTimer?.cancel();
      this.gatherTimer = this.env.sys.after(GATHER_QUIET_MS, () => this.flushGather());
      return;
    }
    this.request(chunk);
  }

  private flushGather(): void {
    this.gatherTimer?.cancel();
    this.gatherTimer = null;
    const req = Buffer.concat(this.gather);
    this.gather = [];
    this.gatherBytes = 0;
    this.request(req);
  }

  private request(req: Buffer): void {
    const c = this.env.counters;
    c.bytesIn += req.length;
    if (req.length > this.env.limits.maxRequest) {
      // The daemon would silently cut it, and act on a truncated command: refuse it instead.
      c.oversized++;
      warnSparingly(
        this.env.log,
        { peer: this.peer, bytes: req.length, limit: this.env.limits.maxRequest },
        'request too large for the daemon, refused',
        this.env.sys.now(),
      );
      this.toHost(REFUSED_REPLY);
      this.maybeFinish();
      return;
    }
    this.pending++;
    if (this.pending >= MAX_UNANSWERED) this.tcp.pause();
    this.lingering = false;
    // A new request means the host has read what came before: its reply need not wait.
    this.lastWrite = -Infinity;
    this.lingerTimer?.cancel();
    this.sendToDaemon(req, 0);
  }

  /**
   * The daemon's socket queues only a few datagrams (net.unix.max_dgram_qlen, 10 by default):
   * when it is full we wait and try again, as a blocking sendto would, instead of losing it.
   */
  private sendToDaemon(req: Buffer, attempt: number): void {
    if (this.closed || this.detaching) return;
    try {
      this.dgram.send(req, this.env.daemonPath);
      this.env.counters.requests++;
      if (req.subarray(0, 6).toString() === 'ATTACH') this.attachPending = true;
      this.retrying = false;
      this.readOnIfRoom();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && attempt < SEND_RETRIES) {
        this.retrying = true;
        this.tcp.pause();
        this.retryTimer = this.env.sys.after(Math.min(1 << attempt, 16), () => this.sendToDaemon(req, attempt + 1));
        return;
      }
      this.env.counters.errors++;
      this.pending--;
      warnSparingly(this.env.log, { peer: this.peer, daemon: this.env.daemonPath, code }, 'daemon not reachable, closing connection', this.env.sys.now());
      this.close(`daemon not reachable (${code})`);
    }
  }

  /** Reads the host again once no request waits for the daemon's queue and few are unanswered. */
  private readOnIfRoom(): void {
    if (!this.retrying && this.pending < MAX_UNANSWERED && !this.closed && !this.detaching) this.tcp.resume();
  }

  private fromDaemon(msg: Buffer): void {
    if (this.closed) return;
    if (this.detaching) {
      this.finalize();
      return;
    }
    const c = this.env.counters;
    if (this.attached && EVENT.test(msg.subarray(0, 3).toString())) {
      c.events++;
    } else {
      c.replies++;
      if (this.pending > 0) this.pending--;
      this.readOnIfRoom();
      if (this.attachPending) {
        this.attachPending = false;
        this.attached = msg.toString() === 'OK\n';
        if (this.attached) {
          this.disarmIdle();
          // A host child that exits after its half-close sends nothing; keepalive (or the next
          // event) finds out once its kernel forgets the connection, and the monitor is DETACHed.
          this.tcp.setKeepAlive(true, KEEPALIVE_MS);
        }
      }
    }
    if (msg.length === 0) {
      c.emptyReplies++;
      this.toHost(EMPTY_REPLY);
    } else {
      this.toHost(msg);
    }
    this.maybeFinish();
  }

  /**
   * TCP has no message boundaries: the host's socat turns each read into one datagram, so two
   * messages written back to back (an event burst) can reach the client glued together. Messages
   * on one connection therefore leave at least `messageGapMs` apart; a lone reply is not delayed.
   */
  private toHost(msg: Buffer): void {
    if (this.tcp.destroyed || !this.tcp.writable) return;
    if (this.queuedBytes + this.tcp.writableLength + msg.length > this.env.limits.maxBuffered) {
      this.env.counters.dropped++;
      return;
    }
    if (this.queue.length === 0 && this.gapLeft() <= 0) {
      this.writeNow(msg);
      return;
    }
    this.queue.push(msg);
    this.queuedBytes += msg.length;
    if (!this.queueTimer) this.queueTimer = this.env.sys.after(Math.ceil(this.gapLeft()), () => this.drainQueue());
  }

  /** Milliseconds until the next message may leave (a sub-millisecond clock: the wall clock rounds to whole ms). */
  private gapLeft(): number {
    return this.lastWrite + this.env.limits.messageGapMs - this.env.sys.monotonic();
  }

  private writeNow(msg: Buffer): void {
    this.lastWrite = this.env.sys.monotonic();
    this.env.counters.bytesOut += msg.length;
    this.tcp.write(msg);
  }

  private drainQueue(): void {
    this.queueTimer = null;
    const left = this.gapLeft();
    if (left > 0) {
      // Timers may fire a little early: wait out the rest of the gap.
      this.queueTimer = this.env.sys.after(Math.ceil(left), () => this.drainQueue());
      return;
    }
    const msg = this.queue.shift();
    if (!msg) return;
    this.queuedBytes -= msg.length;
    if (!this.tcp.destroyed && this.tcp.writable) this.writeNow(msg);
    if (this.queue.length) this.queueTimer = this.env.sys.after(Math.ceil(this.gapLeft()), () => this.drainQueue());
    else this.maybeFinish();
  }

  /** Once the host has said all it will and every reply is through, linger briefly, then close. */
  private maybeFinish(): void {
    if (this.closed || this.attached || this.attachPending || this.pending > 0 || !this.hostEnded) return;
    if (this.gather.length || this.queue.length) return;
    this.lingering = true;
    this.lingerTimer?.cancel();
    this.lingerTimer = this.env.sys.after(this.env.limits.lingerMs, () => this.close('reply delivered'));
  }

  private armIdle(): void {
    if (this.attached) return;
    this.idleTimer?.cancel();
    this.idleTimer = this.env.sys.after(this.env.limits.idleMs, () => this.close('idle'));
  }

  private disarmIdle(): void {
    this.idleTimer?.cancel();
    this.idleTimer = null;
  }

  /** Closes the conversation; a monitor first DETACHes so the daemon keeps no stale entry. */
  close(reason: string): void {
    if (this.closed || this.detaching) return;
    for (const t of [this.gatherTimer, this.lingerTimer, this.idleTimer, this.retryTimer, this.queueTimer]) t?.cancel();
    this.env.log.debug({ peer: this.peer, id: this.env.id, reason, attached: this.attached }, 'closing connection');
    if (!this.tcp.destroyed) {
      this.tcp.end();
      // A peer that never closes its side must not hold the socket forever.
      this.env.sys.after(2000, () => this.tcp.destroy());
    }
    if (this.attached || this.attachPending) {
      this.detaching = true;
      this.sendDetach(this.env.sys.now());
      return;
    }
    this.finalize();
  }

  /** DETACH, waiting for room in the daemon's queue like any request; then wait for its answer. */
  private sendDetach(since: number): void {
    if (this.closed) return;
    try {
      this.dgram.send(DETACH, this.env.daemonPath);
      this.detachTimer = this.env.sys.after(this.env.limits.detachWaitMs, () => this.finalize());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && this.env.sys.now() - since < 4 * this.env.limits.detachWaitMs) {
        this.detachTimer = this.env.sys.after(1, () => this.sendDetach(since));
        return;
      }
      this.finalize(); // the daemon is gone, and its monitor list with it
    }
  }

  private finalize(): void {
    if (this.closed) return;
    this.closed = true;
    this.detachTimer?.cancel();
    this.dgram.close();
    try {
      this.env.sys.removeFile(this.env.clientPath);
    } catch (err) {
      this.env.log.error({ path: this.env.clientPath, err: (err as Error).message }, 'could not remove client socket');
    }
    this.env.onClosed(this);
  }

  /** Whether it has fully closed: socket file removed, onClosed told. */
  get isClosed(): boolean {
    return this.closed;
  }
}
