// A lab's record (state.json in its folder: owner, namespaces, tracked processes), and taking a
// lab down from that record alone: by the lab itself, or later by anyone once its owner is gone
// (the next lab, `npm test`'s preflight, `npm run lab -- down`).
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeBudget } from './budget';
import { removeNamespaces, type Flavor } from './namespaces';
import { isSameProcess, stopTracked, type Tracked } from './proc';

export const LAB_BASE = '/run/wifibox-lab';

export interface LabState {
  tag: string;
  flavor: Flavor;
  owner: { pid: number; start: string };
  persistent: boolean;
  namespaces: string[];
  tracked: Tracked[];
  anchor: Tracked | null;
  /** The guest's budget cgroups, removed once its processes are gone. */
  cgroups?: string[];
}

export function saveState(dir: string, state: LabState): void {
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2));
}

function readState(dir: string): LabState | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LabState;
  } catch {
    return null;
  }
}

export async function teardown(state: LabState, dir: string): Promise<void> {
  // Agents first (they clean their own sockets on SIGTERM), the anchor last.
  for (const t of [...state.tracked].reverse()) {
    if (state.anchor && t.pid === state.anchor.pid) continue;
    await stopTracked(t);
  }
  if (state.anchor) await stopTracked(state.anchor);
  await removeNamespaces(state.namespaces);
  await removeBudget(state.cgroups ?? []);
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes labs whose owner is gone: by default the test runs that died without cleaning up (never
 * a persistent `npm run lab`); with `persistent`, those too (`npm run lab -- down`); with
 * `liveTests`, also test runs still going.
 */
export async function removeLabs(which: { persistent?: boolean; liveTests?: boolean } = {}): Promise<string[]> {
  if (!existsSync(LAB_BASE)) return [];
  const removed: string[] = [];
  for (const tag of readdirSync(LAB_BASE)) {
    const dir = join(LAB_BASE, tag);
    const st = readState(dir);
    if (!st) continue;
    const kept = st.persistent ? !which.persistent : !which.liveTests && isSameProcess({ name: 'owner', ...st.owner });
    if (kept) continue;
    await teardown(st, dir);
    removed.push(tag);
  }
  return removed;
}
