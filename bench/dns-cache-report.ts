// The dns-cache bench's figures (bench/dns-cache.ts) as the markdown section of docs/BENCHMARKS.md.
import { emojiMark } from './format';
import { machineLine, type MachineFacts } from './machine';
import { sectionText, type SectionMarks } from './sections';
import { median } from './stats';

export const DNS_CACHE_MARKS: SectionMarks = { start: '<!-- dns-cache-bench:start -->', end: '<!-- dns-cache-bench:end -->' };

/** How much the bench asks, and how: the section states each. */
export interface DnsCacheSizes {
  /** The wireless network's DNS server this far away. */
  farDelayMs: number;
  latencyRounds: number;
  qpsSeconds: number;
  qpsTurns: number;
  qpsConcurrency: number;
  /** Distinct names asked before wifibox-init's memory is read, this many at a time. */
  names: number;
  fillConcurrency: number;
  /** Quiet this long before the memory is read. */
  settleMs: number;
}

export interface Phase {
  cache: number;
  /** Private memory + page tables of wifibox-init, kB, after the distinct questions. */
  memoryKiB: number;
  repeatedMs: number;
  farAsked: number;
}

export interface DnsCacheResults {
  command: string;
  machine: MachineFacts;
  ours: { latencyMs: number; qps: number[] };
  dnsmasq: { latencyMs: number; qps: number[] };
  on: Phase;
  off: Phase;
  sizes: DnsCacheSizes;
  durationSec: number;
}

export function renderDnsCacheSection(r: DnsCacheResults): string {
  const m = r.machine;
  const lat = r.ours.latencyMs / r.dnsmasq.latencyMs;
  // Each turn of ours against the dnsmasq turn right after it: the machine's load drifts.
  const q = median(r.ours.qps.map((x, i) => x / r.dnsmasq.qps[i]!));
  const extraMB = (r.on.memoryKiB - r.off.memoryKiB) / 1024;
  return sectionText(DNS_CACHE_MARKS, "The DNS relay's cache against dnsmasq's", [
    [`Command: \`${r.command}\` — run ${m.date}, took ${r.durationSec.toFixed(0)} s.`, machineLine(m, [])],
    [
      `The guest's processes on CPU 0 in a 48 MB budget, the host's probes on CPU 1; the wireless network's DNS ${r.sizes.farDelayMs} ms away (lab/dns-delay.cjs`,
      'in front of a dnsmasq). In the same guest, dnsmasq as a caching forwarder (`--cache-size=10000`) on a second',
      `address of eth0, asking the same far server. The host asks: the repeated name's latency, ${r.sizes.latencyRounds} rounds (one`,
      `query to each, in alternating order, after 20 to warm up), medians; queries/s of the repeated name, ${r.sizes.qpsConcurrency} in flight,`,
      `${r.sizes.qpsSeconds} s at a time, ${r.sizes.qpsTurns} turns each, alternating, medians; then wifibox-init's private memory + page tables`,
      `after ${r.sizes.names.toLocaleString('en')} distinct names were asked (${r.sizes.fillConcurrency} in flight) and it was quiet ${r.sizes.settleMs / 1000} s, with \`cache = ${r.on.cache}\``,
      'and, in a wifibox-init started afresh, with `cache = 0`.',
    ],
    [
      '| | relay (ours) | dnsmasq | ratio | target |',
      '|---|---:|---:|---:|---|',
      `| repeated name, latency (ms) | ${r.ours.latencyMs.toFixed(3)} | ${r.dnsmasq.latencyMs.toFixed(3)} | ${lat.toFixed(2)} | ≤ 2×: ${emojiMark(lat <= 2)} |`,
      `| repeated name, queries/s | ${median(r.ours.qps).toFixed(0)} | ${median(r.dnsmasq.qps).toFixed(0)} | ${q.toFixed(2)} (the turns' ratios' median) | ≥ 0.5×: ${emojiMark(q >= 0.5)} |`,
    ],
    [
      '| wifibox-init | cache on | cache off | difference | target |',
      '|---|---:|---:|---:|---|',
      `| memory after ${r.sizes.names.toLocaleString('en')} names (MB) | ${(r.on.memoryKiB / 1024).toFixed(2)} | ${(r.off.memoryKiB / 1024).toFixed(2)} | ${extraMB.toFixed(2)} | ≤ 2 MB: ${emojiMark(extraMB <= 2)} |`,
      `| the repeated name's latency (ms) | ${r.on.repeatedMs.toFixed(3)} | ${r.off.repeatedMs.toFixed(3)} | | ≤ 1 ms with the cache: ${emojiMark(r.on.repeatedMs <= 1)} |`,
      `| questions that reached the far server | ${r.on.farAsked} | ${r.off.farAsked} | | |`,
    ],
    [`Every queries/s turn: ours ${r.ours.qps.map((x) => x.toFixed(0)).join(', ')}; dnsmasq ${r.dnsmasq.qps.map((x) => x.toFixed(0)).join(', ')}.`],
  ]);
}
