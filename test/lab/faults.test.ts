// The fault suite: the whole guest running (wifibox-init and its daemons, wpa_supplicant,
// wifibox-passthru) inside the guest's real budget (48 MB for all its processes, one CPU), 32
// host clients asking for their own replies all along, a probe of the host's reach of the
// wireless network. Each case injects one fault, restarts what its service would restart, and
// checks: service again within the case's stated time, no client ever got another's reply, and
// nothing left over (processes, run files, descriptors, rules, addresses; udhcpd's leases kept).
// With WIFIBOX_RELIABILITY_OUT=FILE the measured figures are written there (npm run reliability).
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS, type Lab } from '../../lab/lab';
import { HostClient } from '../../lab/host-client';
import { guestHoldings, type GuestHoldings } from '../../lab/leaks';
import { ControlLoad, ReachProbe, type LoadCounts } from '../../lab/load';
import { must, waitFor } from '../../lab/proc';
import { initStatus } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';
import { FAULT_CASES, type FaultContext, type FaultResult } from '../helpers/fault-cases';

const BUDGET = { memoryMB: 48, cpus: '0' };
const LOAD_CLIENTS = 32;
const results: FaultResult[] = [];

let lab: Lab;
const ctx = {} as FaultContext;
let baseline: GuestHoldings;

const agents = () => ({ 'wifibox-init': ctx.init.pid, 'wifibox-passthru': ctx.passthru.pid });
const holdings = () => guestHoldings(lab, agents());

/** Both host-facing services answer: wpa_cli's ping through the passthrough, and the NAT. */
async function serviceBack(since: number, withinMs: number): Promise<number> {
  const pinger = new HostClient(join(lab.dir, 'clients'), ctx.bridge.path);
  try {
    const pingAt = await waitFor('wpa_cli ping through the passthrough', async () => ((await pinger.request('PING', 500)) === 'PONG\n' ? Date.now() : null), withinMs + 20_000, 20);
    const reachAt = await waitFor('the wireless network through the NAT', () => ctx.reach.firstAnswerAfter(since), withinMs + 20_000, 20);
    return Math.max(pingAt, reachAt) - since;
  } finally {
    pinger.close();
  }
}

/** What differs from the baseline once things settle (none is the answer wanted). */
async function leftovers(): Promise<string[]> {
  let diff: string[] = [];
  await waitFor('the guest to hold what it held before', async () => {
    const now = await holdings();
    diff = [];
    for (const k of ['processes', 'runFiles', 'rules', 'addresses'] as const) {
      const extra = now[k].filter((x) => !baseline[k].includes(x) || now[k].filter((y) => y === x).length > baseline[k].filter((y) => y === x).length);
      const missing = baseline[k].filter((x) => !now[k].includes(x));
      if (extra.length || missing.length) diff.push(`${k}: +${JSON.stringify([...new Set(extra)])} -${JSON.stringify(missing)}`);
    }
    for (const [name, n] of Object.entries(now.fds)) if (n !== baseline.fds[name]) diff.push(`${name} fds: ${n}, was ${baseline.fds[name]}`);
    return diff.length === 0;
  }, 15_000, 250).catch(() => undefined);
  return diff;
}

