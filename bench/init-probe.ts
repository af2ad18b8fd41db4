// The init benchmark's observers: the probes of bench/init-probe.cjs started in the lab's host or
// guest namespace and their JSON lines read back, and watches of the guest's /proc/<anchor>/net
// files (a file read every 5 ms, no process).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dhcpEvents, type DhcpEvent, type Lab } from '../lab/lab';
import { repoRoot } from '../lab/paths';
import { waitFor, type LabProcess } from '../lab/proc';

/** The probe script, run by node in a namespace (the guest sees the checkout at the same path). */
export const PROBE = join(repoRoot(), 'bench', 'init-probe.cjs');
const WATCH_EVERY_MS = 5;

export interface ProbeLine {
  event: 'start' | 'page' | 'answer' | 'latency' | 'ok';
  at: number;
  /** page: GETs started, and answers with another body (that did not come through the NAT). */
  attempts?: number;
  other?: number;
  /** answer: who answered what, for which lease. */
  server?: string;
  address?: string;
  leaseAt?: number;
  leaseDns?: string[];
  queries?: number;
  /** answer: answers without an address before it (SERVFAIL, NXDOMAIN). */
  empty?: number;
  /** latency: one row a round, ms per server (in the order given). */
  servers?: string[];
  times?: number[][];
  failures?: number;
}

/** The JSON lines of a text; a line being written (or not JSON) is skipped. */
function jsonLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return [];
      }
    });
}

/** Every line a probe has printed so far. */
export const probeLines = (p: LabProcess): ProbeLine[] => jsonLines<ProbeLine>(p.output());

export const probeLine = (p: LabProcess, event: ProbeLine['event']): ProbeLine | undefined => probeLines(p).find((l) => l.event === event);

/** Resolves once the probe runs (its start line). */
export async function probeStarted(p: LabProcess): Promise<void> {
  await waitFor(`${p.name} to start`, () => probeLine(p, 'start'), 10_000, 10);
}

/** GETs of the wireless web server by address from the host, until one comes through the guest's NAT. */
export function startHttpProbe(lab: Lab, name: string): LabProcess {
  return lab.startInHost(name, [process.execPath, PROBE, 'http', `http://${lab.addr.air}:8080/`, lab.addr.guestWlan0]);
}

/** GETs of the wireless web server by address from the host for `ms`: a line for every answer through the NAT. */
export function startHttpWatch(lab: Lab, name: string, ms: number): LabProcess {
  return lab.startInHost(name, [process.execPath, PROBE, 'watch', `http://${lab.addr.air}:8080/`, lab.addr.guestWlan0, String(ms)]);
}

/**
 * Lookups of `name` from the host through the DNS servers of its latest lease (the udhcpc events
 * file); with `page`, then the page by that name through the NAT; with `until`, up to that answer.
 */
export function startLookupProbe(lab: Lab, name: string, events: string, what: string, o: { page?: boolean; until?: string }): LabProcess {
  return lab.startInHost(name, [
    process.execPath,
    PROBE,
    'lookup',
    events,
    what,
    ...(o.page ? ['--page', lab.addr.guestWlan0] : []),
    ...(o.until ? ['--until', o.until] : []),
  ]);
}

/** `rounds` rounds of one query for `name` to each server, from the guest, one at a time. */
export async function guestLatency(lab: Lab, name: string, rounds: number, servers: readonly string[]): Promise<ProbeLine> {
  const r = await lab.guest([process.execPath, PROBE, 'latency', name, String(rounds), ...servers], { timeoutMs: 120_000 });
  const line = jsonLines<ProbeLine>(r.stdout).find((l) => l.event === 'latency');
  if (!line) throw new Error(`the latency probe failed (exit ${r.code}): ${r.stderr.trim()}`);
  return line;
}

/** The host's lease events (bound, renew) so far. */
export function hostLeases(file: string): DhcpEvent[] {
  return dhcpEvents(file).filter((e) => e.event === 'bound' || e.event === 'renew');
}

/** A watch of the guest's network namespace: when each of `patterns` first matches its /proc/<anchor>/net file. */
export interface GuestWatch<K extends string> {
  at: Record<K, number | null>;
  stop(): void;
}

export function watchGuest<K extends string>(lab: Lab, patterns: Record<K, { file: 'udp' | 'route'; re: RegExp }>): GuestWatch<K> {
  const keys = Object.keys(patterns) as K[];
  const at = Object.fromEntries(keys.map((k) => [k, null])) as Record<K, number | null>;
  const base = `/proc/${lab.guestPid}/net`;
  const timer = setInterval(() => {
    const now = Date.now();
    const text: Partial<Record<'udp' | 'route', string>> = {};
    try {
      for (const k of keys) {
        if (at[k] !== null) continue;
        const { file, re } = patterns[k];
        if (re.test((text[file] ??= readFileSync(`${base}/${file}`, 'utf8')))) at[k] = now;
      }
    } catch {
      /* the lab is going away */
    }
    if (keys.every((k) => at[k] !== null)) clearInterval(timer);
  }, WATCH_EVERY_MS);
  return { at, stop: () => clearInterval(timer) };
}

/** A DHCP server's socket (port 67) in /proc/net/udp; wlan0's prefix route in /proc/net/route. */
export const UDHCPD_LISTENING = { file: 'udp', re: /^\s*\d+: [0-9A-F]{8}:0043 /m } as const;
export const WLAN0_ROUTE = { file: 'route', re: /^wlan0\t/m } as const;

/** `ip -ts monitor link` in the guest: every change of its links, with the time. */
export function startLinkMonitor(lab: Lab, name: string): LabProcess {
  return lab.startInGuest(name, ['ip', '-ts', 'monitor', 'link']);
}

/** When the monitor first saw `iface` with its carrier, operationally up ("state UP"; the kernel's linkwatch sets it). */
export function linkUpAt(monitor: LabProcess, iface: string): number | null {
  const re = new RegExp(`^\\[(\\d+)-(\\d+)-(\\d+)T(\\d+):(\\d+):(\\d+)\\.(\\d+)\\] \\d+: ${iface}[@:].* state UP `);
  for (const line of monitor.output().split('\n')) {
    const m = re.exec(line)?.slice(1).map(Number);
    // ip prints local time, with microseconds.
    if (m?.length === 7) return new Date(m[0]!, m[1]! - 1, m[2]!, m[3]!, m[4]!, m[5]!).getTime() + m[6]! / 1000;
  }
  return null;
}
