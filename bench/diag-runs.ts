// What the diag bench measures in its lab guest: each program (wifibox-diag, text and --json; the
// same information by hand; a bare node) run to its exit by the launcher, timed, and what it left
// in the guest (processes, files under /run and /tmp); then, in separate runs, its peak RSS.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIAG_LAB_ARGS } from '../lab/diag-guest';
import type { Lab } from '../lab/lab';
import { pidsIn } from '../lab/namespaces';
import { sleep, waitFor } from '../lab/proc';
import type { LauncherClient } from './procs';
import type { JobReply, Step } from './protocol';

/** /usr/sbin/wifibox-diag's body (`exec node …/wifibox-diag.js "$@"`), node and the bundle given as $0 and $1. */
const WRAPPER = 'exec "$0" "$@"';

/** What a person types today for the same information, one after another. */
export const MANUAL: { label: string; short: string; argv: string[] }[] = [
  { label: 'ps', short: 'ps', argv: ['busybox', 'ps'] },
  { label: 'ip addr', short: 'ip addr', argv: ['ip', 'addr'] },
  { label: 'ip route', short: 'ip route', argv: ['ip', 'route'] },
  { label: 'iptables -t nat -L -v -n', short: 'iptables', argv: ['iptables', '-t', 'nat', '-L', '-v', '-n'] },
  {
    label: 'wpa_cli -p /var/run/wpa_supplicant -i wlan0 status',
    short: 'wpa_cli',
    argv: ['wpa_cli', '-p', '/var/run/wpa_supplicant', '-i', 'wlan0', 'status'],
  },
  { label: 'cat /proc/meminfo', short: 'cat', argv: ['cat', '/proc/meminfo'] },
];

export type Kind = 'text' | 'json' | 'manual' | 'node';
/** The order of a round of runs (every other round reversed). */
const ORDER: Kind[] = ['text', 'json', 'manual', 'node'];

export interface Sample {
  kind: Kind;
  ms: number;
  codes: (number | null)[];
  stdoutBytes: number;
  /** --json: the report's own durationMs; text and --json: the verdict (ok, degraded, down). */
  durationMs: number | null;
  health: string | null;
  /** ip netns pids identical right before and right after. */
  samePids: boolean;
  /** Not there before, still there 0.5 s after the run. */
  pidsLeft: string[];
  filesLeft: string[];
  /** Seen right after the run but gone 0.5 s later, or gone during it: other processes' doing. */
  transient: string[];
  errors: string[];
}

export interface RssSample {
  kind: Kind;
  /** KiB per step (one step, or the six of the manual sequence). */
  perStep: (number | null)[];
}

/** Every path under a guest folder (no symlink followed), as the guest names it. */
function guestTree(lab: Lab, dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (real: string, shown: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(real, { withFileTypes: true });
    } catch {
      return; // removed meanwhile
    }
    for (const e of entries) {
      const p = `${shown}/${e.name}`;
      out.add(p);
      if (e.isDirectory() && depth < 12) walk(join(real, e.name), p, depth + 1);
    }
  };
  walk(lab.guestPath(dir), dir, 0);
  return out;
}

/** Every path under the guest's /run and /tmp. */
const guestFiles = (lab: Lab): Set<string> => new Set([...guestTree(lab, '/run'), ...guestTree(lab, '/tmp')]);

function describePid(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return `${pid} ${cmd.length > 120 ? `${cmd.slice(0, 117)}…` : cmd}`;
  } catch {
    return `${pid} (gone)`;
  }
}

function diagArgv(distDir: string, json: boolean): string[] {
  // As /usr/sbin/wifibox-diag runs it: a /bin/sh wrapper that execs node on the bundle.
  return ['/bin/sh', '-c', WRAPPER, process.execPath, join(distDir, 'wifibox-diag.js'), ...(json ? ['--json'] : []), ...DIAG_LAB_ARGS];
}

function steps(kind: Kind, distDir: string, rss: boolean): Step[] {
  switch (kind) {
    case 'text':
      return [{ argv: diagArgv(distDir, false), rss, keepStdout: true }];
    case 'json':
      return [{ argv: diagArgv(distDir, true), rss, keepStdout: true }];
    case 'manual':
      return MANUAL.map((m) => ({ argv: m.argv, rss }));
    case 'node':
      return [{ argv: [process.execPath, '-e', '0'], rss }];
  }
}

/** What a run left in the guest: new processes and files, those gone 0.5 s later set apart as transient. */
interface Leftovers {
  samePids: boolean;
  pidsLeft: string[];
  filesLeft: string[];
  transient: string[];
}

