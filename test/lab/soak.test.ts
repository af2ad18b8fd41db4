// A 60-second soak (bench/soak.ts, the runner `npm run soak` runs for 10 minutes): the guest as the
// fault suite boots it, inside its budget, under steady load from 32 checking host clients with a
// fault every 10 s. It writes no docs; `npm run soak` does.
import { beforeAll, describe, expect, it } from 'vitest';
import { bootGuest, GUEST_BUDGET, type FaultContext } from '../../lab/faults';
import type { GuestHoldings } from '../../lab/leaks';
import { runSoak, SOAK_ROTATION, soakOptions, type SoakResult } from '../../bench/soak';
import { agentFigures, GROWTH_TARGET, SHORT_SOAK_GROWTH_LIMIT } from '../../bench/soak-report';
import { labForFile } from '../helpers/lab-file';

const SOAK_MS = 60_000;
const OPTIONS = soakOptions(SOAK_MS);
/** The runner's faults: one at each multiple of faultEveryMs before the end, in the rotation's order. */
const FAULTS = SOAK_ROTATION.slice(0, Math.ceil(OPTIONS.durationMs / OPTIONS.faultEveryMs) - 1);

let ctx: FaultContext;
let baseline: GuestHoldings;
let soak: SoakResult;

labForFile(
  { flavor: 'wpa_supplicant', configureGuest: false, budget: GUEST_BUDGET },
  async (l) => {
    ({ ctx, baseline } = await bootGuest(l));
  },
  60,
);

// The soak runs once, after the lab's setup and before any test: each test only reads its result,
// so any one of them runs alone (-t) or in any order.
beforeAll(async () => {
  soak = await runSoak(ctx, baseline, OPTIONS);
}, SOAK_MS + 90_000);

describe(`a ${SOAK_MS / 1000}-second soak under load and faults, inside the guest's budget`, () => {
  it('runs its faults, each followed by service again', () => {
    expect(soak.faults.map((f) => f.id)).toEqual(FAULTS);
    expect(soak.faults.filter((f) => f.error !== undefined || f.recoveryMs === null)).toEqual([]);
    // Sampled all along: one sample a tick, less two (a sample slowed by the load delays the next).
    expect(soak.samples.length).toBeGreaterThanOrEqual(OPTIONS.durationMs / OPTIONS.sampleEveryMs - 2);
  });

  it("no client ever got another's reply, and the load was served", () => {
    expect(soak.load.samples).toEqual([]);
    expect(soak.load.wrong).toBe(0);
    expect(soak.load.ok).toBeGreaterThan(1000);
    expect(soak.lookups.wrong).toBe(0);
    expect(soak.lookups.answered).toBeGreaterThan(0);
  });

  it('nothing was killed for memory, and every agent is the process it was at the start', () => {
    expect(soak.budget?.oomKills).toBe(0);
    // One runtime: the network and the passthrough are parts of wifibox-init's.
    expect(soak.alive).toEqual({ 'wifibox-init': true });
    expect(soak.samples.every((s) => Object.values(s.agents).every((a) => a !== null))).toBe(true);
  });

  it('at rest the guest holds what it held before: the same processes, files, rules, addresses and descriptors', () => {
    expect(soak.leaks).toEqual([]);
    // The descriptors exactly: an agent at rest holds a fixed set (its listeners, status socket,
    // log, libuv's own); one more after a minute of faults is a leak, whatever the load did.
    expect(soak.fdsAtRest.after).toEqual(soak.fdsAtRest.before);
  });

  // The agent's own memory: private dirty, and PSS less its file-backed share. That share (node's
  // code, the libraries') is divided among every process on this machine that maps the same
  // files, so other labs starting or stopping node processes move it by megabytes within seconds;
  // npm run soak reports whole PSS beside it.
  it(`each agent's own memory after warm-up grew at most ${SHORT_SOAK_GROWTH_LIMIT * 100}% (${GROWTH_TARGET * 100}% over 10 minutes: npm run soak)`, () => {
    const figures = agentFigures(soak);
    expect(Object.keys(figures)).toEqual(['wifibox-init']);
    for (const [name, f] of Object.entries(figures)) {
      expect(f.privateDirty.growth, `${name} private dirty ${f.privateDirty.first} → ${f.privateDirty.last} kB`).toBeLessThanOrEqual(SHORT_SOAK_GROWTH_LIMIT);
      expect(f.pssOwn.growth, `${name} PSS less its file-backed share ${f.pssOwn.first} → ${f.pssOwn.last} kB`).toBeLessThanOrEqual(SHORT_SOAK_GROWTH_LIMIT);
    }
  });
});
