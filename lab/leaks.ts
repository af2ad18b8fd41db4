// What the guest holds, to compare before and after a fault: its processes (by name), the socket
// and pid files in the agents' and daemons' run folders, each agent's open file descriptors, the
// firewall rules and the addresses. After recovery, nothing may be left over.
import { readdirSync, readFileSync } from 'node:fs';
import type { Lab } from './lab';
import { processName } from '../agents/common/process';
import { pidsIn } from './namespaces';

export interface GuestHoldings {
  /** The daemons and agents in the guest's network namespace, by name, sorted, with repeats. */
  processes: string[];
  /** Files in the run folders, as `folder/name`. */
  runFiles: string[];
  /** Open file descriptors of each named process (the agents), by name. */
  fds: Record<string, number>;
  /** iptables-save's rules, without counters. */
  rules: string[];
  /** `ip -o addr` lines without index and lifetimes; no IPv6 link-local ones. */
  addresses: string[];
}

const RUN_FOLDERS = ['/run/wifibox-passthru', '/run/wifibox-init', '/run/dhcpcd', '/var/run/wpa_supplicant', '/tmp'];

const comm = (pid: number): string => processName(pid, '/proc') ?? '';

/** A node process's script name (wifibox-init.js …), so two agents are told apart. */
function agentOf(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return (
      argv
        .find((a) => a.endsWith('.js'))
        ?.split('/')
        .pop() ?? 'node'
    );
  } catch {
    return 'node';
  }
}

/** The process's state and parent (fields 3 and 4 of /proc/PID/stat), or null when it is gone. */
function stateOf(pid: number): { state: string; ppid: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state ?? '', ppid: Number(ppid) };
  } catch {
    return null;
  }
}

/**
 * The guest's processes by name: each daemon once, not its helpers (a process whose parent has
 * its name: dhcpcd's privilege-separation proxies come and go as it needs them), and not zombies
 * (ended, only waiting to be reaped).
 */
async function daemonsIn(lab: Lab): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await pidsIn(lab.ns.guest)) {
    const st = stateOf(pid);
    const name = comm(pid);
    if (!st || st.state === 'Z' || name === '' || comm(st.ppid) === name) continue;
    out.push(name === 'node' ? agentOf(pid) : name);
  }
  return out.sort();
}

export async function guestHoldings(lab: Lab, agents: Record<string, number>): Promise<GuestHoldings> {
  const processes = await daemonsIn(lab);
  const runFiles = RUN_FOLDERS.flatMap((d) => {
    try {
      return readdirSync(lab.guestPath(d)).map((f) => `${d}/${f}`);
    } catch {
      return [];
    }
  }).sort();
  const fds: Record<string, number> = {};
  for (const [name, pid] of Object.entries(agents)) {
    try {
      fds[name] = readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      fds[name] = -1;
    }
  }
  const save = await lab.guest(['iptables-save']);
  const rules = save.stdout
    .split('\n')
    .filter((l) => /^[-:*]|^COMMIT/.test(l))
    .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
    .sort();
  const addr = await lab.guest(['ip', '-o', 'addr', 'show']);
  // By interface name, not index (a card that comes back has a new one); not the IPv6 link-local
  // ones, which the kernel or dhcpcd make for any link.
  const addresses = addr.stdout
    .split('\n')
    .filter((l) => l && !/ inet6 fe80:/.test(l))
    .map((l) =>
      l
        .replace(/^\d+:\s*/, '')
        .replace(/\\\s+valid_lft.*$/, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .sort();
  return { processes, runFiles, fds, rules, addresses };
}

/** What `now` holds that `baseline` did not, or lacks, in words; none is the answer wanted. */
function holdingsDiff(baseline: GuestHoldings, now: GuestHoldings): string[] {
  const diff: string[] = [];
  for (const k of ['processes', 'runFiles', 'rules', 'addresses'] as const) {
    const count = (list: string[], x: string) => list.filter((y) => y === x).length;
    const extra = now[k].filter((x) => count(now[k], x) > count(baseline[k], x));
    const missing = baseline[k].filter((x) => !now[k].includes(x));
    if (extra.length || missing.length) diff.push(`${k}: +${JSON.stringify([...new Set(extra)])} -${JSON.stringify(missing)}`);
  }
  for (const [name, n] of Object.entries(now.fds)) if (n !== baseline.fds[name]) diff.push(`${name} fds: ${n}, was ${baseline.fds[name]}`);
  return diff;
}

/** What still differs from the baseline once things settle (up to `settleMs`); [] when nothing does. */
export async function leftovers(lab: Lab, agents: Record<string, number>, baseline: GuestHoldings, settleMs = 15_000): Promise<string[]> {
  let diff: string[] = [];
  const deadline = Date.now() + settleMs;
  for (;;) {
    diff = holdingsDiff(baseline, await guestHoldings(lab, agents));
    if (diff.length === 0 || Date.now() > deadline) return diff;
    await new Promise((r) => setTimeout(r, 250));
  }
}
