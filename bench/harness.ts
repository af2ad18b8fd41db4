// What each benchmark's orchestrator does around its measurements: a log line with its name, a
// private copy of the bundles it runs, and Ctrl-C.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../lab/lab';
import { repoRoot } from '../lab/paths';

export type Log = (msg: string) => void;

export function benchLog(name: string): Log {
  return (msg) => process.stderr.write(`${name}: [${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
}

/** Every bundle of dist/ the whole guest runs: the agents, dhcpcd's hook and the addon. */
export const GUEST_BUNDLES: readonly string[] = [
  'wifibox-init.js',
  'wifibox-passthru.js',
  'wifibox-forward.js',
  'wifibox-diag.js',
  'wifibox-dhcpcd-hook',
  'wifibox_dgram.node',
];

/**
 * A private copy of `files` of dist/, and with `withBench` of the bench's own bundle (its client
 * and launcher modes run it): `npm run build` (anyone's `npm test`) rewrites dist/ in place
 * meanwhile, a process that has the addon loaded then dies of SIGSEGV, and dhcpcd runs its hook
 * from the file at every event.
 */
export function privateDist(name: string, files: readonly string[], withBench = false): { dir: string; remove(): void } {
  const dist = join(repoRoot(), 'dist');
  const dir = join(dist, `bench-${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(join(dist, f), join(dir, f));
  if (withBench) copyFileSync(__filename, join(dir, 'bench.js'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Whether SIGINT or SIGTERM came; off() takes the handler away. */
export interface Interrupt {
  readonly interrupted: boolean;
  off(): void;
}

/** SIGINT or SIGTERM, the first time: logged, then `stop()`; `interrupted` says whether one came. */
export function onInterrupt(log: Log, stop: () => void): Interrupt {
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: cleaning up`);
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get interrupted() {
      return interrupted;
    },
    off() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * A benchmark's body in its lab: when it fails, the lab's process logs are shown first; whatever
 * happens, `cleanup` runs (unless an interrupt has started it already) and the handler goes.
 */
export async function inLab(
  o: {
    lab: () => Lab | null;
    cleanup: () => Promise<void>;
    interrupt: Interrupt;
  },
  body: () => Promise<void>,
): Promise<void> {
  try {
    await body();
  } catch (err) {
    const lab = o.lab();
    if (lab) process.stderr.write(`${lab.logTails()}\n`);
    throw err;
  } finally {
    if (!o.interrupt.interrupted) await o.cleanup();
    o.interrupt.off();
  }
}

/** What a bench holds in a lab of its own: the lab once it is up, and how to stop what it started beside it. */
export interface HeldLab {
  lab: Lab | null;
  /** Each run before the lab comes down (a launcher's connection, a load's processes). */
  stops: (() => void)[];
}

/**
 * A bench's body in a lab of its own (inLab), which it puts in `held` as it brings it up. At the
 * end, or at once on SIGINT or SIGTERM (then exit 130): what it started beside the lab stopped,
 * the lab down, the private `dist` removed.
 */
export async function inOwnLab(log: Log, dist: { remove(): void }, body: (held: HeldLab, interrupt: Interrupt) => Promise<void>): Promise<void> {
  const held: HeldLab = { lab: null, stops: [] };
  const cleanup = async () => {
    for (const stop of held.stops) stop();
    await held.lab?.down();
    dist.remove();
  };
  const interrupt = onInterrupt(log, () => void cleanup().finally(() => process.exit(130)));
  await inLab({ lab: () => held.lab, cleanup, interrupt }, () => body(held, interrupt));
}