/** Runs `job` and compares the guest's processes and files right before and right after it. */
async function watchingGuest(lab: Lab, job: () => Promise<JobReply>): Promise<{ r: JobReply; left: Leftovers }> {
  const ns = lab.ns.guest;
  const pidsBefore = new Set(await pidsIn(ns));
  const filesBefore = guestFiles(lab);
  const r = await job();
  const pidsAfter = new Set(await pidsIn(ns));
  const filesAfter = guestFiles(lab);
  const samePids = pidsBefore.size === pidsAfter.size && [...pidsBefore].every((p) => pidsAfter.has(p));
  let newPids = [...pidsAfter].filter((p) => !pidsBefore.has(p));
  let newFiles = [...filesAfter].filter((f) => !filesBefore.has(f));
  const transient: string[] = [...pidsBefore].filter((p) => !pidsAfter.has(p)).map((p) => `pid ${p} ended during the run`);
  if (newPids.length || newFiles.length) {
    const described = new Map(newPids.map((p) => [p, describePid(p)]));
    await sleep(500);
    const still = new Set(await pidsIn(ns));
    const filesStill = guestFiles(lab);
    transient.push(...newPids.filter((p) => !still.has(p)).map((p) => `pid ${described.get(p)} (gone 0.5 s later)`));
    transient.push(...newFiles.filter((f) => !filesStill.has(f)).map((f) => `${f} (gone 0.5 s later)`));
    newPids = newPids.filter((p) => still.has(p));
    newFiles = newFiles.filter((f) => filesStill.has(f));
  }
  return { r, left: { samePids, pidsLeft: newPids.map(describePid), filesLeft: newFiles, transient } };
}

/** The verdict wifibox-diag printed (text: its first word; --json: its health and its own durationMs). */
function verdict(kind: Kind, r: JobReply, errors: string[]): { durationMs: number | null; health: string | null } {
  if (kind === 'text') {
    const stdout = r.steps[0]!.stdout ?? '';
    return { durationMs: null, health: /^(OK|DEGRADED|DOWN)\b/.exec(stdout)?.[1]?.toLowerCase() ?? `unclear: ${stdout.split('\n')[0]}` };
  }
  if (kind !== 'json') return { durationMs: null, health: null };
  try {
    const rep = JSON.parse(r.steps[0]!.stdout ?? '') as { durationMs: number; health: string };
    return { durationMs: rep.durationMs, health: rep.health };
  } catch {
    errors.push(`no JSON: ${r.steps[0]!.stderrTail.slice(-300)}`);
    return { durationMs: null, health: null };
  }
}

/** One timed run of `kind`. */
async function measure(lab: Lab, launcher: LauncherClient, kind: Kind, distDir: string): Promise<Sample> {
  const { r, left } = await watchingGuest(lab, () => launcher.job(steps(kind, distDir, false)));
  const errors = r.steps.filter((s) => s.error || s.signal).map((s) => s.error ?? `signal ${s.signal}`);
  const { durationMs, health } = verdict(kind, r, errors);
  return {
    kind,
    ms: r.totalMs,
    codes: r.steps.map((s) => s.code),
    stdoutBytes: r.steps.reduce((a, s) => a + s.stdoutBytes, 0),
    durationMs,
    health,
    samePids: left.samePids,
    pidsLeft: left.pidsLeft,
    filesLeft: left.filesLeft,
    transient: left.transient,
    errors,
  };
}

/** Until wifibox-diag --json exits 0, then one more of each other kind, untimed: the page cache holds every program from here on. */
export async function warmUp(launcher: LauncherClient, distDir: string): Promise<void> {
  await waitFor(
    'wifibox-diag to say OK',
    async () => {
      const r = await launcher.job(steps('json', distDir, false));
      return r.steps[0]!.code === 0;
    },
    20_000,
    250,
  );
  for (const k of ['text', 'manual', 'node'] as Kind[]) await launcher.job(steps(k, distDir, false));
}

/** `runs` rounds of one timed run of each kind, the order reversed every other round. */
export async function timedRuns(lab: Lab, launcher: LauncherClient, distDir: string, runs: number, stop: () => boolean): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < runs && !stop(); i++) {
    for (const k of i % 2 ? [...ORDER].reverse() : ORDER) samples.push(await measure(lab, launcher, k, distDir));
  }
  return samples;
}

/** `runs` rounds of each kind under /usr/bin/time for its peak RSS (untimed: the wrapper's fork and exec would count). */
export async function rssRuns(launcher: LauncherClient, distDir: string, runs: number, stop: () => boolean): Promise<RssSample[]> {
  const rss: RssSample[] = [];
  for (let i = 0; i < runs && !stop(); i++) {
    for (const k of ORDER) {
      const r = await launcher.job(steps(k, distDir, true));
      rss.push({ kind: k, perStep: r.steps.map((s) => s.rssKiB) });
    }
  }
  return rss;
}
