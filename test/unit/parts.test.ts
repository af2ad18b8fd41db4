// wifibox-init's parts: the passthrough switched on and off by its args file (what rc-service
// uds_passthru writes), its state file answered, a fault in its code contained and the part
// started again, and the passthrough's own callbacks guarded (containFaults).
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { containFaults, realSystem } from '../../agents/passthru/system';
import { realSwitchSystem } from '../../agents/parts/system';
import { FAULT_WINDOW_MS, MAX_FAULTS, parseArgsFile, PartSwitch, RESTART_DELAY_MS, type RunningPart, type SwitchSystem } from '../../agents/parts/switch';
import { waitFor } from '../../lab/proc';

const DIR = '/run/wifibox-init/parts';
const ARGS = `${DIR}/passthru.args`;
const STATE = `${DIR}/passthru.state`;
const settle = () => new Promise((r) => setImmediate(r));

/** Files in a map, one watch, a clock and timers moved by the test. */
class FakeSwitchSystem implements SwitchSystem {
  readonly files = new Map<string, string>();
  private watcher: ((name: string | null) => void) | null = null;
  private timers: Array<{ at: number; fn: () => void; done: boolean }> = [];
  clock = 0;
  read = (path: string) => this.files.get(path) ?? null;
  writeAtomic = (path: string, text: string) => void this.files.set(path, text);
  makePrivateDir = () => null;
  watchDir(_dir: string, onChange: (name: string | null) => void) {
    this.watcher = onChange;
    return { close: () => void (this.watcher = null) };
  }
  after(ms: number, fn: () => void) {
    const t = { at: this.clock + ms, fn, done: false };
    this.timers.push(t);
    return { cancel: () => void (t.done = true) };
  }
  now = () => this.clock;
  /** What the service does: writes or removes the args file (the kernel tells the watch). */
  service(args: string | null): void {
    this.files.delete(STATE);
    if (args === null) this.files.delete(ARGS);
    else this.files.set(ARGS, args);
    this.watcher?.('passthru.args');
  }
  async advance(ms: number): Promise<void> {
    this.clock += ms;
    for (const t of this.timers.filter((x) => !x.done && x.at <= this.clock)) {
      t.done = true;
      t.fn();
      await settle();
    }
    await settle();
  }
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.done).length;
  }
}

let sys: FakeSwitchSystem;
let started: Array<{ args: string[]; stopped: boolean; reloads: number; fault: (err: unknown) => void }>;
let sw: PartSwitch;

function starter(args: string[], onFault: (err: unknown) => void): RunningPart {
  if (args.includes('--bad')) throw new Error("wifibox-passthru: unknown option '--bad'");
  const p = { args, stopped: false, reloads: 0, fault: onFault };
  started.push(p);
  return { reload: () => void p.reloads++, stop: async () => void (p.stopped = true) };
}

beforeEach(() => {
  sys = new FakeSwitchSystem();
  started = [];
  sw = new PartSwitch('passthru', DIR, starter, sys, pino({ level: 'silent' }));
});

describe('the passthrough switched by its args file', () => {
  it("starts with the file's options when the service writes it, and says so in its state file", async () => {
    sw.start();
    await settle();
    expect(started).toEqual([]);
    expect(sys.read(STATE)).toBe('stopped\n');
    sys.service('# rc-service uds_passthru start\n--loglevel\ninfo\n');
    await settle();
    expect(started.map((p) => p.args)).toEqual([['--loglevel', 'info']]);
    expect(sys.read(STATE)).toBe('running\n');
    // The same options again (start while started): the state is answered, nothing restarts.
    sys.service('# rc-service uds_passthru start\n--loglevel\ninfo\n');
    await settle();
    expect(started).toHaveLength(1);
    expect(sys.read(STATE)).toBe('running\n');
    // Other options: stopped, then started with them.
    sys.service('--loglevel\ndebug\n');
    await settle();
    expect(started.map((p) => [p.args, p.stopped])).toEqual([
      [['--loglevel', 'info'], true],
      [['--loglevel', 'debug'], false],
    ]);
    // Removed: stopped.
    sys.service(null);
    await settle();
    expect(started[1]!.stopped).toBe(true);
    expect(sys.read(STATE)).toBe('stopped\n');
  });

  it('a runtime that starts with the file there (a respawn after kill -9) runs the part at once', async () => {
    sys.files.set(ARGS, '--loglevel\nwarn\n');
    sw.start();
    await settle();
    expect(started.map((p) => p.args)).toEqual([['--loglevel', 'warn']]);
    await sw.stop();
    expect(started[0]!.stopped).toBe(true);
    expect(sys.read(ARGS)).toBe('--loglevel\nwarn\n'); // the service's wish stays for the next runtime
  });

  it('bad options: the state says why, and nothing runs', async () => {
    sw.start();
    sys.service('--bad\n');
    await settle();
    expect(started).toEqual([]);
    expect(sys.read(STATE)).toBe("failed: wifibox-passthru: unknown option '--bad'\n");
  });

  it('SIGHUP reloads the running part', async () => {
    sw.start();
    sys.service('--loglevel\ninfo\n');
    await settle();
    sw.reload();
    expect(started[0]!.reloads).toBe(1);
  });
});

