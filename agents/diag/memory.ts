// Memory: the guest's total and available (/proc/meminfo), and each agent's and daemon's
// resident and private memory (/proc/PID/smaps_rollup).
import { join } from 'node:path';
import type { DiagOptions } from './options';
import type { MemoryInfo, ProcessMemory } from './report';
import type { DiagSystem } from './system';
import { errText } from './util';

/** `Key:   123 kB` lines, as /proc/meminfo, smaps_rollup and status have them, in KiB. */
export function parseKbLines(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const r = /^([\w()]+):\s+(\d+)\s*kB/.exec(line);
    if (r) m.set(r[1]!, Number(r[2]));
  }
  return m;
}

function processMemory(sys: DiagSystem, proc: string, name: string, pid: number): ProcessMemory {
  try {
    const m = parseKbLines(sys.readText(join(proc, String(pid), 'smaps_rollup')));
    const rss = m.get('Rss') ?? null;
    const priv = (m.get('Private_Clean') ?? 0) + (m.get('Private_Dirty') ?? 0) + (m.get('Private_Hugetlb') ?? 0);
    return { name, pid, rssKiB: rss, privateKiB: rss === null ? null : priv, error: null };
  } catch (err) {
    // Kernels before 4.14 have no smaps_rollup: the resident size is still in status.
    try {
      const s = parseKbLines(sys.readText(join(proc, String(pid), 'status')));
      return { name, pid, rssKiB: s.get('VmRSS') ?? null, privateKiB: s.get('RssAnon') ?? null, error: null };
    } catch {
      return { name, pid, rssKiB: null, privateKiB: null, error: errText(err) };
    }
  }
}

export function readMemory(sys: DiagSystem, opts: DiagOptions, processes: { name: string; pid: number }[]): MemoryInfo {
  let totalKiB: number | null = null;
  let availableKiB: number | null = null;
  let error: string | null = null;
  try {
    const m = parseKbLines(sys.readText(join(opts.proc, 'meminfo')));
    totalKiB = m.get('MemTotal') ?? null;
    availableKiB = m.get('MemAvailable') ?? null;
  } catch (err) {
    error = `${join(opts.proc, 'meminfo')}: ${errText(err)}`;
  }
  const availablePercent = totalKiB && availableKiB !== null ? Math.round((availableKiB / totalKiB) * 1000) / 10 : null;
  return {
    error,
    totalKiB,
    availableKiB,
    availablePercent,
    processes: processes.map((p) => processMemory(sys, opts.proc, p.name, p.pid)),
  };
}
