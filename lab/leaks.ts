// What the guest holds, to compare before and after a fault: its processes (by name), the socket
// and pid files in the agents' and daemons' run folders, each agent's open file descriptors, the
// firewall rules and the addresses. After recovery, nothing may be left over.
import { readdirSync, readFileSync } from 'node:fs';
import type { Lab } from './lab';
import { pidsIn } from './namespaces';

export interface GuestHoldings {
  /** Process names in the guest's network namespace, sorted, with repeats. */
  processes: string[];
  /** Files in the run folders, as `folder/name`. */
  runFiles: string[];
  /** Open file descriptors of each named process (the agents), by name. */
  fds: Record<string, number>;
  /** iptables-save's rules, without counters. */
  rules: string[];
  /** `ip -o addr` lines without their lifetimes. */
  addresses: string[];
}

const RUN_FOLDERS = ['/run/wifibox-passthru', '/run/wifibox-init', '/run/dhcpcd', '/var/run/wpa_supplicant', '/tmp'];

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** A node process's script name (wifibox-init.js …), so two agents are told apart. */
function agentOf(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.find((a) => a.endsWith('.js'))?.split('/').pop() ?? 'node';
  } catch {
    return 'node';
  }
}

export async function guestHoldings(lab: Lab, agents: Record<string, number>): Promise<GuestHoldings> {
  const processes = (await pidsIn(lab.ns.guest))
    .map((pid) => (comm(pid) === 'node' ? agentOf(pid) : comm(pid)))
    .filter((n) => n !== '')
    .sort();
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
  const rules = save.stdout.split('\n').filter((l) => /^[-:*]|^COMMIT/.test(l)).map((l) => l.replace(/\[\d+:\d+\]/g, '')).sort();
  const addr = await lab.guest(['ip', '-o', 'addr', 'show']);
  const addresses = addr.stdout.split('\n').filter(Boolean).map((l) => l.replace(/\\\s+valid_lft.*$/, '').replace(/\s+/g, ' ').trim()).sort();
  return { processes, runFiles, fds, rules, addresses };
}
