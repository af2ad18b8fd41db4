// The forwarding agent: forwarding.conf → validated lines → plan (which relays to keep, open and
// close) → the relays → status. A SIGHUP reads the file again; a line whose text is unchanged
// keeps its sockets, associations, connections and counters.
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { VERSION } from '../common/cli';
import { GUEST_PATHS } from '../common/paths';
import { formatProblem } from '../common/problems';
import type { ForwardStatus } from '../common/status';
import { parseForwardConfig, type ForwardLine } from './config';
import type { LineRelay, RelayLimits } from './relay';
import type { ForwardSystem } from './system';
import { TcpRelay } from './tcp-relay';
import { UdpRelay } from './udp-relay';

export interface ForwardOptions {
  config: string;
  statusSocket: string;
  limits: RelayLimits;
}

export const DEFAULTS = {
  config: `${GUEST_PATHS.confDir}/forwarding.conf`,
  statusSocket: GUEST_PATHS.forwardStatusSocket,
  limits: { maxPeers: 64, maxConnections: 64, udpIdleMs: 120_000, tcpIdleMs: 3_600_000, connectTimeoutMs: 10_000 },
} satisfies ForwardOptions;

/** What a load changes: the lines to open, the relays to close, those kept (with their new line). */
export interface ForwardPlan {
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

  start(): void {
    this.statusServer = this.sys.statusServer(this.opts.statusSocket, () => `${JSON.stringify(this.status())}\n`, (err) =>
      this.log.error({ path: this.opts.statusSocket, err: err.message }, 'status endpoint failed'));
    this.reload();
  }

  /** Reads forwarding.conf and brings the relays in line with it. */
  reload(): void {
    const lines = this.read();
    if (lines === null) return;
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
    let text: string;
    try {
      text = this.sys.readText(this.opts.config);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      const kept = this.relays.size > 0;
      // 9P may fail for a moment, or the file be half saved: what runs keeps running.
      const problem = formatProblem({ file: this.opts.config, line: 0, severity: 'error',
        message: `cannot read (${code}); expected the file forwarding.conf${kept ? ' — the lines read before are kept' : ''}` });
      this.log.error(problem);
      this.problems = [problem];
      return kept ? null : [];
    }
    const config = parseForwardConfig(text, this.opts.config);
    this.problems = config.problems.map(formatProblem);
    for (const p of config.problems) this.log[p.severity === 'error' ? 'error' : 'warn'](formatProblem(p));
    return config.lines;
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
