// A fake InitSystem for unit tests of wifibox-init: files in a map, commands and daemons recorded
// (their results and deaths decided by the test), endpoints answered in-process, and a clock that
// moves only when the test advances it. Every effect is appended to `effects`, in order.
import type { RunResult } from '../../agents/common/run';
import type { RelayNet } from '../../agents/init/dns/net';
import type { DaemonExit, DaemonHandle, Endpoint, InitSystem, Served, Timer } from '../../agents/init/system';

export interface FakeDaemon {
  argv: readonly string[];
  pid: number;
  signals: NodeJS.Signals[];
  /** The process ends (as if it died, or finished stopping). */
  exit(how: DaemonExit): void;
  alive: boolean;
}

interface PendingTimer {
  at: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeInitSystem implements InitSystem {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  /** The files daemons were told to write their output to. */
  readonly outputs = new Set<string>();
  readonly effects: string[] = [];
  readonly daemons: FakeDaemon[] = [];
  readonly endpoints = new Map<string, Endpoint>();
  /** Decides a command's result; the default is success with no output. */
  onRun: (argv: readonly string[], input?: string) => RunResult = () => ({ code: 0, stdout: '', stderr: '' });
  /** Programs that are not installed: starting them fails as spawn's ENOENT. */
  readonly missingPrograms = new Set<string>();
  /** Processes of the machine (pid → start time, process group, /proc/PID/comm) that tests plant. */
  readonly processes = new Map<number, { start: string; pgid: number; comm: string }>();
  private clock = Date.UTC(2026, 10, 30, 12, 0, 0);
  /** The relay's sockets: where it listens is recorded; nothing is ever received. */
  readonly relayNet: RelayNet = {
    udp: async (address, port) => {
      this.effects.push(`listen udp ${address}:${port}`);
      return { send: () => undefined, close: () => void this.effects.push(`close udp ${address}:${port}`) };
    },
    tcpServer: async (address, port) => {
      this.effects.push(`listen tcp ${address}:${port}`);
      return { close: () => void this.effects.push(`close tcp ${address}:${port}`) };
    },
    tcpConnect: () => {
      throw new Error('the fake relay net makes no connections');
    },
    randomId: () => 1,
    now: () => this.clock,
    after: (ms, fn) => this.after(ms, fn),
  };
  private timers: PendingTimer[] = [];
  private nextPid = 1000;

  async run(argv: readonly string[], input?: string): Promise<RunResult> {
    this.effects.push(`run ${argv.join(' ')}`);
    return this.onRun(argv, input);
  }

  startDaemon(argv: readonly string[], output: string): DaemonHandle {
    this.outputs.add(output);
    const missing = this.missingPrograms.has(argv[0]!);
    const pid = missing ? -1 : this.nextPid++;
    let settle: (e: DaemonExit) => void = () => undefined;
    const exited = new Promise<DaemonExit>((resolve) => (settle = resolve));
    const d: FakeDaemon = {
      argv,
      pid,
      signals: [],
      alive: !missing,
      exit: (how) => {
        if (!d.alive) return;
        d.alive = false;
        this.processes.delete(pid);
        settle(how);
      },
    };
    this.effects.push(`start ${argv.join(' ')}`);
    if (missing) settle({ code: -1, signal: null, spawnError: 'ENOENT' });
    else this.processes.set(pid, { start: `t${pid}`, pgid: pid, comm: argv[0]!.split('/').pop()! });
    this.daemons.push(d);
    return {
      pid,
      exited,
      kill: (signal) => {
        d.signals.push(signal);
        this.effects.push(`signal ${argv[0]} ${signal}`);
        // Daemons stop on SIGTERM and SIGKILL; SIGHUP only reloads.
        if (signal === 'SIGTERM' || signal === 'SIGKILL') d.exit({ code: null, signal });
      },
      killGroup: () => undefined,
      tail: () => '',
    };
  }

  read(path: string): string | null {
    return this.files.get(path) ?? null;
  }

  /** Files written as bytes (udhcpd's lease file), apart from the text files. */
  readonly blobs = new Map<string, Buffer>();

  readBytes(path: string): Buffer | null {
    const text = this.files.get(path);
    return this.blobs.get(path) ?? (text === undefined ? null : Buffer.from(text));
  }

  readOwn(path: string): string | null {
    return this.read(path);
  }

  list(dir: string): string[] {
    const names = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p.startsWith(`${dir}/`)) names.add(p.slice(dir.length + 1).split('/')[0]!);
    }
    return [...names].sort();
  }

  exists(path: string): boolean {
    return this.files.has(path) || this.dirs.has(path) || [...this.files.keys(), ...this.dirs].some((p) => p.startsWith(`${path}/`));
  }

  write(path: string, text: string): void {
    this.effects.push(`write ${path} ${text.trim()}`);
    this.files.set(path, text);
  }

  /** Paths whose next atomic write fails as a full file system would (ENOSPC), once each. */
  readonly failWrites: string[] = [];

  writeAtomic(path: string, data: string | Buffer): void {
    const i = this.failWrites.indexOf(path);
    if (i >= 0) {
      this.failWrites.splice(i, 1);
      throw Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: 'ENOSPC' });
    }
    if (typeof data === 'string') {
      this.blobs.delete(path);
      this.files.set(path, data);
    } else {
      this.files.delete(path);
      this.blobs.set(path, data);
    }
  }

  remove(path: string): void {
    this.files.delete(path);
    this.blobs.delete(path);
  }

  /** Folders whose makePrivateDir fails, as one planted by another user would: path → the error's message. */
  readonly refusedDirs = new Map<string, string>();

  makePrivateDir(path: string): null {
    const refused = this.refusedDirs.get(path);
    if (refused !== undefined) throw new Error(refused);
    this.dirs.add(path);
    return null;
  }

  processStart(pid: number): string | null {
    return this.processes.get(pid)?.start ?? null;
  }

  processName(pid: number): string | null {
    return this.processes.get(pid)?.comm ?? null;
  }

  killGroup(pgid: number, signal: NodeJS.Signals): boolean {
    const members = [...this.processes].filter(([, p]) => p.pgid === pgid);
    if (members.length === 0) return false;
    this.effects.push(`signal group ${pgid} ${signal}`);
    if (signal === 'SIGTERM' || signal === 'SIGKILL') for (const [pid] of members) this.processes.delete(pid);
    return true;
  }

  processGroup(pgid: number): Array<{ pid: number; start: string }> {
    return [...this.processes].filter(([, p]) => p.pgid === pgid).map(([pid, p]) => ({ pid, start: p.start }));
  }

  kill(pid: number, signal: NodeJS.Signals): boolean {
    if (!this.processes.has(pid)) return false;
    this.effects.push(`signal ${pid} ${signal}`);
    this.processes.delete(pid);
    return true;
  }

  serve(endpoint: Endpoint): Served {
    this.endpoints.set(endpoint.path, endpoint);
    return { close: () => void this.endpoints.delete(endpoint.path) };
  }

  /** What a client connecting to an endpoint gets back for `request`. */
  connect(path: string, request = ''): string {
    const e = this.endpoints.get(path);
    if (!e) throw new Error(`connect ${path}: ENOENT`);
    return e.answer(request);
  }

  now(): Date {
    return new Date(this.clock);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => void this.after(ms, resolve));
  }

  private linkWatchers = new Set<() => void>();

  watchLinks(onChange: () => void): { close(): void } {
    this.linkWatchers.add(onChange);
    return { close: () => void this.linkWatchers.delete(onChange) };
  }

  /** A network interface appears (true) or goes (false), and the kernel tells every link watch. */
  setLink(iface: string, present: boolean): void {
    if (present) this.dirs.add(`/sys/class/net/${iface}`);
    else this.dirs.delete(`/sys/class/net/${iface}`);
    for (const w of [...this.linkWatchers]) w();
  }

  /** Timers still to fire: at rest, there must be none (nothing wakes the guest's vCPU). */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  private neighbourWatchers = new Set<() => void>();

  watchNeighbours(onChange: () => void): { close(): void } {
    this.neighbourWatchers.add(onChange);
    return { close: () => void this.neighbourWatchers.delete(onChange) };
  }

  /** The kernel's neighbour table becomes `arp` (/proc/net/arp's text), and every neighbour watch is told. */
  setNeighbours(path: string, arp: string): void {
    this.files.set(path, arp);
    for (const w of [...this.neighbourWatchers]) w();
  }

  get neighbourWatches(): number {
    return this.neighbourWatchers.size;
  }

  get linkWatches(): number {
    return this.linkWatchers.size;
  }

  after(ms: number, fn: () => void): Timer {
    const t: PendingTimer = { at: this.clock + ms, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }

  /** Moves the clock on, firing every timer that falls due, in order, with the promises they start. */
  async advance(ms: number): Promise<void> {
    const end = this.clock + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.clock = Math.max(this.clock, due.at);
      due.fn();
    }
    this.clock = end;
    await settle();
  }

  /** The daemons started with this program, oldest first. */
  started(program: string): FakeDaemon[] {
    return this.daemons.filter((d) => d.argv[0] === program);
  }
}

/** Lets every promise chain that is ready run to its end (a few rounds of the microtask queue). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}
