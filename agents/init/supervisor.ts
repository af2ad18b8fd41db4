// Keeps one daemon running: restarts it with backoff when it dies, and says why in the log. A
// program that cannot be started at all (not installed) is one clear failure, not a restart loop.
import type { Logger } from 'pino';
import type { DaemonStatus } from '../common/status';
import type { DaemonHandle, InitSystem, Timer } from './system';

interface SupervisorHooks {
  /** Told of each new process, so a later orchestrator can find what this one left. */
  onSpawn?(pid: number): void;
  /** Asked when it exits on its own: a reason not to restart it (what it needs is gone), or null. */
  holdReason?(): string | null;
  /** After each exit, whatever the cause: what a process killed outright leaves is cleaned up. */
  afterExit?(): void;
}

const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 30_000;
// A daemon that stayed up this long is healthy again: its next crash starts the backoff over.
const HEALTHY_AFTER_MS = 60_000;
const STOP_GRACE_MS = 3000;

export class Supervisor {
  private handle: DaemonHandle | null = null;
  private backoff = FIRST_BACKOFF_MS;
  private timer: Timer | null = null;
  private stopping = false;
  private disposed = false;
  private startedAt = 0;
  private st: DaemonStatus;

  constructor(
    readonly name: string,
    private readonly argv: readonly string[],
    private readonly sys: InitSystem,
    private readonly log: Logger,
    /** The file its output goes to (kept after it exits: its last words). */
    private readonly output: string,
    private readonly hooks: SupervisorHooks = {},
  ) {
    this.st = { name, state: 'stopped', pid: null, restarts: 0, lastExit: null, lastExitAt: null, since: null };
  }

  start(): void {
    if (this.disposed) return;
    this.stopping = false;
    this.spawn();
  }

  private spawn(): void {
    this.timer = null;
    if (this.stopping) return;
    const argv = this.argv;
    const h = this.sys.startDaemon(argv, this.output);
    this.handle = h;
    this.startedAt = this.sys.now().getTime();
    this.st = { ...this.st, state: 'running', pid: h.pid > 0 ? h.pid : null, since: this.sys.now().toISOString() };
    this.log.info({ daemon: this.name, pid: h.pid, argv: argv.join(' ') }, 'daemon started');
    void h.exited.then(({ code, signal, spawnError }) => {
      // Helpers it forked outlive a daemon killed outright; the next one must not meet them.
      h.killGroup('SIGKILL');
      try {
        this.hooks.afterExit?.();
      } catch (err) {
        this.log.warn({ daemon: this.name, err: (err as Error).message }, 'cannot clean up after it');
      }
      if (this.handle !== h) return;
      this.handle = null;
      const how = spawnError ? `could not be started: ${spawnError}` : signal ? `killed by ${signal}` : `exited with ${code}`;
      this.st = { ...this.st, pid: null, lastExit: how, lastExitAt: this.sys.now().toISOString() };
      if (this.stopping) {
        this.st.state = 'stopped';
        return;
      }
      const hold = spawnError ? null : (this.hooks.holdReason?.() ?? null);
      if (hold) {
        // Not a crash: it ended because what it needs went away; it starts again with it.
        this.st = { ...this.st, state: 'waiting', lastExit: `${how}; ${hold}` };
        this.log.info({ daemon: this.name, how }, `${this.name} ended: ${hold}`);
        return;
      }
      if (spawnError) {
        // Trying again changes nothing until the image does.
        this.st.state = 'failed';
        this.log.error({ daemon: this.name, program: argv[0], err: spawnError }, `${this.name} ${how}; not retried`);
        return;
      }
      if (this.sys.now().getTime() - this.startedAt > HEALTHY_AFTER_MS) this.backoff = FIRST_BACKOFF_MS;
      this.st.restarts++;
      this.st.state = 'backoff';
      this.log.warn({ daemon: this.name, how, restartInMs: this.backoff, output: h.tail() }, 'daemon died; restarting');
      this.timer = this.sys.after(this.backoff, () => this.spawn());
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    });
    try {
      if (h.pid > 0) this.hooks.onSpawn?.(h.pid);
    } catch (err) {
      this.log.warn({ daemon: this.name, err: (err as Error).message }, "cannot record the daemon's PID");
    }
  }

  /** Stops it (SIGTERM, then SIGKILL after a grace period) and resolves once it is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.timer?.cancel();
    this.timer = null;
    const h = this.handle;
    if (!h) {
      if (this.st.state !== 'failed') this.st.state = 'stopped';
      return;
    }
    h.kill('SIGTERM');
    const killer = this.sys.after(STOP_GRACE_MS, () => h.kill('SIGKILL'));
    await h.exited;
    killer.cancel();
    this.handle = null;
    this.st = { ...this.st, state: 'stopped', pid: null };
    this.log.info({ daemon: this.name }, 'daemon stopped');
  }

  /** Stops it until start() is called again (a fresh start, without backoff); the status says why. */
  async hold(why: string): Promise<void> {
    await this.stop();
    this.backoff = FIRST_BACKOFF_MS;
    this.st = { ...this.st, state: 'waiting', lastExit: why, lastExitAt: this.sys.now().toISOString() };
  }

  /**
   * Restart on purpose (new config): not counted as a crash. `whileStopped` runs once it is gone
   * and before it starts again (a file it reads only when it starts).
   */
  async restart(whileStopped?: () => void): Promise<void> {
    await this.stop();
    // A teardown that came meanwhile wins; so does a restart that came meanwhile and started it already.
    if (this.disposed || this.handle) return;
    try {
      whileStopped?.();
    } finally {
      this.start();
    }
  }

  /** Stops it for good: no restart, deliberate or not, brings it back. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop();
  }

  signal(sig: NodeJS.Signals): void {
    this.handle?.kill(sig);
  }

  status(): DaemonStatus {
    return { ...this.st };
  }
}
