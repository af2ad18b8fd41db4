// What was applied, and how to take it back: every action records the undo of each effect it
// had, as it has it. Tearing down runs them newest first, so the guest is taken apart in the
// reverse of the order it was built in — including the half of a step that failed midway.
import type { Logger } from 'pino';

interface Undo {
  what: string;
  run: () => Promise<void> | void;
}

export class Teardown {
  private readonly undos: Undo[] = [];

  /** Records how to take back an effect that has just happened. */
  push(what: string, run: () => Promise<void> | void): void {
    this.undos.push({ what, run });
  }

  /** Undoes everything, newest first; one that fails is logged and the rest still run. */
  async unwind(log: Logger): Promise<void> {
    for (let u = this.undos.pop(); u !== undefined; u = this.undos.pop()) {
      try {
        await u.run();
      } catch (err) {
        log.warn({ err: (err as Error).message }, `could not ${u.what}`);
      }
    }
  }

  /** What would be undone, newest first (for tests and the log). */
  pending(): string[] {
    return this.undos.map((u) => u.what).reverse();
  }
}
