// The fault suite: the whole guest running (wifibox-init and its daemons, wpa_supplicant,
// wifibox-passthru) inside the guest's real budget (48 MB for all its processes, one CPU), 32
// host clients asking for their own replies all along, a probe of the host's reach of the
// wireless network (lab/faults.ts boots it). Each case injects one fault, restarts what its
// service would restart, and checks: service again within the case's stated time, no client ever
// got another's reply, and nothing left over (processes, run files, descriptors, rules, addresses;
// udhcpd's leases kept). With WIFIBOX_RELIABILITY_OUT=FILE the measured figures are written there
// (npm run reliability renders them into docs/RELIABILITY.md).
import { readdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { agentPids, bootGuest, GUEST_BUDGET, LOAD_CLIENTS, serviceBack, type FaultContext, type FaultResult, type FaultSuiteOutput } from '../../lab/faults';
import type { Lab } from '../../lab/lab';
import { leftovers, type GuestHoldings } from '../../lab/leaks';
import { ControlLoad, type LoadCounts } from '../../lab/load';
import { must, waitFor } from '../../lab/proc';
import { labScript } from '../../lab/paths';
import { labForFile } from '../helpers/lab-file';
import { boundOf, FAULT_CASES } from '../helpers/fault-cases';

const results: FaultResult[] = [];

let lab: Lab;
let ctx: FaultContext;
let baseline: GuestHoldings;

// The fault suite's runtime loads lab/inject-fault.cjs: a signal makes the passthrough's code throw once.
labForFile(
  { flavor: 'wpa_supplicant', configureGuest: false, budget: GUEST_BUDGET, agentNodeFlags: ['--require', labScript('inject-fault.cjs')] },
  async (l) => {
    lab = l;
    ({ ctx, baseline } = await bootGuest(l));
  },
  60,
);

afterAll(() => {
  const out = process.env.WIFIBOX_RELIABILITY_OUT;
  const written: FaultSuiteOutput = { budget: GUEST_BUDGET, use: lab?.budgetUse() ?? null, results };
  if (out && results.length) writeFileSync(out, JSON.stringify(written, null, 2));
});

describe("faults, under load, inside the guest's budget", () => {
  it('the budget holds every guest process', async () => {
    expect(await lab.outsideBudget()).toEqual([]);
    expect(lab.budgetUse()).toMatchObject({ limitBytes: GUEST_BUDGET.memoryMB * 1024 * 1024, oomKills: 0 });
  });

  for (const c of FAULT_CASES) {
    it(`${c.id}: ${c.fault} → ${c.holds}`, async () => {
      const load = new ControlLoad(lab, ctx.bridge.path, LOAD_CLIENTS);
      load.start();
      let counts: LoadCounts | null = null;
      try {
        await waitFor('the load to run', () => load.ok >= LOAD_CLIENTS, 20_000, 20);
        const t = await c.inject(ctx);
        const recoveryMs = await serviceBack(ctx, t.restoredAt, boundOf(c.withinMs));
        await t.ending;
        const extra = c.check ? await c.check(ctx, t) : {};
        counts = await load.stop();
        const leaks = await leftovers(lab, agentPids(ctx), baseline);
        results.push({
          id: c.id,
          fault: c.fault,
          holds: c.holds,
          withinMs: c.withinMs,
          after: c.after,
          recoveryMs,
          leaks,
          wrongReplies: counts.wrong,
          ...extra,
        });
        expect(counts.samples).toEqual([]);
        expect(counts.wrong).toBe(0);
        // The reach probe's longest gap says which of the two came late, should this fail.
        expect(
          recoveryMs,
          `service back ${recoveryMs} ms after ${c.after} (the NAT's longest gap from the fault on: ${ctx.reach.longestGap(t.faultAt, Date.now())} ms)`,
        ).toBeLessThanOrEqual(boundOf(c.withinMs));
        expect(leaks.join('\n')).toBe('');
        expect(lab.budgetUse()?.oomKills).toBe(0);
      } finally {
        if (!counts) await load.stop();
      }
    }, 120_000);
  }

  it("udhcpd kept the host's lease through it all, and nothing was killed for memory", async () => {
    const hostIp = (await must(['ip', '-n', lab.ns.host, '-4', '-o', 'addr', 'show', 'wifibox0'])).match(/inet (10\.0\.0\.\d+)/)?.[1];
    expect(hostIp).toBeDefined();
    // busybox udhcpd truncates its lease file before it writes it again (every auto_time, 10 s):
    // a read can meet it empty, so the lease must be there within two of its writes, not at once.
    const dump = async () => (await lab.guest(['/run/lab-bin/dumpleases', '-f', '/var/lib/misc/udhcpd.leases'])).stdout;
    let leases = '';
    await waitFor("the host's lease in udhcpd's lease file", async () => (leases = await dump()).includes(hostIp!), 25_000, 500).catch(() => undefined);
    expect(leases).toContain(hostIp);
    expect(lab.budgetUse()?.oomKills).toBe(0);
    expect(await lab.outsideBudget()).toEqual([]);
    // The runtime folders hold nothing of a connection that is gone.
    expect(readdirSync(lab.guestPath('/run/wifibox-passthru'))).toEqual([]);
  }, 60_000);
});
