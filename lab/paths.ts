// Where the lab finds the repository's own files: its helper scripts and the upstream samples.
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
