// Runs the plan's steps, each as soon as the steps it waits for are done. A step whose
// dependency failed is not run ("blocked"), and says which one. What a step does is not known
// here: the orchestrator passes the function that applies it.
import type { Logger } from 'pino';
import type { StepState, StepStatus } from '../common/status';
import type { Plan, Step } from './plan';

/** Applies one step; resolves with its warnings, rejects with why it failed. */
type ApplyStep = (step: Step) => Promise<string[]>;

export class StepScheduler {
  private readonly states = new Map<string, StepStatus>();
  private readonly launched = new Map<string, Promise<void>>();
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly plan: Plan,
    private readonly apply: ApplyStep,
    private readonly log: Logger,
    private readonly now: () => Date,
  ) {
    for (const s of plan.steps) {
      this.states.set(s.id, { id: s.id, what: s.what, after: [...s.after], state: 'pending', why: null, warnings: [], at: null });
    }
  }

  /** Runs every step; resolves once each has ended (ok, failed, blocked) or was never started after stop(). */
  run(): Promise<void> {
    this.done = Promise.all(this.plan.steps.map((s) => this.launch(s))).then(() => undefined);
    return this.done;
  }

  /** No step starts from now on; resolves when the ones under way have ended, or after waitMs. */
  async stop(waitMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    this.stopped = true;
    for (const fn of [...this.stopListeners]) fn();
    await Promise.race([this.done, sleep(waitMs)]);
  }

  get stopping(): boolean {
    return this.stopped;
  }

  private readonly stopListeners = new Set<() => void>();

  /** Calls `fn` when stop() is called (a step waiting on an event gives up); returns how to unregister. */
  whenStopping(fn: () => void): () => void {
    this.stopListeners.add(fn);
    return () => void this.stopListeners.delete(fn);
  }

  statuses(): StepStatus[] {
    return [...this.states.values()].map((s) => ({ ...s, after: [...s.after], warnings: [...s.warnings] }));
  }

  private launch(step: Step): Promise<void> {
    const existing = this.launched.get(step.id);
    if (existing) return existing;
    const p = this.runOne(step);
    this.launched.set(step.id, p);
    return p;
  }

  private async runOne(step: Step): Promise<void> {
    const deps = step.after.map((id) => this.plan.steps.find((s) => s.id === id)).filter((s): s is Step => s !== undefined);
    await Promise.all(deps.map((d) => this.launch(d)));
    const failed = step.after.filter((id) => {
      const st = this.states.get(id)?.state;
      return st === 'failed' || st === 'blocked';
    });
    if (failed.length) {
      this.set(step.id, 'blocked', `waits for ${failed.join(', ')}, which did not come up`);
      this.log.error({ step: step.id, blockedBy: failed }, `${step.what}: not done, ${failed.join(', ')} did not come up`);
      return;
    }
    if (this.stopped) return;
    this.set(step.id, 'running', null);
    try {
      const warnings = await this.apply(step);
      this.states.get(step.id)!.warnings = warnings;
      this.set(step.id, 'ok', null);
      for (const w of warnings) this.log.warn({ step: step.id }, w);
      this.log.info({ step: step.id }, `${step.what}: done`);
    } catch (err) {
      const why = (err as Error).message;
      this.set(step.id, 'failed', why);
      this.log.error({ step: step.id }, `${step.what}: failed: ${why}`);
    }
  }

  private set(id: string, state: StepState, why: string | null): void {
    const st = this.states.get(id)!;
    st.state = state;
    st.why = why;
    st.at = this.now().toISOString();
  }
}
