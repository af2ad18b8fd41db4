// What the relay has done, for the status endpoint and wifibox-diag: queries, answers, failures,
// each kind of drop, and how each upstream server has been answering.
import type { RelayCounters, UpstreamStats } from '../../common/status';

const LATENCIES_KEPT = 256;

export class RelayStats {
  readonly counters: RelayCounters = {
    queries: 0,
    tcpQueries: 0,
    answered: 0,
    truncated: 0,
    servfail: 0,
    droppedMalformed: 0,
    droppedOversized: 0,
    droppedOverload: 0,
    droppedOutsidePeer: 0,
  };
  private readonly upstream = new Map<string, UpstreamStats>();
  private readonly latencies: number[] = [];

  private of(server: string): UpstreamStats {
    let s = this.upstream.get(server);
    if (!s) {
      s = { server, sent: 0, answered: 0, timeouts: 0, lastAnswerAt: null, lastTimeoutAt: null };
      this.upstream.set(server, s);
    }
    return s;
  }

  sent(server: string): void {
    this.of(server).sent++;
  }

  answered(server: string, ms: number, at: Date): void {
    const s = this.of(server);
    s.answered++;
    s.lastAnswerAt = at.toISOString();
    this.latencies.push(ms);
    if (this.latencies.length > LATENCIES_KEPT) this.latencies.shift();
  }

  timedOut(server: string, at: Date): void {
    const s = this.of(server);
    s.timeouts++;
    s.lastTimeoutAt = at.toISOString();
  }

  /** The median time an upstream server took to answer, over the last answers; null before any. */
  medianUpstreamMs(): number | null {
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const m = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return Math.round(m * 1000) / 1000;
  }

  /** The servers asked so far, those in `current` first in their order. */
  servers(current: readonly string[]): UpstreamStats[] {
    const rest = [...this.upstream.keys()].filter((s) => !current.includes(s));
    return [...current, ...rest].map((s) => ({ ...this.of(s) }));
  }
}
