// The DNS relay: answers on the guest's LAN address only (UDP and TCP), for peers of the LAN
// network only, and asks whatever DNS servers the wireless network gave last — so a host never
// holds stale DNS after a roam. One server that does not answer in time: the next one; none:
// SERVFAIL. Bounded: queries in flight past the limit, malformed or oversized ones are dropped and
// counted, never a crash.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { AnswerCache, queryShape, type CacheLimits, type QueryShape } from './cache';
import { HEADER_BYTES, isTruncated, parseQuery, servfail, withId, type DnsQuery } from './message';
import type { Closable, Peer, RelayNet, UdpEndpoint } from './net';
import type { RelayStatus, ServerSource } from '../../common/status';
import { RelayStats } from './stats';
import { askTcp, askUdp, frameLength } from './upstream';
import { canonicalAddress, inNetwork, type LanAddress } from './lan';

interface RelaySettings {
  /** Where hosts ask (53). */
  port: number;
  /** Where the upstream servers answer (53). */
  upstreamPort: number;
  /** How long one upstream server gets before the next is asked. */
  timeoutMs: number;
  maxInFlight: number;
  /** The answer cache's bounds (names 0: no cache). */
  cache: CacheLimits;
}

/** The relay's own bounds: whatever a host sends, it holds no more than these. */
const BOUNDS = {
  /** A query is a few hundred bytes; even with EDNS options, more than this is not one. */
  queryBytes: 4096,
  tcpClients: 64,
  tcpIdleMs: 10_000,
  /**
   * Pipelined TCP queries (RFC 7766) are taken this many at a time per connection, and none while
   * tcpUnread bytes of answers wait for the host to read them; the connection is not read meanwhile.
   */
  tcpPipeline: 16,
  tcpUnread: 64 * 1024,
} as const;

export class DnsRelay {
  readonly stats = new RelayStats();
  private servers: string[] = [];
  private source: ServerSource = 'none';
  private lan: LanAddress[] = [];
  private readonly listeners: Closable[] = [];
  private readonly listening: string[] = [];
  private inFlight = 0;
  private tcpClients = 0;
  private readonly cache: AnswerCache;

  constructor(
    private readonly net: RelayNet,
    private readonly settings: RelaySettings,
    private readonly log: Logger,
    private readonly clock: () => Date,
  ) {
    this.cache = new AnswerCache(settings.cache, () => net.now());
  }

  /** Listens on each LAN address (UDP and TCP); one that fails is logged, the others still serve. */
  async listen(lan: LanAddress[]): Promise<void> {
    this.lan = lan;
    this.lastPeer = null;
    for (const l of lan) {
      try {
        const udp = await this.net.udp(l.address, this.settings.port, (msg, from) => this.onUdp(udp, msg, from));
        this.listeners.push(udp);
        this.listeners.push(await this.net.tcpServer(l.address, this.settings.port, (s) => this.onTcp(s)));
        this.listening.push(l.address);
      } catch (err) {
        this.log.error({ address: l.address, err: (err as Error).message }, 'DNS relay cannot listen there');
      }
    }
  }

  setServers(servers: string[], source: ServerSource): void {
    const canonical = servers.map(canonicalAddress).filter((a): a is string => a !== null);
    if (canonical.join(' ') !== this.servers.join(' ')) {
      this.log.info({ servers: canonical, source }, 'DNS relay asks new servers');
      // Another network's servers: what the old ones said is not this network's answer.
      this.flushCache('the DNS servers changed');
    }
    this.servers = canonical;
    this.source = canonical.length ? source : 'none';
  }

  /** Forgets every answer kept (another network; SIGHUP). */
  flushCache(why: string): void {
    const { names } = this.cache.size;
    if (names === 0) return;
    this.cache.flush();
    this.log.info({ names, why }, 'DNS relay: cache emptied');
  }

  close(): void {
    for (const l of this.listeners.splice(0)) l.close();
    this.listening.splice(0);
  }

  status(): RelayStatus {
    return {
      listening: [...this.listening],
      servers: [...this.servers],
      source: this.source,
      inFlight: this.inFlight,
      counters: { ...this.stats.counters },
      upstream: this.stats.servers(this.servers),
      medianUpstreamMs: this.stats.medianUpstreamMs(),
      cache: { capacity: this.settings.cache.names, ...this.cache.size, ...this.cache.counters },
    };
  }

  /** The last peer checked, and whether it is one of the LAN's: a host asks again and again. */
  private lastPeer: { address: string; ok: boolean } | null = null;

  private fromLan(peer: string): boolean {
    if (this.lastPeer?.address !== peer) this.lastPeer = { address: peer, ok: this.lan.some((l) => inNetwork(peer, l)) };
    return this.lastPeer.ok;
  }

