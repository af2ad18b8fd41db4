// The soak: the guest as the fault suite boots it (lab/faults.ts: wifibox-init and its daemons,
// wpa_supplicant and wifibox-passthru inside the 48 MB, one-CPU budget), for a set time under
// steady host load — 32 paced control clients checking their own replies, the reach probe's GET
// through the NAT every 50 ms, a DNS lookup through wifibox-init's relay now and then — with a
// fault every so often. Each agent's PSS, private dirty and descriptors are sampled all along.
// The faults are those that leave the agents running (lab/faults.ts DAEMON_FAULTS): an agent
// restarted would be a new process, and its growth would start again from nothing; these faults
// are what an agent itself must survive without gathering anything (its daemons, sockets and
// children coming and going). `npm run soak` (reliability.ts) and test/lab/soak.test.ts run it.
import { readdirSync } from 'node:fs';
import type { BudgetUse } from '../lab/budget';
import { agentPids, daemonFault, LOAD_CLIENTS, passthruAtRest, serviceBack, type FaultContext } from '../lab/faults';
import { guestHoldings, leftovers, type GuestHoldings } from '../lab/leaks';
import { ControlLoad, type LoadCounts } from '../lab/load';
import { isSameProcess, sleep, waitFor, type LabProcess } from '../lab/proc';
import { initStatus } from '../lab/status';
import { WIRELESS_NAME } from '../lab/wireless';
import { summarizeGcTrace, type GcSummary } from './gc-trace';
import type { Log } from './harness';
import { smapsRollup } from './memory';

/** The faults in the order they come round: the passthrough's daemon and host side first. */
export const SOAK_ROTATION = ['wpa-killed', 'host-socat-restarted', 'dhcpcd-killed', 'udhcpd-killed', 'wlan0-reset', 'eth0-flap', 'wireless-dhcp-gone'];

interface SoakOptions {
  durationMs: number;
  /** Samples before this are not compared: V8's heaps and the agents' caches fill first. */
  warmupMs: number;
  /** The spans at the start (after warm-up) and at the end whose medians are compared. */
  windowMs: number;
  sampleEveryMs: number;
  /** A fault at every multiple of this from the start, while the soak lasts. */
  faultEveryMs: number;
  lookupEveryMs: number;
  /** Each client's pause after a reply: steady load, not a flood. */
  paceMs: number;
}

/**
 * The defaults for a soak of `durationMs`: a warm-up of the first 20%; windows of a minute (20%
 * of a shorter soak); a sample every 5 s (at least 30 in a shorter soak, so a window holds six);
 * a fault a minute (six in a shorter soak); a lookup every 5 s; 100 ms between a client's requests.
 */
export function soakOptions(durationMs: number, o: Partial<SoakOptions> = {}): SoakOptions {
  return {
    durationMs,
    warmupMs: 0.2 * durationMs,
    windowMs: Math.min(60_000, 0.2 * durationMs),
    sampleEveryMs: Math.min(5000, durationMs / 30),
    faultEveryMs: Math.min(60_000, durationMs / 6),
    lookupEveryMs: 5000,
    paceMs: 100,
    ...o,
  };
}

/** kB, as smaps_rollup gives them. */
export interface AgentSample {
  pssKb: number;
  /** Of pssKb, the share of file-backed pages (node's code, the libraries'): other processes' doing. */
  pssFileKb: number;
  privateDirtyKb: number;
  fds: number;
}

export interface SoakSample {
  /** ms since the start. */
  t: number;
  /** Each agent's figures; null once it is not the process it was at the start. */
  agents: Record<string, AgentSample | null>;
  /** The budget's memory.usage_in_bytes (page cache included) and its anonymous memory. */
  usageBytes: number;
  rssBytes: number;
  /** The PID of each daemon the faults restart, by name. */
  daemons: Record<string, number>;
}

interface SoakFault {
  id: string;
  fault: string;
  /** ms since the start. */
  at: number;
  withinMs: number;
  after: string;
  /** Service back this long after `after`; null when it was not (see error). */
  recoveryMs: number | null;
  error?: string;
}

export interface SoakResult {
  options: SoakOptions;
  startedAt: string;
  tookMs: number;
  samples: SoakSample[];
  faults: SoakFault[];
  load: LoadCounts;
  lookups: { answered: number; failed: number; wrong: number; samples: string[] };
  /** The longest time the host went without the wireless network (the reach probe), faults included. */
  longestGapMs: number;
  /** Each agent's descriptors with no connection open: before the soak, and after it. */
  fdsAtRest: { before: Record<string, number>; after: Record<string, number> };
  /** What differed from before the soak once the load stopped and things settled (processes, files, descriptors, rules, addresses). */
  leaks: string[];
  /** Whether each agent is still the process it was at the start. */
  alive: Record<string, boolean>;
  budget: BudgetUse | null;
  /** Each agent's garbage collections after warm-up, from its log when it runs with --trace-gc; null without. */
  gc: Record<string, GcSummary> | null;
}

