// A runtime gives a burst's heap pages back once quiet (agents/common/settle.ts): nothing armed at
// rest, one timer re-armed by each collection of V8's own, one or two full collections when it fires.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MIN_SLACK_BYTES, QUIET_MS, realSettleSystem, settleAfterBursts, type SettleSystem } from '../../agents/common/settle';
import { waitFor } from '../../lab/proc';

const MB = 1 << 20;

/** V8 told by the test: its collections, the old space's figures, timers moved by hand. */
class FakeHeap implements SettleSystem {
  private listener: (() => void) | null = null;
  timers: Array<{ ms: number; fn: () => void; cancelled: boolean }> = [];
  held = 10 * MB;
  used = 9 * MB;
  /** What each collection leaves used, and what it leaves held; null: --expose-gc is missing. */
  collections: Array<{ used: number; held: number }> | null = [];
  collected = 0;
  onCollection(fn: () => void) {
    this.listener = fn;
    return () => void (this.listener = null);
  }
  oldSpace = () => ({ held: this.held, used: this.used });
  collect() {
    if (this.collections === null) return false;
    const next = this.collections[this.collected++] ?? { used: this.used, held: this.held };
    this.used = next.used;
    this.held = next.held;
    return true;
  }
  after(ms: number, fn: () => void) {
    const t = { ms, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }
  /** V8 collected by itself. */
  gc(): void {
    this.listener?.();
  }
  armed() {
    return this.timers.filter((t) => !t.cancelled);
  }
  fire(): void {
    const [t] = this.armed();
    if (!t) throw new Error('no timer armed');
    t.cancelled = true;
    t.fn();
  }
}

describe('settleAfterBursts', () => {
  it('arms nothing while V8 collects nothing: at rest, nothing wakes', () => {
    const heap = new FakeHeap();
    const s = settleAfterBursts(heap);
    expect(heap.timers).toHaveLength(0);
    expect(heap.collected).toBe(0);
    expect(s.settled).toBe(0);
  });

  it('waits until V8 has not collected for QUIET_MS, one timer at a time', () => {
    const heap = new FakeHeap();
    settleAfterBursts(heap);
    heap.gc();
    heap.gc();
    heap.gc();
    expect(heap.armed()).toHaveLength(1);
    expect(heap.armed()[0]!.ms).toBe(QUIET_MS);
    expect(heap.collected).toBe(0);
  });

  it("collects twice when the first leaves the old space's pages half empty, and says what it gave back", () => {
    const heap = new FakeHeap();
    const gaveBack: number[] = [];
    const s = settleAfterBursts(heap, (b) => gaveBack.push(b));
    heap.gc();
    heap.collections = [
      { used: 3 * MB, held: 9 * MB },
      { used: 3 * MB, held: 3.25 * MB },
    ];
    heap.fire();
    expect(heap.collected).toBe(2);
    expect(gaveBack).toEqual([6.75 * MB]);
    expect(s.settled).toBe(1);
    expect(heap.armed()).toHaveLength(0);
  });

  it('stops after one collection when what is left free is not worth a second', () => {
    const heap = new FakeHeap();
    settleAfterBursts(heap);
    heap.gc();
    heap.collections = [{ used: 3 * MB, held: 3 * MB + MIN_SLACK_BYTES - 1 }];
    heap.fire();
    expect(heap.collected).toBe(1);
  });

  it('does nothing when the runtime cannot ask for a collection (node without --expose-gc)', () => {
    const heap = new FakeHeap();
    heap.collections = null;
    const s = settleAfterBursts(heap);
    heap.gc();
    heap.fire();
    expect(s.settled).toBe(0);
  });

  it('after stop(), neither listens nor keeps a timer', () => {
    const heap = new FakeHeap();
    const s = settleAfterBursts(heap);
    heap.gc();
    s.stop();
    expect(heap.armed()).toHaveLength(0);
    heap.gc();
    expect(heap.armed()).toHaveLength(0);
  });
});

describe('realSettleSystem', () => {
  it("hears V8's own collections and not those it asked for, and reads the old space", async () => {
    let heard = 0;
    const off = realSettleSystem.onCollection(() => heard++);
    try {
      // A collection asked for: the observer must stay quiet.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      gc();
      await new Promise((r) => setTimeout(r, 50));
      expect(heard).toBe(0);
      // Allocation: V8 collects its young generation by itself.
      await waitFor(
        "a collection of V8's own",
        () => {
          let junk: unknown[] = [];
          for (let i = 0; i < 200_000; i++) junk.push({ i });
          junk = [];
          return heard > 0 || null;
        },
        10_000,
        10,
      );
    } finally {
      off();
    }
    const old = realSettleSystem.oldSpace();
    expect(old.held).toBeGreaterThan(0);
    expect(old.used).toBeGreaterThan(0);
    expect(old.used).toBeLessThanOrEqual(old.held);
  });
});
