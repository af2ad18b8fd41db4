// The forwarding agent: forwarding.conf → validated lines → plan (which relays to keep, open and
// close) → the relays → status. A SIGHUP reads the file again; a line whose text is unchanged
// keeps its sockets, associations, connections and counters.
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { VERSION } from '../common/cli';
import { GUEST_PATHS } from '../common/paths';
import { formatProblem } from '../common/problems';
import type { ForwardStatus } from '../common/status';
import { parseForwardConfig, type ForwardConfig, type ForwardLine } from './config';
import type { LineRelay, RelayLimits } from './relay';
import type { Account, ForwardSystem } from './system';
import { TcpRelay } from './tcp-relay';
import { UdpRelay } from './udp-relay';

export interface ForwardOptions {
  config: string;
  /** Its own folder (made 0700, handed to `user`), or null to make none (the status socket's folder exists). */
  runDir: string | null;
  statusSocket: string;
  /** Started as root, it serves as this user once its lines are bound; null: it stays who it was started as. */
  user: string | null;
  limits: RelayLimits;
}

/** The package's own user (its install adds it): what faces the wireless network is never root. */
const FORWARD_USER = 'wifibox';

export const DEFAULTS = {
  config: `${GUEST_PATHS.confDir}/forwarding.conf`,
  runDir: GUEST_PATHS.forwardRunDir,
  statusSocket: GUEST_PATHS.forwardStatusSocket,
  user: FORWARD_USER,
  limits: { maxPeers: 64, maxConnections: 64, udpIdleMs: 120_000, tcpIdleMs: 3_600_000, connectTimeoutMs: 10_000 },
} satisfies ForwardOptions;

/** What a load changes: the lines to open, the relays to close, those kept (with their new line). */
interface ForwardPlan {
  open: ForwardLine[];
  close: string[];
  keep: ForwardLine[];
}

/** Pure: the lines wanted against the texts of the relays running now. */
export function planForward(wanted: readonly ForwardLine[], running: ReadonlySet<string>): ForwardPlan {
  const texts = new Set(wanted.map((l) => l.text));
  return {
    open: wanted.filter((l) => !running.has(l.text)),
    close: [...running].filter((t) => !texts.has(t)),
    keep: wanted.filter((l) => running.has(l.text)),
  };
}

/** The plan as a person reads it: one line per line of forwarding.conf, as it is understood. */
export function formatForwardPlan(plan: ForwardPlan): string {
  const rows: string[] = [];
  const row = (what: string, text: string) => rows.push(`${what.padEnd(8)} ${text}`);
  const served = (l: ForwardLine) => {
    const notes = [l.listen.fork ? 'fork' : '', l.listen.range ? `range ${l.listen.range.text}` : '', l.oneWay ? 'one way' : ''].filter(Boolean);
    return `line ${l.line}: ${l.listen.kind} ${l.listen.address}:${l.listen.port} → ${l.target.protocol} ${l.target.host}:${l.target.port}${notes.length ? `  (${notes.join(', ')})` : ''}`;
  };
  for (const text of plan.close) row('close', text);
  for (const l of plan.keep) row('keep', served(l));
  for (const l of plan.open) row('open', served(l));
  if (!plan.keep.length && !plan.open.length) row('none', 'no line in the configuration: nothing is served');
  return rows.join('\n') + '\n';
}

/**
 * forwarding.conf read and checked; a file that cannot be read is one error, with no lines
 * (`kept`: the lines read before are kept, and the error says so).
 */
