// Which process a PID is, over time: a PID can be reused, its start time cannot. Whoever records a
// process to stop it later (init's daemons, the lab's) compares both, so no stranger is signalled.
import { readdirSync, readFileSync } from 'node:fs';
import { GUEST_PATHS } from './paths';

/** /proc/PID/stat's fields from the third on ([0] is field 3, the state; [2] field 5, the process group; [19] field 22). */
function statFields(pid: number | string, procDir: string): string[] | null {
  try {
    const stat = readFileSync(`${procDir}/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces or parentheses: split after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * Field 22 of /proc/PID/stat: the start time in clock ticks since boot, or null when the process
 * is gone. A zombie is gone too: it has ended and only waits for its parent to read its status.
 */
export function processStartTime(pid: number, procDir: string = GUEST_PATHS.proc): string | null {
  const f = statFields(pid, procDir);
  return f && f[0] !== 'Z' ? (f[19] ?? null) : null;
}

/** What the kernel calls a process (/proc/PID/comm: the program's file name, at most 15 bytes), or null when it is gone. */
export function processName(pid: number, procDir: string = GUEST_PATHS.proc): string | null {
  try {
    return readFileSync(`${procDir}/${pid}/comm`, 'utf8').replace(/\n$/, '');
  } catch {
    return null;
  }
}

/** The processes whose process group is `pgid`, each with its start time. */
export function processGroupMembers(pgid: number, procDir: string = GUEST_PATHS.proc): Array<{ pid: number; start: string }> {
  const out: Array<{ pid: number; start: string }> = [];
  for (const name of readdirSync(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name, procDir);
    if (f && f[0] !== 'Z' && Number(f[2]) === pgid) out.push({ pid: Number(name), start: f[19] ?? '' });
  }
  return out;
}
