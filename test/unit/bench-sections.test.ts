// The skeleton every section of docs/BENCHMARKS.md and docs/RELIABILITY.md is written in
// (bench/sections.ts sectionText), and the start and guest sections from made-up runs: their
// medians, memory sums and targets.
import { describe, expect, it } from 'vitest';
import type { AgentCost } from '../../lab/cost';
import { renderGuestSection, type GuestLayoutFigures, type GuestResults } from '../../bench/guest-report';
import { leftAlone, sectionText } from '../../bench/sections';
import { renderStartSection, type StartLayout, type StartRun } from '../../bench/start-report';

const machine = { date: '2026-07-01T10:11:12.000Z', nproc: 2, cpu: 'test', kernel: 'test', node: 'v20', git: 'abc' };

describe("a section's skeleton", () => {
  it('puts the title and the blocks between the marks, a blank line before each block and its own blank lines kept', () => {
    const text = sectionText({ start: '<!-- x:start -->', end: '<!-- x:end -->' }, 'A title', [
      ['a', 'b'],
      ['c', '', 'd'],
    ]);
    expect(text).toBe(['<!-- x:start -->', '## A title', '', 'a', 'b', '', 'c', '', 'd', '<!-- x:end -->'].join('\n'));
  });
});

const startRun = (layout: StartLayout, index: number, reached: number | null, cpuSeconds: number): StartRun => ({
  layout,
  index,
  reached,
  ready: 1.5,
  servicesStarted: 2,
  cpuSeconds,
  runtimes: layout === 'three runtimes' ? 3 : 2,
  notes: [],
});

describe('the start bench section', () => {
  it("takes each layout's medians of the runs that reached the host, and judges two runtimes against wifibox-init alone", () => {
    const runs = [
      ...[1.0, 1.2, 1.1].map((s, i) => startRun('init alone', i, s, 0.5)),
      ...[1.15, 1.25, 1.2].map((s, i) => startRun('two runtimes', i, s, 0.6)),
      ...[1.3, null, 1.5].map((s, i) => startRun('three runtimes', i, s, 0.8)),
    ];
    const text = renderStartSection({ command: 'npm run bench -- start', machine, runs, durationSec: 60 });
    expect(
      text.startsWith('<!-- start-bench:start -->\n## A resume on one CPU: the network first\n\nCommand: `npm run bench -- start` (2026-07-01, 60 s).'),
    ).toBe(true);
    expect(text).toContain('| init alone | 2 | 3 | 1.100 | 1.500 | 0.500 |');
    expect(text).toContain('| three runtimes | 3 | 3 | 1.400 | 1.500 | 0.800 |');
    expect(text).toContain("| the host's traffic with every part starting ≤ 1.1× wifibox-init alone | 1.200 s vs 1.100 s (1.09×) | ✅ |");
    expect(text).toContain('| 2 | three runtimes | — | 1.500 | 2.000 | 0.80 |  |');
    // A run without the host's traffic counts as late; 0.4 s later (1.5 against 1.1) does not.
    expect(text).toContain("(its DHCP client's next second): two runtimes, three runtimes | 0 of 3, 1 of 3 | for information |");
    expect(text.endsWith('\n<!-- start-bench:end -->')).toBe(true);
    // Run 3 of two runtimes a whole second after init alone's run 3.
    runs[5] = startRun('two runtimes', 2, 2.1, 0.6);
    expect(renderStartSection({ command: 'npm run bench -- start', machine, runs, durationSec: 60 })).toContain(
      'two runtimes, three runtimes | 1 of 3, 1 of 3 |',
    );
  });
});

const cost = (name: string, privateKb: number, wakeups = 0): AgentCost => ({ name, pid: 1, privateKb, wakeups });
const layout = (name: string, atRest: AgentCost[]): GuestLayoutFigures => ({
  layout: name,
  runtimes: atRest.length,
  atRest,
  atLoadEnd: [cost('wifibox-init', 12_000), cost('wifibox-forward', 8000)],
  afterLoad: [cost('wifibox-init', 10_000), cost('wifibox-forward', 7000)],
  bareNode: cost('bare node', 5000, 1),
  load: { ok: 6400, wrong: 0, forwardActive: 64, passthruReplies: 6400 },
  budget: { limitBytes: 48e6, maxUsageBytes: 31.23e6, failcnt: 3, oomKills: 0, usageBytes: 2e7, rssBytes: 1e7 },
});

describe('the guest bench section', () => {
  it("sums each layout's agents (kB as MB of 10⁶ bytes) and judges two runtimes against the targets and three runtimes", () => {
    const r: GuestResults = {
      command: 'npm run bench -- guest',
      machine,
      budget: { memoryMB: 48, cpus: '0' },
      restMs: 60_000,
      settleAfterLoadMs: 15_000,
      clients: 64,
      requests: 100,
      peers: 32,
      layouts: [
        layout('two runtimes', [cost('wifibox-init', 9000, 1), cost('wifibox-forward', 6000)]),
        layout('three runtimes', [cost('wifibox-init', 9000, 1), cost('wifibox-passthru', 7000, 2), cost('wifibox-forward', 6000)]),
      ],
      durationSec: 400,
    };
    const text = renderGuestSection(r);
    expect(text).toContain(
      '| two runtimes | 2 | 1 (wifibox-init 1, wifibox-forward 0) | 15.4 (wifibox-init 9.2, wifibox-forward 6.1) | 20.5 (wifibox-init 12.3, wifibox-forward 8.2) | 17.4 (wifibox-init 10.2, wifibox-forward 7.2) | 31.2 MB; 3; 0 |',
    );
    expect(text).toContain('| the agents together wake at most 2 times in a minute at rest (before the polls went: about 590) | 1 | ✅ |');
    expect(text).toContain("| at most 20 MB private + page tables at rest (three runtimes in this run: 22.5 MB) | 15.4 MB (0.68× three runtimes') | ✅ |");
    expect(text).toContain('| at most 24 MB after the whole-guest load (three runtimes: 17.4 MB) | 17.4 MB 15 s after it (at its end: 20.5 MB) | ✅ |');
    expect(text.split('\n').slice(0, 3)).toEqual(['<!-- guest-bench:start -->', '## The guest at rest: wake-ups and memory', '']);
  });
});

describe('whether a run writes its section', () => {
  it('a full run writes; a partial or quick run leaves the document unless --write', () => {
    expect(leftAlone(null, [])).toBeNull();
    expect(leftAlone(null, ['--runs', '5'])).toBeNull();
    expect(leftAlone('not a full run', ['--runs', '2'])).toBe('not a full run');
    expect(leftAlone(null, ['--quick'])).toBe('quick run');
    expect(leftAlone('not a full run', ['--quick', '--write'])).toBeNull();
    expect(leftAlone(null, ['--quick', '--write'])).toBeNull();
  });
});