  /** The query, when it may be relayed; null (and counted) when it is dropped. */
  private admit(msg: Buffer, from: string): DnsQuery | null {
    const c = this.stats.counters;
    if (!this.fromLan(from)) {
      c.droppedOutsidePeer++;
      return null;
    }
    if (msg.length > BOUNDS.queryBytes) {
      c.droppedOversized++;
      return null;
    }
    const q = msg.length >= HEADER_BYTES ? parseQuery(msg) : null;
    if (q === null) {
      c.droppedMalformed++;
      return null;
    }
    if (this.inFlight >= this.settings.maxInFlight) {
      c.droppedOverload++;
      return null;
    }
    c.queries++;
    return q;
  }

  private onUdp(socket: UdpEndpoint, msg: Buffer, from: Peer): void {
    const q = this.admit(msg, from.address);
    if (!q) return;
    // A cache hit is answered at once, without a promise: most of a busy host's questions.
    const { shape, kept } = this.fromCache(q, msg, false);
    if (kept) socket.send(kept, from);
    else void this.relay(q, msg, false, shape).then((answer) => socket.send(answer, from));
  }

  /** The query's cache key (null: no cache) and its answer from the cache (null: a miss). */
  private fromCache(q: DnsQuery, msg: Buffer, tcp: boolean): { shape: QueryShape | null; kept: Buffer | null } {
    const shape = this.cache.enabled ? queryShape(msg, q.question) : null;
    return { shape, kept: shape ? this.cache.get(msg, shape, tcp ? null : shape.udpLimit) : null };
  }

  private onTcp(s: Socket): void {
    const peer = s.remoteAddress ?? '';
    if (!this.fromLan(peer) || this.tcpClients >= BOUNDS.tcpClients) {
      if (this.tcpClients >= BOUNDS.tcpClients) this.stats.counters.droppedOverload++;
      else this.stats.counters.droppedOutsidePeer++;
      s.destroy();
      return;
    }
    this.tcpClients++;
    s.on('close', () => this.tcpClients--);
    s.on('error', () => undefined);
    s.setTimeout(BOUNDS.tcpIdleMs, () => s.destroy());
    let buf = Buffer.alloc(0);
    let pipelined = 0;
    const take = (): void => {
      while (buf.length >= 2 && pipelined < BOUNDS.tcpPipeline && s.writableLength < BOUNDS.tcpUnread && !s.destroyed) {
        const len = buf.readUInt16BE(0);
        if (len > BOUNDS.queryBytes) {
          this.stats.counters.droppedOversized++;
          s.destroy();
          return;
        }
        if (buf.length < 2 + len) break;
        const msg = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        const q = this.admit(msg, peer);
        if (!q) continue;
        this.stats.counters.tcpQueries++;
        pipelined++;
        const { shape, kept } = this.fromCache(q, msg, true);
        void (kept ? Promise.resolve(kept) : this.relay(q, msg, true, shape)).then((answer) => {
          pipelined--;
          if (!s.destroyed) s.write(Buffer.concat([frameLength(answer.length), answer]));
          take();
        });
      }
      // More than a query's worth not taken yet: read no further until it is.
      if (buf.length > 2 + BOUNDS.queryBytes) s.pause();
      else s.resume();
    };
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      take();
    });
    s.on('drain', take);
  }

  /**
   * Asks the current servers in turn (the cache, asked first, had no answer); resolves with what
   * goes back to the host (its own ID), and keeps the answer under `shape` (null: no cache). A
   * truncated UDP answer is asked again over TCP for the cache: the host gets the whole answer
   * when it takes one that large, else the truncated one (and asks again over TCP, then from the
   * cache).
   */
  private async relay(q: DnsQuery, msg: Buffer, tcp: boolean, shape: QueryShape | null): Promise<Buffer> {
    const udpLimit = tcp || !shape ? null : shape.udpLimit;
    this.inFlight++;
    try {
      for (const server of [...this.servers]) {
        const id = this.net.randomId();
        const to = { address: server, port: this.settings.upstreamPort };
        const started = this.net.now();
        this.stats.sent(server);
        const ask = tcp ? askTcp : askUdp;
        const answer = await ask(this.net, to, withId(msg, id), id, q.question, this.settings.timeoutMs);
        if (answer === null) {
          this.stats.timedOut(server, this.clock());
          continue;
        }
        this.stats.answered(server, this.net.now() - started, this.clock());
        this.stats.counters.answered++;
        if (!isTruncated(answer)) {
          if (shape) this.cache.put(shape, answer);
          return withId(answer, q.id);
        }
        this.stats.counters.truncated++;
        if (!shape) return withId(answer, q.id);
        const tcpId = this.net.randomId();
        const whole = await askTcp(this.net, to, withId(msg, tcpId), tcpId, q.question, this.settings.timeoutMs);
        if (whole === null || isTruncated(whole)) return withId(answer, q.id);
        this.cache.put(shape, whole);
        return withId(udpLimit === null || whole.length <= udpLimit ? whole : answer, q.id);
      }
      this.stats.counters.servfail++;
      return servfail(q);
    } finally {
      this.inFlight--;
    }
  }
}
