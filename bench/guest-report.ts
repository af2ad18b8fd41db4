// The guest bench's section of docs/BENCHMARKS.md: each layout's wake-ups at rest and memory, at
// rest and after the load, against the targets and against the other layout measured in the same run.
import type { BudgetUse } from '../lab/budget';
import type { AgentCost } from '../lab/cost';
import { emojiMark, kbToMB, mb } from './format';
import { commandAndMachine, type MachineFacts } from './machine';
import { sectionText, type SectionMarks } from './sections';

export const GUEST_MARKS: SectionMarks = { start: '<!-- guest-bench:start -->', end: '<!-- guest-bench:end -->' };

/** The issue's targets: wake-ups in a minute at rest, MB private + page tables at rest and after the load. */
const TARGETS = { wakeups: 2, restMB: 20, loadMB: 24 };

export interface GuestLayoutFigures {
  layout: string;
  runtimes: number;
  atRest: AgentCost[];
  /** At the load's end, its peers and connections still held. */
  atLoadEnd: AgentCost[];
  /** settleAfterLoadMs after the load, its clients gone. */
  afterLoad: AgentCost[];
  bareNode: AgentCost;
  load: { ok: number; wrong: number; forwardActive: number; passthruReplies: number | null };
  budget: BudgetUse | null;
}

export interface GuestResults {
  command: string;
  machine: MachineFacts;
  budget: { memoryMB: number; cpus: string };
  restMs: number;
  settleAfterLoadMs: number;
  clients: number;
  requests: number;
  peers: number;
  layouts: GuestLayoutFigures[];
  durationSec: number;
}

const sum = (costs: readonly AgentCost[], key: 'privateKb' | 'wakeups'): number => costs.reduce((n, c) => n + c[key], 0);

export function renderGuestSection(r: GuestResults): string {
  const [now, before] = r.layouts as [GuestLayoutFigures, GuestLayoutFigures];
  const row = (l: GuestLayoutFigures): string => {
    const per = l.atRest.map((c) => `${c.name} ${c.wakeups}`).join(', ');
    const mem = l.atRest.map((c) => `${c.name} ${mb(c.privateKb)}`).join(', ');
    const each = (costs: AgentCost[]) => `${mb(sum(costs, 'privateKb'))} (${costs.map((c) => `${c.name} ${mb(c.privateKb)}`).join(', ')})`;
    const b = l.budget;
    return `| ${l.layout} | ${l.runtimes} | ${sum(l.atRest, 'wakeups')} (${per}) | ${mb(sum(l.atRest, 'privateKb'))} (${mem}) | ${each(l.atLoadEnd)} | ${each(l.afterLoad)} | ${b ? `${(b.maxUsageBytes / 1e6).toFixed(1)} MB; ${b.failcnt}; ${b.oomKills}` : '—'} |`;
  };
  const restNow = sum(now.atRest, 'privateKb');
  const restBefore = sum(before.atRest, 'privateKb');
  const loadNow = sum(now.afterLoad, 'privateKb');
  const wakeNow = sum(now.atRest, 'wakeups');
  return sectionText(GUEST_MARKS, 'The guest at rest: wake-ups and memory', [
    [commandAndMachine(r.command, r.machine, r.durationSec)],
    [
      `The guest as the image runs it, inside its real budget (${r.budget.memoryMB} MB for all its processes, CPU ${r.budget.cpus} only): wifibox-init,`,
      "wpa_supplicant, the passthrough, and wifibox-forward on the forwarding sample's two lines (`UDP4-RECV:11223`, `UDP-LISTEN:11224,fork`)",
      'plus a TCP line for the load. Each layout in a lab of its own, one after the other: **two runtimes** (the passthrough a part of',
      "wifibox-init's runtime, as the package runs it now) and **three runtimes** (the passthrough as its own wifibox-passthru process, as it",
      'ran before). In each, wpa_supplicant is restarted once and wlan0 removed and added once (the watches must come back), the guest',
      `is left alone for a minute, then each agent's wake-ups (voluntary and involuntary context switches of all its threads, /proc) are`,
      `counted over ${r.restMs / 1000} s at rest, and its memory read (private clean + private dirty from smaps_rollup, plus its page tables). A bare`,
      '`node` serving TCP and UDP runs in the same guest meanwhile: the floor of one runtime. Then the load: ' +
        `${r.clients} host clients × ${r.requests} requests through the host's socat half, and ${r.peers} UDP peers and ${r.peers} TCP connections`,
      `from the wireless network through wifibox-forward; the memory is read at the load's end (its peers still held) and again`,
      `${r.settleAfterLoadMs / 1000} s after it (its clients gone; each runtime gives a burst's heap pages back 5 s after V8's last collection, agents/common/settle.ts). The wireless lease is an hour, as a router's:`,
      "a renewal is an event (dhcpcd's report, the address's new lifetime), not the guest at rest.",
    ],
    [
      `| layout | runtimes | wake-ups in a minute at rest | MB at rest | MB at the load's end (its peers held) | MB ${r.settleAfterLoadMs / 1000} s after the load | budget: most held, limit hits (reclaim), OOM kills |`,
      '|---|---|---|---|---|---|---|',
      row(now),
      row(before),
      `| a bare \`node\` (TCP + UDP) | 1 | ${now.bareNode.wakeups} / ${before.bareNode.wakeups} | ${mb(now.bareNode.privateKb)} / ${mb(before.bareNode.privateKb)} | — | — | — |`,
    ],
    [
      '| target | measured (two runtimes) | |',
      '|---|---|---|',
      `| the agents together wake at most ${TARGETS.wakeups} times in a minute at rest (before the polls went: about 590) | ${wakeNow} | ${emojiMark(wakeNow <= TARGETS.wakeups)} |`,
      `| at most ${TARGETS.restMB} MB private + page tables at rest (three runtimes in this run: ${mb(restBefore)} MB) | ${mb(restNow)} MB (${(restNow / restBefore).toFixed(2)}× three runtimes') | ${emojiMark(kbToMB(restNow) <= TARGETS.restMB)} |`,
      `| at most ${TARGETS.loadMB} MB after the whole-guest load (three runtimes: ${mb(sum(before.afterLoad, 'privateKb'))} MB) | ${mb(loadNow)} MB ${r.settleAfterLoadMs / 1000} s after it (at its end: ${mb(sum(now.atLoadEnd, 'privateKb'))} MB) | ${emojiMark(kbToMB(loadNow) <= TARGETS.loadMB)} |`,
      `| no OOM kill in the ${r.budget.memoryMB} MB budget; the load answered right | OOM kills ${now.budget?.oomKills ?? '—'} / ${before.budget?.oomKills ?? '—'}; ${now.load.ok} and ${before.load.ok} right replies, ${now.load.wrong + before.load.wrong} wrong; forward held ${now.load.forwardActive} / ${before.load.forwardActive} peers and connections | ${emojiMark(now.budget?.oomKills === 0 && now.load.wrong === 0 && before.load.wrong === 0)} |`,
    ],
  ]);
}
