// The soak's figures (bench/soak-report.ts) from made-up samples: which samples each window takes,
// medians rather than single readings, agents gone from a sample, restarts, what fails a soak; and
// V8's --trace-gc lines read back (bench/gc-trace.ts).
import { describe, expect, it } from 'vitest';
import { summarizeGcTrace } from '../../bench/gc-trace';
import { soakOptions, type AgentSample, type SoakResult, type SoakSample } from '../../bench/soak';
import { agentFigures, restarts, soakFailures } from '../../bench/soak-report';

const agent = (pssKb: number, privateDirtyKb = pssKb / 2, fds = 20): AgentSample => ({ pssKb, pssFileKb: 1000, privateDirtyKb, fds });

/** A 100-second soak (warm-up 20 s, windows 20 s), one sample a second from `memory(t)`. */
function soak(memory: (t: number) => AgentSample | null, daemons: (t: number) => Record<string, number> = () => ({})): SoakResult {
  const samples: SoakSample[] = [];
  for (let t = 0; t <= 100_000; t += 1000) samples.push({ t, agents: { 'wifibox-init': memory(t) }, usageBytes: 0, rssBytes: 0, daemons: daemons(t) });
  return {
    options: soakOptions(100_000),
    startedAt: '2026-01-01T00:00:00.000Z',
    tookMs: 100_000,
    samples,
    faults: [],
    load: { ok: 1000, wrong: 0, failed: 0, noReply: 0, samples: [] },
    lookups: { answered: 20, failed: 0, wrong: 0, samples: [] },
    longestGapMs: 100,
    fdsAtRest: { before: { 'wifibox-init': 20 }, after: { 'wifibox-init': 20 } },
    leaks: [],
    alive: { 'wifibox-init': true },
    budget: { limitBytes: 50331648, maxUsageBytes: 3e7, failcnt: 0, oomKills: 0, usageBytes: 2e7, rssBytes: 1e7 },
    gc: null,
  };
}

describe("the soak's figures", () => {
  it('defaults: a 10-minute soak warms up 2 minutes and compares minutes; a 60-second one 12 s windows with 6 samples each', () => {
    expect(soakOptions(600_000)).toMatchObject({ warmupMs: 120_000, windowMs: 60_000, sampleEveryMs: 5000, faultEveryMs: 60_000 });
    const short = soakOptions(60_000);
    expect(short).toMatchObject({ warmupMs: 12_000, windowMs: 12_000, sampleEveryMs: 2000, faultEveryMs: 10_000 });
    expect(short.windowMs / short.sampleEveryMs).toBe(6);
  });

  it('growth compares the medians of the first window after warm-up and of the last one; warm-up is left out', () => {
    // 10 MB during warm-up (left out), 20 MB in the first window, 22 MB in the last: +10%.
    const f = agentFigures(soak((t) => agent(t < 20_000 ? 10_000 : t < 80_000 ? 20_000 : 22_000)))['wifibox-init']!;
    expect(f.pss).toEqual({ first: 20_000, last: 22_000, growth: 0.1, max: 22_000 });
    expect(f.privateDirty.growth).toBeCloseTo(0.1);
    expect(f.pssOwn).toMatchObject({ first: 19_000, last: 21_000 });
  });

  it('one high reading (a sample just before a collection) moves the highest figure, not the growth', () => {
    const f = agentFigures(soak((t) => agent(t === 95_000 ? 40_000 : 20_000)))['wifibox-init']!;
    expect(f.pss.growth).toBe(0);
    expect(f.pss.max).toBe(40_000);
  });

  it('samples where the agent was not its first process are left out; descriptors under load give their range', () => {
    const f = agentFigures(soak((t) => (t === 30_000 ? null : agent(20_000, 10_000, 20 + (t % 7_000) / 1000))))['wifibox-init']!;
    expect(f.pss.growth).toBe(0);
    expect(f.fds.min).toBe(20);
    expect(f.fds.max).toBe(26);
  });

  it('restarts: the distinct PIDs each daemon had in the samples, less one', () => {
    const r = soak(
      () => agent(1),
      (t) => ({ udhcpd: t < 50_000 ? 100 : 200, dhcpcd: 300 + Math.floor(t / 40_000) }),
    );
    expect(restarts(r)).toEqual({ udhcpd: 1, dhcpcd: 2 });
  });

  it('a soak fails on a wrong reply, an OOM kill, an agent gone, a fault without recovery, or anything left over; not otherwise', () => {
    const ok = soak(() => agent(1));
    expect(soakFailures(ok)).toEqual([]);
    const bad = soak(() => agent(1));
    bad.load = { ...bad.load, wrong: 1, samples: ['client 3 wanted "lab-client-04", got "lab-client-05"'] };
    bad.budget = { ...bad.budget!, oomKills: 2 };
    bad.alive = { 'wifibox-init': false };
    bad.faults = [{ id: 'wpa-killed', fault: 'kill -9', at: 10_000, withinMs: 1500, after: 'the restart', recoveryMs: null, error: 'timed out' }];
    bad.leaks = ['wifibox-init fds: 21, was 20'];
    expect(soakFailures(bad)).toEqual([
      '1 wrong replies: client 3 wanted "lab-client-04", got "lab-client-05"',
      '2 OOM kills',
      'wifibox-init is not the process it was at the start',
      'wpa-killed at 10 s: timed out',
      'left over: wifibox-init fds: 21, was 20',
    ]);
  });
});

/** An agent's log with --trace-gc: V8's lines among its own. */
const TRACED_LOG = [
  '[12841:0x9dddf40]       81 ms: Scavenge 5.0 (5.1) -> 4.5 (6.1) MB, 0.62 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
  '{"level":30,"time":1764510000000,"msg":"daemon started","daemon":"dhcpcd","pid":123}',
  '[12841:0x9dddf40]     8238 ms: Mark-Compact (reduce) 6.2 (7.6) -> 4.5 (6.4) MB, 2.90 / 0.01 ms  (+ 0.1 ms in 1 steps since start of marking, biggest step 0.1 ms, walltime since start of marking 8 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via task; GC in old space requested',
  '[12841:0x9dddf40]   242835 ms: Scavenge 6.0 (6.1) -> 5.0 (6.4) MB, 0.50 / 0.00 ms  (average mu = 0.994, current mu = 0.994) allocation failure; ',
  '[12841:0x9dddf40]  1171497 ms: Mark-Compact 10.3 (13.5) -> 6.0 (13.5) MB, 3.10 / 0.00 ms  (average mu = 0.990, current mu = 0.990) allocation failure; scavenge might not succeed',
  '[12841:0x9dddf40]  1172835 ms: Scavenge 6.9 (7.4) -> 6.0 (7.4) MB, 0.52 / 0.00 ms  (average mu = 0.994, current mu = 0.994) allocation failure; ',
].join('\n');

describe("--trace-gc lines in an agent's log", () => {
  it("counts scavenges and mark-compacts with the heap after the first and the last, among the agent's own log lines", () => {
    expect(summarizeGcTrace(TRACED_LOG)).toEqual({
      markCompacts: { count: 2, firstAfterMB: 4.5, lastAfterMB: 6 },
      scavenges: { count: 3, firstAfterMB: 4.5, lastAfterMB: 6 },
    });
  });

  it('no collection in the log: none of either', () => {
    expect(summarizeGcTrace('{"level":30,"msg":"Scavenge 1.0 (2.0) -> 1.0 (2.0) MB"}\n')).toEqual({ markCompacts: null, scavenges: null });
  });
});
