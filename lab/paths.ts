// Where the lab finds the repository's own files: its helper scripts and the upstream samples.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = (): string => {
  // Works from lab/*.ts (vitest) and from dist/*.js (bundle): both sit one level below the root.
  return resolve(__dirname, '..');
};

export function defaultUpstreamDir(): string {
  return join(repoRoot(), 'upstream-config');
}

/** One of the lab's own scripts (lab/*.cjs), run by node in a namespace. */
export function labScript(name: string): string {
  return join(repoRoot(), 'lab', name);
}

/** How the package's /usr/sbin wrapper (apk/sbin/COMMAND) runs an agent: at which niceness, with which flags. */
export interface PackageCommand {
  /** `nice -n N` before node, or null. */
  nice: number | null;
  /** Node's flags. */
  flags: string[];
}

/**
 * How the package's wrapper runs an agent, so the lab, the tests and the benches run the agents as
 * the guest runs them.
 */
export function packageCommand(command: string): PackageCommand {
  let c = commands.get(command);
  if (!c) commands.set(command, (c = readWrapper(command)));
  return c;
}

/** Node's flags for an agent as the package's wrapper runs it. */
export const packageNodeFlags = (command: string): string[] => packageCommand(command).flags;

/** The argv prefix before the agent's bundle: [nice -n N] node FLAGS. */
export function packageArgv(command: string, node: string): string[] {
  const c = packageCommand(command);
  return [...(c.nice === null ? [] : ['nice', '-n', String(c.nice)]), node, ...c.flags];
}

// The wrappers do not change while the lab runs: each is read once.
const commands = new Map<string, PackageCommand>();

function readWrapper(command: string): PackageCommand {
  const wrapper = join(repoRoot(), 'apk', 'sbin', command);
  const m = new RegExp(`^exec (?:nice -n (\\d+) )?node ((?:--[a-z0-9=-]+ )*)/usr/lib/wifibox-agents/${command}\\.js "\\$@"$`, 'm').exec(
    readFileSync(wrapper, 'utf8'),
  );
  if (!m) throw new Error(`${wrapper}: no line 'exec [nice -n N] node [--flag ...] /usr/lib/wifibox-agents/${command}.js "$@"'`);
  return { nice: m[1] === undefined ? null : Number(m[1]), flags: m[2]!.split(' ').filter(Boolean) };
}
