// Process memory, CPU time and process trees, read from /proc (the lab has no PID namespace, so the
// guest's processes are visible here under their own PIDs).
import { readFileSync } from 'node:fs';
import { processName } from '../agents/common/process';
import { childrenOf } from '../lab/proc';

/** kB figures from /proc/PID/smaps_rollup, and the page tables from /proc/PID/status. */
export interface Memory {
  rss: number;
  pss: number;
  privateClean: number;
  privateDirty: number;
  /** Of pss, the share of file-backed pages (the program's and its libraries' code): it moves with how many processes on the machine map the same files. */
  pssFile: number;
  /** VmPTE: the kernel's page tables of the process, in no smaps figure; each process has its own. */
  pageTables: number;
  processes: number;
}

export const NO_MEMORY: Memory = { rss: 0, pss: 0, privateClean: 0, privateDirty: 0, pssFile: 0, pageTables: 0, processes: 0 };

export function smapsRollup(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string, optional = false): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m && !optional) throw new Error(`/proc/${pid}/smaps_rollup has no ${name}`);
    return Number(m?.[1] ?? 0);
  };
  const pte = /^VmPTE:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return {
    rss: field('Rss'),
    pss: field('Pss'),
    privateClean: field('Private_Clean'),
    privateDirty: field('Private_Dirty'),
    pssFile: field('Pss_File', true),
    pageTables: Number(pte?.[1] ?? 0),
    processes: 1,
  };
}

export function addMemory(a: Memory, b: Memory): Memory {
  return {
    rss: a.rss + b.rss,
    pss: a.pss + b.pss,
    privateClean: a.privateClean + b.privateClean,
    privateDirty: a.privateDirty + b.privateDirty,
    pssFile: a.pssFile + b.pssFile,
    pageTables: a.pageTables + b.pageTables,
    processes: a.processes + b.processes,
  };
}

/**
 * A process and its children, summed; with `deep`, their children too, all the way down (socat's
 * UDP-LISTEN,fork hands each peer to a chain of processes). Those that exit meanwhile are skipped.
 */
export function treeMemory(pid: number, deep = false): { total: Memory; children: number } {
  let total = smapsRollup(pid);
  let children = 0;
  const pending = childrenOf(pid);
  for (let c = pending.shift(); c !== undefined; c = pending.shift()) {
    try {
      total = addMemory(total, smapsRollup(c));
      children++;
      if (deep) pending.push(...childrenOf(c));
    } catch {
      /* exited between the listing and the read */
    }
  }
  return { total, children };
}

/** Clock ticks a second, as /proc/PID/stat counts them (USER_HZ: 100 on Linux). */
const TICKS = 100;

/**
 * User + system CPU seconds a process has used so far; with `reapedChildren`, those of the
 * children it has waited for too (socat's forked connections). 0 once it is gone.
 */
export function cpuSeconds(pid: number, o: { reapedChildren?: boolean } = {}): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return (f[11]! + f[12]! + (o.reapedChildren ? f[13]! + f[14]! : 0)) / TICKS;
  } catch {
    return 0;
  }
}

/** What the kernel calls a process, '' when it is gone. */
export const comm = (pid: number): string => processName(pid, '/proc') ?? '';

/** Samples how many children some processes have, every intervalMs; stop() gives the peaks. */
export function sampleChildren(pids: Record<string, number>, intervalMs = 50): { stop(): Record<string, number> } {
  const peak: Record<string, number> = Object.fromEntries(Object.keys(pids).map((k) => [k, 0]));
  const timer = setInterval(() => {
    for (const [k, pid] of Object.entries(pids)) peak[k] = Math.max(peak[k]!, childrenOf(pid).length);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Samples a process's memory (with its children when tree) every intervalMs; stop() gives the peaks. */
export function samplePeakMemory(pid: number, tree: boolean, intervalMs = 250): { stop(): Memory } {
  let peak: Memory = { ...NO_MEMORY };
  const take = () => {
    try {
      const m = tree ? treeMemory(pid).total : smapsRollup(pid);
      peak = {
        rss: Math.max(peak.rss, m.rss),
        pss: Math.max(peak.pss, m.pss),
        privateClean: Math.max(peak.privateClean, m.privateClean),
        privateDirty: Math.max(peak.privateDirty, m.privateDirty),
        pssFile: Math.max(peak.pssFile, m.pssFile),
        pageTables: Math.max(peak.pageTables, m.pageTables),
        processes: Math.max(peak.processes, m.processes),
      };
    } catch {
      /* gone meanwhile: the run reports that elsewhere */
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