labForFile({ flavor: 'wpa_supplicant', configureGuest: false, budget: BUDGET }, async (l) => {
  lab = l;
  ctx.lab = lab;
  ctx.air = await lab.startWirelessNetwork();
  ctx.init = lab.startInit(['--loglevel', 'info']);
  ctx.wpa = await lab.startWirelessDaemon();
  ctx.passthru = await lab.startPassthru(['--loglevel', 'info', '--idle-timeout', '2']);
  ctx.hostDhcp = lab.startDhcpClient('host', 'wifibox0');
  ctx.bridge = await lab.startHostBridge(1200, 'wlan0', 3600);
  await waitFor('the guest\'s wireless lease', async () => (await initStatus(lab)).lease?.address, 30_000, 100);
  ctx.reach = new ReachProbe(lab);
  await waitFor('the host\'s reach of the wireless network', () => ctx.reach.firstAnswerAfter(0), 30_000, 100);
  // The budget's other users: a diag bundle, and the 32 clients once.
  const bundle = await lab.guest([process.execPath, ...AGENT_NODE_FLAGS, join(lab.opts.distDir, 'wifibox-diag.js'), 'bundle', '/run/diag-bundle.tar.gz'], { timeoutMs: 60_000 });
  if (bundle.code !== 0) throw new Error(`wifibox-diag bundle: exit ${bundle.code}: ${bundle.stderr}`);
  rmSync(lab.guestPath('/run/diag-bundle.tar.gz'));
  const warm = new ControlLoad(lab, ctx.bridge.path, LOAD_CLIENTS);
  warm.start();
  await waitFor('every client answered', () => warm.ok >= LOAD_CLIENTS * 3, 30_000, 50);
  const counts = await warm.stop();
  if (counts.wrong) throw new Error(`warm-up: ${counts.samples.join('; ')}`);
  // The baseline is the guest at rest: the clients' last connections closed.
  await waitFor('no connection left at the passthrough', () => readdirSync(lab.guestPath('/run/wifibox-passthru')).length === 0, 15_000, 100);
  baseline = await holdings();
}, 60);

afterAll(() => {
  const out = process.env.WIFIBOX_RELIABILITY_OUT;
  if (out && results.length) writeFileSync(out, JSON.stringify({ budget: BUDGET, use: lab?.budgetUse() ?? null, results }, null, 2));
});

describe('faults, under load, inside the guest\'s budget', () => {
  it('the budget holds every guest process', async () => {
    expect(await lab.outsideBudget()).toEqual([]);
    expect(lab.budgetUse()).toMatchObject({ limitBytes: BUDGET.memoryMB * 1024 * 1024, oomKills: 0 });
  });

  for (const c of FAULT_CASES) {
    it(`${c.id}: ${c.fault} → ${c.holds}`, async () => {
      const load = new ControlLoad(lab, ctx.bridge.path, LOAD_CLIENTS);
      load.start();
      let counts: LoadCounts | null = null;
      try {
        await waitFor('the load to run', () => load.ok >= LOAD_CLIENTS, 20_000, 20);
        const t = await c.inject(ctx);
        const recoveryMs = await serviceBack(t.restoredAt, c.withinMs);
        await t.ending;
        const extra = c.check ? await c.check(ctx, t) : {};
        counts = await load.stop();
        const leaks = await leftovers();
        results.push({ id: c.id, fault: c.fault, holds: c.holds, withinMs: c.withinMs, recoveryMs, leaks, wrongReplies: counts.wrong, ...extra });
        expect(counts.samples).toEqual([]);
        expect(counts.wrong).toBe(0);
        expect(recoveryMs, `service back ${recoveryMs} ms after ${c.after}`).toBeLessThanOrEqual(c.withinMs);
        expect(leaks.join('\n')).toBe('');
        expect(lab.budgetUse()?.oomKills).toBe(0);
      } finally {
        if (!counts) await load.stop();
      }
    }, 120_000);
  }

  it('udhcpd kept the host\'s lease through it all, and nothing was killed for memory', async () => {
    const leases = await lab.guest(['/run/lab-bin/dumpleases', '-f', '/var/lib/misc/udhcpd.leases']);
    const hostIp = (await must(['ip', '-n', lab.ns.host, '-4', '-o', 'addr', 'show', 'wifibox0'])).match(/inet (10\.0\.0\.\d+)/)?.[1];
    expect(hostIp).toBeDefined();
    expect(leases.stdout).toContain(hostIp);
    expect(lab.budgetUse()?.oomKills).toBe(0);
    expect(await lab.outsideBudget()).toEqual([]);
    // The runtime folders hold nothing of a connection that is gone.
    expect(readdirSync(lab.guestPath('/run/wifibox-passthru'))).toEqual([]);
  });
});
