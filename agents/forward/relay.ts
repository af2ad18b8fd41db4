// What every line's relay has, UDP or TCP: its socket opened (and opened again every second while
// it cannot be: wlan0's address may come later), its counters, the peers it refuses, an idle
// sweep while it has peers (none armed without), and its status. udp-relay.ts and tcp-relay.ts do the forwarding itself.
import type { Logger } from 'pino';
import type { ForwardCounters, ForwardLineStatus } from '../common/status';
import { inRange } from './address';
import type { ForwardLine } from './config';
import type { ForwardSystem } from './system';

/** A line that cannot listen tries again this often. */
const RETRY_MS = 1000;
/** Refused peers are logged at most this often per line (the count of the others with it). */
const REFUSAL_LOG_EVERY_MS = 60_000;
/** Peers listed in the status, per line. */
const MAX_PEERS_SHOWN = 32;

export interface RelayLimits {
  /** UDP associations (peers) per line with fork. */
  maxPeers: number;
  /** TCP connections per line with fork. */
  maxConnections: number;
  udpIdleMs: number;
  tcpIdleMs: number;
  connectTimeoutMs: number;
}

interface RelayEnv {
  sys: ForwardSystem;
  log: Logger;
  limits: RelayLimits;
}

function newForwardCounters(): ForwardCounters {
  return { datagrams: 0, replies: 0, connections: 0, bytesIn: 0, bytesOut: 0, refusedPeer: 0, refusedLimit: 0, dropped: 0, idleClosed: 0, errors: 0 };
}

export abstract class LineRelay {
  readonly counters: ForwardCounters;
  private listening = false;
  private listenError: string | null = null;
  private retry: { cancel(): void } | null = null;
  private sweep: { cancel(): void } | null = null;
  private stopped = false;
  private lastRefused: ForwardLineStatus['lastRefused'] = null;
  private refusalsLoggedAt = -Infinity;
  private refusalsUnlogged = 0;

  constructor(
    /** Replaced on a reload that keeps the line (it may have moved to another line number). */
    public line: ForwardLine,
    protected readonly env: RelayEnv,
    counters?: ForwardCounters,
  ) {
    this.counters = counters ?? newForwardCounters();
  }

  /** Opens the line's listening socket; rejects with the bind error. */
  protected abstract open(): Promise<void>;
  /** Closes every socket of the line. */
  protected abstract close(): void;
  /** Closes what has been idle longer than the line's idle time. */
  protected abstract closeIdle(now: number, idleMs: number): void;
  protected abstract active(): { count: number; peers: Iterable<string> };
  protected abstract defaultIdleMs(): number;

  /** The counters as they stand (a TCP line adds what its kernel joins have carried so far). */
  protected countersNow(): ForwardCounters {
    return { ...this.counters };
  }

  protected get idleMs(): number {
    return this.line.idleTimeoutMs ?? this.defaultIdleMs();
  }

  protected get fields(): Record<string, unknown> {
    return { line: this.line.line, listen: `${this.line.listen.address}:${this.line.listen.port}` };
  }

  /** Settles once the line's first attempt to listen is over, whether it listens or not. */
  firstAttempt: Promise<void> = Promise.resolve();

  start(): void {
    this.firstAttempt = this.attempt();
  }

  /**
   * A peer's association or connection was added: idle ones are swept from now on, and only as
   * long as there are any. A line with none arms no timer: at rest nothing wakes.
   */
  protected watchIdle(): void {
    if (this.sweep || this.stopped) return;
    const tick = Math.min(Math.max(this.idleMs / 4, 50), 5000);
    const again = () => {
      this.sweep = null;
      this.closeIdle(this.env.sys.now(), this.idleMs);
      if (!this.stopped && this.active().count > 0) this.sweep = this.env.sys.after(tick, again);
    };
    this.sweep = this.env.sys.after(tick, again);
  }

  private async attempt(): Promise<void> {
    try {
      await this.open();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      const again = this.retryWhen(code);
      if (code !== this.listenError) this.env.log.warn({ ...this.fields, code }, `cannot listen; ${again.why}`);
      this.listenError = code;
      if (!this.stopped) this.retry = again.arm();
      return;
    }
    if (this.stopped) {
      this.close();
      return;
    }
    this.listening = true;
    this.listenError = null;
    this.env.log.info({ ...this.fields, target: `${this.line.target.host}:${this.line.target.port}` }, 'forwarding');
  }

  /**
   * When a line that cannot listen tries again. EADDRNOTAVAIL (bind= names an address no interface
   * has yet: wlan0 before its lease): when the kernel says an address changed, not on a clock.
   * EACCES (a port below 1024 once root is dropped): not at all; only a restart binds it. Else
   * (EADDRINUSE: another program has the port) every second.
   */
  private retryWhen(code: string): { why: string; arm(): { cancel(): void } | null } {
    if (code === 'EADDRNOTAVAIL') {
      return {
        why: 'trying again when an address is added',
        arm: () => {
          const w = this.env.sys.onAddressChange(() => void this.attempt());
          // Added between the failed bind and the watch: the kernel told no one; look once.
          if (!this.env.sys.hasAddress(this.line.listen.address)) return w;
          w.cancel();
          return this.env.sys.after(0, () => void this.attempt());
        },
      };
    }
    if (code === 'EACCES')
      return { why: 'a port below 1024 is bound only at the start, as root: restart the service (rc-service forwarding restart)', arm: () => null };
    return { why: 'trying again every second', arm: () => this.env.sys.after(RETRY_MS, () => void this.attempt()) };
  }

  /** Whether a peer may use the line (range=); a refusal is counted, and logged once a minute. */
  protected admit(peer: string): boolean {
    const range = this.line.listen.range;
    if (!range || inRange(peer, range)) return true;
    this.counters.refusedPeer++;
    this.refused(peer, `outside range=${range.text}`);
    return false;
  }

  protected refused(peer: string, why: string): void {
    const now = this.env.sys.now();
    this.lastRefused = { peer, why, at: new Date(now).toISOString() };
    if (now - this.refusalsLoggedAt < REFUSAL_LOG_EVERY_MS) {
      this.refusalsUnlogged++;
      return;
    }
    this.env.log.warn({ ...this.fields, peer, notLoggedBefore: this.refusalsUnlogged }, `refused: ${why}`);
    this.refusalsLoggedAt = now;
    this.refusalsUnlogged = 0;
  }

  stop(): void {
    this.stopped = true;
    this.retry?.cancel();
    this.sweep?.cancel();
    this.listening = false;
    this.close();
  }

  status(): ForwardLineStatus {
    const { listen, target } = this.line;
    const { count, peers } = this.active();
    return {
      line: this.line.line,
      text: this.line.text,
      kind: listen.kind,
      listen: `${listen.address}:${listen.port}`,
      target: `${target.host}:${target.port}`,
      fork: listen.fork,
      range: listen.range?.text ?? null,
      listening: this.listening,
      listenError: this.listenError,
      active: count,
      peers: [...new Set(peers)].slice(0, MAX_PEERS_SHOWN),
      lastRefused: this.lastRefused,
      counters: this.countersNow(),
    };
  }
}
