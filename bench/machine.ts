// The machine and the tree a benchmark ran on, and the lines in which each report states them.
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, release } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lab/paths';

/** What every report says; each adds the versions of the programs it measured. */
export interface MachineFacts {
  date: string;
  nproc: number;
  cpu: string;
  kernel: string;
  node: string;
  git: string;
}

/**
 * The first line a command prints, or the first match of `pattern` in its output. Read even when
 * it exits non-zero (some print their version and exit 1); `unknown` when there is nothing.
 */
export function firstLine(argv: readonly string[], pattern?: RegExp, unknown?: string): string {
  const pick = (out: string) => (pattern ? pattern.exec(out)?.[0] : out.split('\n')[0]?.trim());
  try {
    return pick(execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString()) ?? unknown ?? 'unknown';
  } catch (err) {
    const hit = pick(String((err as { stdout?: Buffer }).stdout ?? ''));
    return hit || (unknown ?? `unknown (${(err as Error).message.split('\n')[0]})`);
  }
}

/** `--version` of one of our bundles in distDir (wifibox-init.js, …), run by this node. */
export function agentVersion(distDir: string, bundle: string): string {
  return firstLine([process.execPath, join(distDir, bundle), '--version']);
}

const debianPackage = (pkg: string): string => firstLine(['dpkg-query', '-W', '-f', '${Version}', pkg]);

/** The versions of the programs the benches measure ours against, each read one way for every report. */
export const programVersion = {
  socat: (): string => firstLine(['socat', '-V'], /socat version \S+/, 'socat (version unknown)'),
  wpaSupplicant: (): string => firstLine(['wpa_supplicant', '-v']),
  wpaCli: (): string => firstLine(['wpa_cli', '-v']),
  dhcpcd: (): string => firstLine(['dhcpcd', '--version']),
  /** Some builds print their help and exit 1: `unknown` is what to say when no version is in it. */
  busybox: (unknown?: string): string => firstLine(['busybox'], /BusyBox v\S+/, unknown),
  dnsmasq: (): string => firstLine(['dnsmasq', '--version'], /Dnsmasq version \S+/),
  ifupdownNg: (): string => `${firstLine(['ifup', '--version'])} (Debian package ${debianPackage('ifupdown-ng')})`,
  iproute: (): string => firstLine(['ip', '-V']),
  iptables: (): string => firstLine(['iptables', '-V']),
  procps: (): string => firstLine(['sysctl', '--version']),
};

export function machineFacts(): MachineFacts {
  const dirty = firstLine(['git', '-C', repoRoot(), 'status', '--porcelain']) ? '+uncommitted changes' : '';
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    kernel: release(),
    node: process.version,
    git: `${firstLine(['git', '-C', repoRoot(), 'rev-parse', '--short=10', 'HEAD'])}${dirty}`,
  };
}

/** The report's Machine: line, with the versions of the programs it measured, and of ours when it names it apart. */
export function machineLine(m: MachineFacts, programs: readonly string[], ours?: string): string {
  return `Machine: ${m.nproc} CPUs (${m.cpu}), Linux ${m.kernel}, Node ${m.node}${programs.map((p) => `, ${p}`).join('')}${ours === undefined ? '' : `; ${ours}`} (tree ${m.git}).`;
}

/** A report's short first line: its command, the day and how long it took, then the Machine: line. */
export function commandAndMachine(command: string, m: MachineFacts, durationSec: number): string {
  return `Command: \`${command}\` (${m.date.slice(0, 10)}, ${Math.round(durationSec)} s). ${machineLine(m, [])}`;
}
