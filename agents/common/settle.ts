// Giving a burst's memory back once the runtime is quiet again.
//
// Under load (the passthrough's clients, forward's peers) short-lived objects outlive the 1 MB young
// generation and die in the old one, which grows to twice what stays live. V8's memory reducer would
// shrink it, but only once a heap has grown by 10 MB since its last turn: never, in a heap this
// small. Its sweeping keeps every page that still holds a live object, so after a burst the runtime
// held ~4 MB of half-empty pages for good (measured: the guest bench, docs/BENCHMARKS.md).
//
// So: each garbage collection V8 does by itself says the runtime is busy; QUIET_MS after the last
// one, a full collection, and when it leaves more than MIN_SLACK_BYTES of the old space free, a
// second (the first finds the half-empty pages, the second moves their objects and gives the pages
// back). At rest nothing allocates, so no collection comes and no timer is armed; nothing wakes.
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { after, type Timer } from './timer';

/** No collection of V8's own for this long: the burst is over. */
export const QUIET_MS = 5000;
/** Below this much free in the old space after a collection, a second would not give back enough to be worth its time. */
export const MIN_SLACK_BYTES = 1 << 20;

export interface SettleSystem {
  /** Calls fn after each collection V8 did by itself (not those settle() asked for); returns the unsubscribe. */
  onCollection(fn: () => void): () => void;
  /** The old space's bytes: held (committed) and used by objects. */
  oldSpace(): { held: number; used: number };
  /** A full collection, when the runtime can ask for one (node --expose-gc); false when it cannot. */
  collect(): boolean;
  after(ms: number, fn: () => void): Timer;
}

interface Settler {
  /** How many times it gave memory back (the status and tests). */
  readonly settled: number;
  stop(): void;
}

export function settleAfterBursts(sys: SettleSystem, onSettled: (gaveBackBytes: number) => void = () => undefined): Settler {
  let timer: Timer | null = null;
  let settled = 0;
  const settle = () => {
    timer = null;
    const before = sys.oldSpace().held;
    if (!sys.collect()) return;
    // What the first left is live; the space's other pages are worth a second only when enough is free.
    const after = sys.oldSpace();
    if (after.held - after.used >= MIN_SLACK_BYTES) sys.collect();
    settled++;
    onSettled(before - sys.oldSpace().held);
  };
  const unsubscribe = sys.onCollection(() => {
    timer?.cancel();
    timer = sys.after(QUIET_MS, settle);
  });
  return {
    get settled() {
      return settled;
    },
    stop() {
      unsubscribe();
      timer?.cancel();
      timer = null;
    },
  };
}

export const realSettleSystem: SettleSystem = {
  onCollection(fn) {
    const observer = new PerformanceObserver((list) => {
      const forced = constants.NODE_PERFORMANCE_GC_FLAGS_FORCED;
      const flags = (e: PerformanceEntry) => (e as unknown as { detail?: { flags?: number } }).detail?.flags ?? 0;
      if (list.getEntries().some((e) => (flags(e) & forced) === 0)) fn();
    });
    observer.observe({ entryTypes: ['gc'] });
    return () => observer.disconnect();
  },
  oldSpace() {
    const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
    return { held: old?.physical_space_size ?? 0, used: old?.space_used_size ?? 0 };
  },
  collect() {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc !== 'function') return false;
    gc();
    return true;
  },
  after,
};
