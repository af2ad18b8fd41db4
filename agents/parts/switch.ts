// A part of a runtime that an OpenRC service switches on and off without touching the rest:
// rc-service uds_passthru start writes the part's options to `<name>.args` in the runtime's parts
// folder, stop removes the file; the runtime follows the file (inotify, nothing polled) and says
// what it did in `<name>.state` (running, stopped, failed: why), which the service waits for.
// A fault in the part's own code stops it and starts it again; too many in a row leave it failed.
import { basename, join } from 'node:path';
import type { Logger } from 'pino';

export interface RunningPart {
  reload(): void;
  stop(): Promise<void>;
}

/** Starts the part with its options; a fault of its own goes to onFault. Throws on bad options. */
type PartStarter = (args: string[], onFault: (err: unknown) => void) => RunningPart;

export interface SwitchSystem {
  /** The file's text, or null when it is not there; throws for what is not a file of its own. */
  read(path: string): string | null;
  writeAtomic(path: string, text: string): void;
  /** Its own folder, mode 0700 (what was removed in its place is returned). */
  makePrivateDir(path: string): string | null;
  /** Calls onChange(name) when an entry of `dir` changes (name: null when the kernel did not say). */
  watchDir(dir: string, onChange: (name: string | null) => void): { close(): void };
  after(ms: number, fn: () => void): { cancel(): void };
  now(): number;
}

/** A part that faulted is started again this soon (the network never stopped meanwhile). */
export const RESTART_DELAY_MS = 100;
/** More faults than this within FAULT_WINDOW_MS leave the part stopped, failed, until the service starts it again. */
export const MAX_FAULTS = 5;
export const FAULT_WINDOW_MS = 60_000;

/** The options in an args file: one a line; blank lines and '#' comments are not options. */
export function parseArgsFile(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

export class PartSwitch {
  private running: { part: RunningPart; args: string } | null = null;
  private watch: { close(): void } | null = null;
  private restart: { cancel(): void } | null = null;
  private faults: number[] = [];
  private failed: string | null = null;
  /** One change at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly startPart: PartStarter,
    private readonly sys: SwitchSystem,
    private readonly log: Logger,
  ) {}

  private get argsFile(): string {
    return join(this.dir, `${this.name}.args`);
  }

  private get stateFile(): string {
    return join(this.dir, `${this.name}.state`);
  }

  /** Watches the parts folder, and does what its args file says now (a runtime restarted by its supervisor picks the part up again). */
  start(): void {
    const removed = this.sys.makePrivateDir(this.dir);
    if (removed) this.log.warn({ path: this.dir }, `parts folder: ${removed}`);
    const mine = basename(this.argsFile);
    this.watch = this.sys.watchDir(this.dir, (name) => {
      if (name === null || name === mine) this.follow();
    });
    this.follow();
  }

  /** SIGHUP: the part reads its configuration again. */
  reload(): void {
    this.running?.part.reload();
  }

  /** The runtime stops: the part stops; its args file stays for the next runtime. */
  stop(): Promise<void> {
    this.closed = true;
    this.watch?.close();
    this.restart?.cancel();
    return this.enqueue(() => this.halt('stopped (wifibox-init stopping)'));
  }

  /** Runs `step` after those before it; what it throws is logged, and the next still runs. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step).catch((err: Error) => this.log.error({ part: this.name, err: err.message }, 'the part switch failed a step'));
    return this.queue;
  }

  private follow(): void {
    if (this.closed) return;
    void this.enqueue(async () => {
      let text: string | null;
      try {
        text = this.sys.read(this.argsFile);
      } catch (err) {
        this.log.error({ part: this.name, err: (err as Error).message }, "cannot read the part's options");
        this.state(`failed: ${(err as Error).message}`);
        return;
      }
      if (text === null) {
        this.faults = [];
        this.failed = null;
        await this.halt('stopped');
        return;
      }
      if (this.running?.args === text) {
        this.state('running');
        return;
      }
      // Started anew by the service: a part left failed is tried again.
      if (this.failed && !this.running) this.faults = [];
      await this.halt(null);
      this.launch(text);
    });
  }

  private launch(text: string): void {
    try {
      const part = this.startPart(parseArgsFile(text), (err) => this.fault(part, err));
      this.running = { part, args: text };
      this.failed = null;
      this.state('running');
      this.log.info({ part: this.name }, 'part started');
    } catch (err) {
      this.failed = (err as Error).message;
      this.state(`failed: ${this.failed}`);
      this.log.error({ part: this.name, err: this.failed }, 'part cannot start');
    }
  }

  /** A fault in the part's code: stopped, and started again soon unless it keeps faulting. */
  private fault(part: RunningPart | undefined, err: unknown): void {
    if (!part || this.running?.part !== part) return; // its stop is under way already
    const now = this.sys.now();
    this.faults = [...this.faults.filter((t) => now - t < FAULT_WINDOW_MS), now];
    const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.log.error({ part: this.name, err: stack, faults: this.faults.length }, 'fault in the part: stopping it; the network goes on');
    const args = this.running.args;
    void this.enqueue(async () => {
      await this.halt(null);
      if (this.faults.length > MAX_FAULTS) {
        this.failed = `${this.faults.length} faults within ${FAULT_WINDOW_MS / 1000} s; the last: ${err instanceof Error ? err.message : String(err)}`;
        this.state(`failed: ${this.failed}`);
        this.log.error({ part: this.name }, `part left stopped: ${this.failed}`);
        return;
      }
      this.restart = this.sys.after(RESTART_DELAY_MS, () => {
        this.restart = null;
        // Unless the service stopped or changed it meanwhile: then the file says what to do.
        void this.enqueue(async () => {
          if (!this.closed && !this.running && this.sys.read(this.argsFile) === args) this.launch(args);
        });
      });
    });
  }

  /** Stops the running part, if any; `state`: what the state file says then (null: nothing). */
  private async halt(state: string | null): Promise<void> {
    this.restart?.cancel();
    this.restart = null;
    const r = this.running;
    this.running = null;
    if (r) {
      try {
        await r.part.stop();
      } catch (err) {
        this.log.error({ part: this.name, err: (err as Error).message }, 'error while stopping the part');
      }
      this.log.info({ part: this.name }, 'part stopped');
    }
    if (state !== null) this.state(state);
  }

  /** Written only when it changes: the service removes it before it asks, and waits for it. */
  private state(text: string): void {
    try {
      if (this.sys.read(this.stateFile) === `${text}\n`) return;
      this.sys.writeAtomic(this.stateFile, `${text}\n`);
    } catch (err) {
      this.log.error({ part: this.name, err: (err as Error).message }, "cannot write the part's state");
    }
  }
}