/** Runs `fn` now and at every multiple of `ms` after, one at a time, until stop(). */
function every(ms: number, fn: () => Promise<void>): { stop(): Promise<void> } {
  let stopped = false;
  let wake = (): void => undefined;
  const loop = (async () => {
    for (let next = Date.now() + ms; !stopped; next += ms) {
      await fn();
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, Math.max(0, next - Date.now()));
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}

function agentSample(p: LabProcess): AgentSample | null {
  try {
    if (!isSameProcess(p)) return null;
    const m = smapsRollup(p.pid);
    return { pssKb: m.pss, pssFileKb: m.pssFile, privateDirtyKb: m.privateDirty, fds: readdirSync(`/proc/${p.pid}/fd`).length };
  } catch {
    return null;
  }
}

async function sample(c: FaultContext, agents: Record<string, LabProcess>, t0: number): Promise<SoakSample> {
  const t = Date.now() - t0;
  const figures = Object.fromEntries(Object.entries(agents).map(([name, p]) => [name, agentSample(p)]));
  const use = c.lab.budgetUse();
  const daemons: Record<string, number> = { wpa_supplicant: c.wpa.pid, 'host socat': c.bridge.proc.pid };
  const st = await initStatus(c.lab, 2000).catch(() => null);
  for (const d of (st?.daemons ?? []) as { name: string; pid: number | null }[]) if (d.pid) daemons[d.name] = d.pid;
  return { t, agents: figures, usageBytes: use?.usageBytes ?? 0, rssBytes: use?.rssBytes ?? 0, daemons };
}

/**
 * Soaks the booted guest (bootGuest's context and its baseline at rest) for o.durationMs; the
 * figures are returned, nothing is asserted or written. A fault whose service does not come back
 * ends the faults (it is reported); the load and the sampling go on to the end.
 */
export async function runSoak(c: FaultContext, baseline: GuestHoldings, o: SoakOptions, log: Log = () => undefined): Promise<SoakResult> {
  const { lab } = c;
  // One runtime: the network and the passthrough are parts of wifibox-init's.
  const agents = { 'wifibox-init': c.init };
  const pids = agentPids(c);
  const t0 = Date.now();
  const end = t0 + o.durationMs;
  const load = new ControlLoad(lab, c.bridge.path, LOAD_CLIENTS, o.paceMs);
  load.start();
  // Where each agent's log stood when warm-up ended: its GCs from there on are the soak's.
  let logsAtWarm: Record<string, number> = {};
  const warmed = setTimeout(() => (logsAtWarm = Object.fromEntries(Object.entries(agents).map(([name, p]) => [name, p.output().length]))), o.warmupMs);
  const samples: SoakSample[] = [];
  const sampler = every(o.sampleEveryMs, async () => {
    samples.push(await sample(c, agents, t0));
  });
  const lookups = { answered: 0, failed: 0, wrong: 0, samples: [] as string[] };
  const looker = every(o.lookupEveryMs, async () => {
    const address = await lab.lookup('host', WIRELESS_NAME, lab.addr.guestEth0, 5000);
    if (address === null) lookups.failed++;
    else if (address === lab.addr.air) lookups.answered++;
    else {
      lookups.wrong++;
      if (lookups.samples.length < 5) lookups.samples.push(`${WIRELESS_NAME} → ${address}`);
    }
  });
  const faults: SoakFault[] = [];
  const faulting = (async () => {
    for (let i = 1; t0 + i * o.faultEveryMs < end; i++) {
      await sleep(t0 + i * o.faultEveryMs - Date.now());
      const f = daemonFault(SOAK_ROTATION[(i - 1) % SOAK_ROTATION.length]!);
      const record: SoakFault = { id: f.id, fault: f.fault, at: Date.now() - t0, withinMs: f.withinMs, after: f.after, recoveryMs: null };
      faults.push(record);
      try {
        const t = await f.inject(c);
        record.recoveryMs = await serviceBack(c, t.restoredAt, f.withinMs);
        await t.ending;
        log(`${Math.round(record.at / 1000)} s: ${f.id}, service back ${record.recoveryMs} ms after ${f.after}`);
      } catch (err) {
        record.error = (err as Error).message;
        log(`${Math.round(record.at / 1000)} s: ${f.id}: ${record.error}; no more faults`);
        return;
      }
    }
  })();
  await sleep(end - Date.now()); // the soak's length itself
  await faulting;
  await Promise.all([sampler.stop(), looker.stop()]);
  clearTimeout(warmed);
  const counts = await load.stop();
  const gc = lab.opts.agentNodeFlags.includes('--trace-gc')
    ? Object.fromEntries(Object.entries(agents).map(([name, p]) => [name, summarizeGcTrace(p.output().slice(logsAtWarm[name] ?? 0))]))
    : null;
  const longestGapMs = c.reach.longestGap(t0, Date.now());
  await waitFor('no connection left at the passthrough', () => passthruAtRest(lab), 15_000, 100).catch(() => undefined);
  const leaks = await leftovers(lab, pids, baseline);
  const after = (await guestHoldings(lab, pids)).fds;
  return {
    options: o,
    startedAt: new Date(t0).toISOString(),
    tookMs: Date.now() - t0,
    samples,
    faults,
    load: counts,
    lookups,
    longestGapMs,
    fdsAtRest: { before: baseline.fds, after },
    leaks,
    alive: Object.fromEntries(Object.entries(agents).map(([name, p]) => [name, isSameProcess(p)])),
    budget: lab.budgetUse(),
    gc,
  };
}