export function readForwardConfig(sys: Pick<ForwardSystem, 'readText'>, file: string, kept = false): { config: ForwardConfig; readable: boolean } {
  let text: string;
  try {
    text = sys.readText(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const message = `cannot read (${code}); expected the file forwarding.conf${kept ? ' — the lines read before are kept' : ''}`;
    return { config: { file, lines: [], problems: [{ file, line: 0, severity: 'error', message }] }, readable: false };
  }
  return { config: parseForwardConfig(text, file), readable: true };
}

export class ForwardAgent {
  private readonly relays = new Map<string, LineRelay>();
  private problems: string[] = [];
  private statusServer: Server | null = null;
  private readonly startedAt: number;

  constructor(
    private readonly opts: ForwardOptions,
    private readonly sys: ForwardSystem,
    private readonly log: Logger,
  ) {
    this.startedAt = sys.now();
  }

  /**
   * Opens the status endpoint and every line; started as root, drops to its user once each line
   * has tried to bind (a port below 1024 included). Rejects, with nothing served, when that user
   * does not exist: the wireless side is never served as root.
   */
  async start(): Promise<void> {
    const account = this.account();
    if (this.opts.runDir) {
      const removed = this.sys.makeRunDir(this.opts.runDir, account);
      if (removed) this.log.warn({ path: this.opts.runDir }, `run folder: ${removed}`);
    }
    this.statusServer = this.sys.statusServer(
      this.opts.statusSocket,
      () => `${JSON.stringify(this.status())}\n`,
      (err) => this.log.error({ path: this.opts.statusSocket, err: err.message }, 'status endpoint failed'),
    );
    const lines = this.read();
    const tried = () => Promise.all([...this.relays.values()].map((r) => r.firstAttempt));
    if (!account) {
      this.apply(lines ?? []);
      await tried();
      this.normalPriority();
      return;
    }
    // Only a port below 1024 needs root: those lines are bound first, the rest after the drop, so
    // their sockets are the user's own too.
    this.apply((lines ?? []).filter((l) => l.listen.port < 1024));
    await tried();
    // Root may still lower its niceness: the boot at the lowest priority is over.
    this.normalPriority();
    this.sys.dropTo(account);
    this.runningAs = account.name;
    this.log.info({ user: account.name, uid: account.uid }, 'serving without root');
    this.apply(lines ?? []);
    await tried();
  }

  private runningAs: string | null = null;

  /** Its wrapper starts it at niceness 19 so that it boots in the idle moments of a resume; from here on it relays at the normal priority. */
  private normalPriority(): void {
    const stuck = this.sys.normalPriority();
    if (stuck !== null) this.log.warn({ nice: stuck }, 'cannot take the normal CPU priority back (only root may): serving at the niceness it was started with');
  }

  /** Whom to drop to: null when not root or told to stay. */
  private account(): Account | null {
    if (!this.opts.user || !this.sys.isRoot()) return null;
    const a = this.sys.lookupUser(this.opts.user);
    if (!a || a.uid === 0) {
      throw new Error(
        `user '${this.opts.user}' ${a ? 'is root' : 'is not in /etc/passwd'}: the wireless side is not served as root; expected the package's user (its install adds it), or --user NAME`,
      );
    }
    return a;
  }

  /** Reads forwarding.conf and brings the relays in line with it. */
  reload(): void {
    const lines = this.read();
    if (lines !== null) this.apply(lines);
  }

  private apply(lines: readonly ForwardLine[]): void {
    const plan = planForward(lines, new Set(this.relays.keys()));
    for (const text of plan.close) {
      this.relays.get(text)?.stop();
      this.relays.delete(text);
      this.log.info({ text }, 'line no longer in the configuration: closed');
    }
    for (const l of plan.keep) (this.relays.get(l.text) as LineRelay).line = l;
    for (const l of plan.open) {
      const env = { sys: this.sys, log: this.log, limits: this.opts.limits };
      const relay = l.listen.protocol === 'udp' ? new UdpRelay(l, env) : new TcpRelay(l, env);
      this.relays.set(l.text, relay);
      relay.start();
    }
  }

  /** The file's lines, or null when it cannot be read and a configuration read before is kept. */
  private read(): ForwardLine[] | null {
    const kept = this.relays.size > 0;
    const { config, readable } = readForwardConfig(this.sys, this.opts.config, kept);
    this.problems = config.problems.map(formatProblem);
    for (const p of config.problems) this.log[p.severity === 'error' ? 'error' : 'warn'](formatProblem(p));
    // 9P may fail for a moment, or the file be half saved: what runs keeps running.
    return readable || !kept ? config.lines : null;
  }

  status(): ForwardStatus {
    const lines = [...this.relays.values()].map((r) => r.status()).sort((a, b) => a.line - b.line);
    const now = this.sys.now();
    return {
      agent: 'wifibox-forward',
      version: VERSION,
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSec: Math.round((now - this.startedAt) / 1000),
      config: this.opts.config,
      user: this.runningAs,
      state: lines.length ? 'serving' : 'no-lines',
      problems: this.problems,
      lines,
    };
  }

  /** SIGTERM: every socket closed, the status socket removed. */
  async stop(): Promise<void> {
    for (const r of this.relays.values()) r.stop();
    this.relays.clear();
    this.statusServer?.close();
    this.sys.removeFile(this.opts.statusSocket);
  }
}
