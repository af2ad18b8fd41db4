// Which process a PID is, over time: a PID can be reused, its start time cannot. Whoever records a
// process to stop it later (init's daemons, the lab's) compares both, so no stranger is signalled.
import { readFileSync } from 'node:fs';
import { GUEST_PATHS } from './paths';

/** Field 22 of /proc/PID/stat: the start time in clock ticks since boot, or null when the process is gone. */
export function processStartTime(pid: number, procDir: string = GUEST_PATHS.proc): string | null {
  try {
    const stat = readFileSync(`${procDir}/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces or parentheses: split after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}