describe('a fault in the passthrough', () => {
  it('stops it and starts it again after RESTART_DELAY_MS; at rest no timer is left', async () => {
    sw.start();
    sys.service('--loglevel\ninfo\n');
    await settle();
    started[0]!.fault(new Error('boom'));
    await settle();
    expect(started[0]!.stopped).toBe(true);
    expect(started).toHaveLength(1);
    await sys.advance(RESTART_DELAY_MS);
    expect(started).toHaveLength(2);
    expect(started[1]!.args).toEqual(['--loglevel', 'info']);
    expect(sys.read(STATE)).toBe('running\n');
    expect(sys.pendingTimers).toBe(0);
  });

  it(`more than ${MAX_FAULTS} faults within the window leave it stopped and failed, until the service starts it again`, async () => {
    sw.start();
    sys.service('--loglevel\ninfo\n');
    await settle();
    for (let i = 0; i <= MAX_FAULTS; i++) {
      started[started.length - 1]!.fault(new Error(`boom ${i}`));
      await settle();
      await sys.advance(RESTART_DELAY_MS);
    }
    expect(started).toHaveLength(MAX_FAULTS + 1);
    expect(started.every((p) => p.stopped)).toBe(true);
    expect(sys.read(STATE)).toBe(`failed: ${MAX_FAULTS + 1} faults within ${FAULT_WINDOW_MS / 1000} s; the last: boom ${MAX_FAULTS}\n`);
    sys.service('--loglevel\ninfo\n');
    await settle();
    expect(started).toHaveLength(MAX_FAULTS + 2);
    expect(sys.read(STATE)).toBe('running\n');
  });

  it('a fault while the service stops it does not start it again', async () => {
    sw.start();
    sys.service('--loglevel\ninfo\n');
    await settle();
    started[0]!.fault(new Error('boom'));
    sys.service(null);
    await settle();
    await sys.advance(RESTART_DELAY_MS);
    expect(started).toHaveLength(1);
    expect(sys.read(STATE)).toBe('stopped\n');
  });
});

describe('parseArgsFile', () => {
  it('one option a line; comments and blank lines are not options', () => {
    expect(parseArgsFile('# a comment\n--loglevel\n\ninfo\n')).toEqual(['--loglevel', 'info']);
  });
});

describe("containFaults: the passthrough's callbacks guarded", () => {
  it("a throw in a timer, a watch, a connection or a socket's event reaches onFault, not the process", async () => {
    const faults: string[] = [];
    const sys = containFaults(realSystem, (err) => faults.push((err as Error).message));
    sys.after(1, () => {
      throw new Error('timer');
    });
    await waitFor('the timer fault', () => faults.includes('timer'), 2000, 5);
    const server = sys.createTcpServer((s) => {
      s.on('data', () => {
        throw new Error('socket data');
      });
      throw new Error('connection');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = connect((server.address() as { port: number }).port, '127.0.0.1', () => c.write('x'));
    c.on('error', () => undefined);
    await waitFor('the connection and data faults', () => faults.includes('connection') && faults.includes('socket data'), 5000, 5);
    c.destroy();
    server.close();
    expect(faults).toEqual(['timer', 'connection', 'socket data']);
  });
});

describe('the parts folder as the real system reads it', () => {
  it('an args file planted as a symlink is refused, never followed, and the state says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbx-parts-'));
    try {
      const victim = join(dir, 'victim');
      writeFileSync(victim, '--config\n/etc/shadow\n');
      const parts = join(dir, 'parts');
      const sw = new PartSwitch('passthru', parts, starter, realSwitchSystem, pino({ level: 'silent' }));
      sw.start();
      symlinkSync(victim, join(parts, 'passthru.args'));
      await waitFor(
        'the refusal in the state file',
        () => existsSync(join(parts, 'passthru.state')) && readFileSync(join(parts, 'passthru.state'), 'utf8').startsWith('failed'),
        5000,
        5,
      );
      expect(readFileSync(join(parts, 'passthru.state'), 'utf8')).toMatch(/^failed: .*passthru\.args is a symbolic link, not a file of ours: not followed\n$/);
      expect(started).toEqual([]);
      await sw.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
