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

/**
 * Node's flags for an agent as the package's /usr/sbin wrapper runs it (apk/sbin/COMMAND), so the
 * lab, the tests and the benches measure the agents as the guest runs them.
 */
export function packageNodeFlags(command: string): string[] {
  let flags = nodeFlags.get(command);
  if (!flags) nodeFlags.set(command, (flags = readNodeFlags(command)));
  return flags;
}

// The wrappers do not change while the lab runs: each is read once.
const nodeFlags = new Map<string, string[]>();

function readNodeFlags(command: string): string[] {
  const wrapper = join(repoRoot(), 'apk', 'sbin', command);
  const m = new RegExp(`^exec node ((?:--[a-z0-9=-]+ )*)/usr/lib/wifibox-agents/${command}\\.js "\\$@"$`, 'm').exec(readFileSync(wrapper, 'utf8'));
  if (!m) throw new Error(`${wrapper}: no line 'exec node [--flag ...] /usr/lib/wifibox-agents/${command}.js "$@"'`);
  return m[1]!.split(' ').filter(Boolean);
}
