// The guest's real budget in the lab: every guest process in one memory cgroup (a limit, as the
// VM's memory= is) and one cpuset (one vCPU), cgroup v1 as these machines mount it. Only the lab's
// own cgroups are made, joined and removed; this machine's are never changed.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BudgetOptions {
  /** The memory limit for all guest processes together. */
  memoryMB: number;
  /** The CPUs they may run on, as cpuset.cpus takes them (e.g. '0': one CPU). */
  cpus: string;
}

/** The guest's budget: 48 MB for all its processes (a 128 MB VM less the kernel and the rest), one CPU. */
export const GUEST_BUDGET: BudgetOptions = { memoryMB: 48, cpus: '0' };

export interface BudgetUse {
  limitBytes: number;
  /** The most the guest's processes held at once (memory.max_usage_in_bytes). */
  maxUsageBytes: number;
  /** Times the limit was hit (memory.failcnt): the kernel reclaimed or refused memory. */
  failcnt: number;
  /** Processes the OOM killer killed in the cgroup. */
  oomKills: number;
  /** What they hold now (memory.usage_in_bytes): their memory and the page cache charged to them. */
  usageBytes: number;
  /** Of that, their anonymous memory (memory.stat total_rss): what the kernel cannot reclaim without swap. */
  rssBytes: number;
}

const MEMORY = '/sys/fs/cgroup/memory';
const CPUSET = '/sys/fs/cgroup/cpuset';

export function budgetDirs(tag: string): string[] {
  return [join(MEMORY, `wifibox-lab-${tag}`), join(CPUSET, `wifibox-lab-${tag}`)];
}

/** Whether this machine can give the guest a budget (cgroup v1 memory and cpuset mounted). */
function budgetAvailable(): boolean {
  return existsSync(join(MEMORY, 'cgroup.procs')) && existsSync(join(CPUSET, 'cgroup.procs'));
}

export class GuestBudget {
  private readonly memory: string;
  private readonly cpuset: string;

  constructor(
    tag: string,
    private readonly opts: BudgetOptions,
  ) {
    [this.memory, this.cpuset] = budgetDirs(tag) as [string, string];
  }

  create(): void {
    if (!budgetAvailable()) throw new Error(`a guest budget needs cgroup v1 memory and cpuset at ${MEMORY} and ${CPUSET}`);
    mkdirSync(this.memory);
    const limit = String(this.opts.memoryMB * 1024 * 1024);
    writeFileSync(join(this.memory, 'memory.limit_in_bytes'), limit);
    // With swap accounting, swap counts too: the guest has no swap to spill into.
    const memsw = join(this.memory, 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) writeFileSync(memsw, limit);
    mkdirSync(this.cpuset);
    // A new cpuset starts empty: its memory nodes are its parent's, its CPUs the budget's.
    writeFileSync(join(this.cpuset, 'cpuset.mems'), readFileSync(join(CPUSET, 'cpuset.mems'), 'utf8').trim());
    writeFileSync(join(this.cpuset, 'cpuset.cpus'), this.opts.cpus);
  }

  /** Moves a process (and so whatever it starts from then on) into the budget. */
  join(pid: number): void {
    for (const dir of [this.memory, this.cpuset]) {
      try {
        writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      } catch (err) {
        // Gone already (a command that ended at once) is no failure; anything else is.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
  }

  /** The PIDs in the memory cgroup now. */
  members(): number[] {
    return readFileSync(join(this.memory, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  }

  use(): BudgetUse {
    const read = (f: string) => readFileSync(join(this.memory, f), 'utf8').trim();
    const oom = /^oom_kill (\d+)$/m.exec(read('memory.oom_control'));
    const rss = /^total_rss (\d+)$/m.exec(read('memory.stat'));
    return {
      limitBytes: Number(read('memory.limit_in_bytes')),
      maxUsageBytes: Number(read('memory.max_usage_in_bytes')),
      failcnt: Number(read('memory.failcnt')),
      oomKills: oom ? Number(oom[1]) : 0,
      usageBytes: Number(read('memory.usage_in_bytes')),
      rssBytes: rss ? Number(rss[1]) : 0,
    };
  }
}

/** Removes a lab's cgroups once nothing is in them (teardown, after its processes were killed). */
export async function removeBudget(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    for (let tries = 0; existsSync(dir); tries++) {
      try {
        rmdirSync(dir);
      } catch (err) {
        // EBUSY while the killed processes are still exiting; a later teardown of this lab's
        // record tries again if they never do.
        if (tries >= 100) throw new Error(`cannot remove ${dir}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}
