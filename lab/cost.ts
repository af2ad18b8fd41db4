// What the guest's agents cost while nothing happens: their memory (private + page tables, as
// DEVELOPERS.md counts it) and their wake-ups (context switches of all their threads). Read from
// /proc, which the lab shares with the guest: reading another process's counters does not wake it.
import { readdirSync, readFileSync } from 'node:fs';
import { smapsRollup } from '../bench/memory';
import { sleep } from './proc';

/** Voluntary and involuntary context switches of every thread of `pid` so far. */
function contextSwitches(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) total += Number(m[1]);
    } catch {
      /* the thread ended between the listing and the read */
    }
  }
  return total;
}

/** An agent's private memory and page tables, kB. */
export function privateKb(pid: number): number {
  const m = smapsRollup(pid);
  return m.privateClean + m.privateDirty + m.pageTables;
}

export interface AgentCost {
  name: string;
  pid: number;
  privateKb: number;
  wakeups: number;
}

/** Each agent's wake-ups over `windowMs` at rest, and its memory at the end of it. */
export async function costAtRest(agents: Record<string, number>, windowMs: number): Promise<AgentCost[]> {
  const before = Object.entries(agents).map(([name, pid]) => ({ name, pid, switches: contextSwitches(pid) }));
  await sleep(windowMs);
  return before.map(({ name, pid, switches }) => ({ name, pid, privateKb: privateKb(pid), wakeups: contextSwitches(pid) - switches }));
}

/** One line an agent and a total, as `npm run lab` prints them. */
export function costText(costs: readonly AgentCost[], windowMs: number): string {
  const mb = (kb: number) => `${((kb * 1024) / 1e6).toFixed(1)} MB`;
  const rows = costs.map(
    (c) => `  ${c.name.padEnd(18)} pid ${String(c.pid).padEnd(8)} ${mb(c.privateKb).padStart(8)} private + page tables, ${c.wakeups} wake-ups`,
  );
  const total = costs.reduce((t, c) => ({ kb: t.kb + c.privateKb, w: t.w + c.wakeups }), { kb: 0, w: 0 });
  return [
    `The guest's agents at rest over ${windowMs / 1000} s (${costs.length} Node runtimes):`,
    ...rows,
    `  ${'together'.padEnd(32)} ${mb(total.kb).padStart(8)} private + page tables, ${total.w} wake-ups`,
  ].join('\n');
}
