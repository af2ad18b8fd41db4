// The passthru agent: config → validated config → plan (address + ports, plan.ts) → listen → status.
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { VERSION } from '../common/cli';
import { GUEST_INTERFACES, GUEST_PATHS } from '../common/paths';
import { formatProblem, type ConfigProblem } from '../common/problems';
import type { PassthruStatus, PortCounters } from '../common/status';
import { parsePassthruConfig, type PassthruConfig, type PassthruNetwork } from './config';
import type { ConversationLimits } from './conversation';
import { listenNetwork, planPassthru, sameNetwork } from './plan';
import { PassthruPort } from './port';
import type { PassthruSystem, Watch } from './system';

export interface PassthruOptions {
  config: string;
  runtimeDir: string;
  statusSocket: string;
  lanInterface: string;
  wirelessInterface: string;
  maxConnections: number;
  maxRequest: number;
  limits: Omit<ConversationLimits, 'maxRequest'>;
}

export const DEFAULTS = {
  config: `${GUEST_PATHS.confDir}/uds_passthru.conf`,
  runtimeDir: GUEST_PATHS.passthruRunDir,
  statusSocket: GUEST_PATHS.passthruStatusSocket,
  lanInterface: GUEST_INTERFACES.lan,
  wirelessInterface: GUEST_INTERFACES.wireless,
  maxConnections: 64,
  maxRequest: 0,
  limits: { lingerMs: 20, idleMs: 30_000, maxBuffered: 256 * 1024, detachWaitMs: 100, messageGapMs: 5 },
} satisfies PassthruOptions;

export class PassthruAgent {
  private ports = new Map<number, PassthruPort>();
  private config: PassthruConfig | null = null;
  private loadProblems: string[] = [];
  private network: PassthruNetwork | null = null;
  private waitReason: string | null = null;
  private addressWatch: Watch | null = null;
  private statusServer: Server | null = null;
  private readonly startedAt: Date;

  constructor(
    private readonly opts: PassthruOptions,
    private readonly sys: PassthruSystem,
    private readonly log: Logger,
  ) {
    this.startedAt = new Date(sys.now());
  }

  start(): void {
    const removed = this.sys.makePrivateDir(this.opts.runtimeDir);
    if (removed) this.log.warn({ path: this.opts.runtimeDir }, `runtime folder: ${removed}`);
    this.removeClientSockets(); // left behind by a crash
    this.startStatus();
    // The kernel tells of address changes (eth0's address arriving, renumbered, moved), each
    // port's watch of its daemon's socket folder tells of restarts: at rest nothing wakes.
    this.addressWatch = this.sys.watchAddresses(() => this.checkAddress());
    this.load();
    this.apply(new Map());
  }

  private load(): void {
    const read = readPassthruConfig(this.sys, this.opts.config);
    if (read.unreadable !== null) {
      // On a reload, a file that cannot be read for a moment (9P, a save in progress) must not
      // close every port: the last good configuration stays.
      this.log.error(this.config ? `${read.unreadable}; keeping the configuration read before` : read.unreadable);
      this.loadProblems = [read.unreadable];
      return;
    }
    const parsed = read.config;
    this.loadProblems = parsed.problems.map((p: ConfigProblem) => formatProblem(p));
    for (const p of parsed.problems) {
      if (p.severity === 'error') this.log.error(formatProblem(p));
      else this.log.warn(formatProblem(p));
    }
    // A reload of a file with new errors (a half-saved or mistyped edit) must not close ports that
    // work: the configuration read before stays until the file is right. Errors the running
    // configuration already had do not count (its valid lines are served, as at start), even
    // where lines added above them changed the line numbers they quote.
    const known = new Set((this.config?.problems ?? []).filter((p) => p.severity === 'error').map(errorKey));
    if (this.config && parsed.problems.some((p) => p.severity === 'error' && !known.has(errorKey(p)))) {
      const kept = `${this.opts.config}: has errors; keeping the configuration read before until they are fixed`;
      this.log.error(kept);
      this.loadProblems.push(kept);
      return;
    }
    this.config = parsed;
  }

  /** An address changed: one to wait for arrived, or the one in use moved (eth0 renumbered, or it went to another interface). */
  private checkAddress(): void {
    if (!this.config?.sockets.length) return;
    const { network } = listenNetwork(this.config.network, this.sys.ipv4Addresses(), this.opts.lanInterface);
    if (!sameNetwork(network, this.network)) this.apply(this.keptCounters);
  }

  /** Counters of ports closed while there was no address, for the ports opened when it is back. */
  private keptCounters = new Map<number, PortCounters>();

  /** Brings the ports in line with the config; ports whose socket and address are unchanged keep their connections. */
  private apply(keepCounters: Map<number, PortCounters>): void {
    const running = { network: this.network, ports: new Map([...this.ports].map(([port, p]) => [port, p.socket.path])) };
    const plan = planPassthru(this.config, this.sys.ipv4Addresses(), this.opts.lanInterface, running);
    if (plan.waiting !== this.waitReason) {
      // Said once when it starts, not every second while it lasts.
      if (plan.waiting) this.log.warn(plan.waiting);
      this.waitReason = plan.waiting;
    }
    const net = plan.network;
    this.network = net;
    this.keptCounters = net ? new Map() : keepCounters;
    for (const port of plan.close) {
      const p = this.ports.get(port) as PassthruPort;
      keepCounters.set(port, p.counters);
      void p.stop();
      this.ports.delete(port);
      this.log.info({ port }, 'port closed (configuration changed)');
    }
    if (!net) return;
    for (const s of plan.listen) {
      const p = new PassthruPort(
        s,
        {
          listenAddress: net.address,
          network: net,
          runtimeDir: this.opts.runtimeDir,
          maxConnections: this.opts.maxConnections,
          limits: this.opts.limits,
          maxRequest: this.opts.maxRequest,
          sys: this.sys,
          log: this.log,
        },
        keepCounters.get(s.port),
      );
      this.ports.set(s.port, p);
      p.start();
    }
  }

  /** SIGHUP: read the config again; unchanged ports keep their connections. */
  reload(): void {
    this.log.info({ config: this.opts.config }, 'reloading configuration');
    this.load();
    this.apply(new Map());
  }

  private startStatus(): void {
    this.statusServer = this.sys.statusServer(
      this.opts.statusSocket,
      () => `${JSON.stringify(this.status())}\n`,
      (err) => this.log.error({ path: this.opts.statusSocket, err: err.message }, 'status endpoint failed'),
    );
  }

  status(): PassthruStatus {
    const ports = [...this.ports.values()].map((p) => p.status()).sort((a, b) => a.port - b.port);
    const state = !this.config?.sockets.length ? 'no-sockets' : this.network ? 'serving' : 'waiting-for-address';
    return {
      agent: 'wifibox-passthru',
      version: VERSION,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeSec: Math.round((this.sys.now() - this.startedAt.getTime()) / 1000),
      config: this.opts.config,
      state,
      address: this.network?.address ?? null,
      network: this.network ? `${this.network.address}/${this.network.prefixLength}` : null,
      problems: this.loadProblems,
      waiting: this.waitReason,
      ports,
    };
  }

  private removeClientSockets(): void {
    for (const f of this.sys.listDir(this.opts.runtimeDir)) {
      if (/^\d+-\d+(-\d+)?$/.test(f)) this.sys.removeFile(`${this.opts.runtimeDir}/${f}`);
    }
  }

  /** SIGTERM: stop listening, DETACH monitors, remove every socket file we made. */
  async stop(): Promise<void> {
    this.addressWatch?.close();
    await Promise.all([...this.ports.values()].map((p) => p.stop()));
    this.ports.clear();
    this.statusServer?.close();
    this.removeClientSockets();
    this.sys.removeFile(this.opts.statusSocket);
    this.sys.removeDir(this.opts.runtimeDir);
  }
}

/** The config file read and checked, or why it cannot be read ("FILE: cannot read: ENOENT"). */
export function readPassthruConfig(
  sys: Pick<PassthruSystem, 'readText'>,
  file: string,
): { config: PassthruConfig; unreadable: null } | { config: null; unreadable: string } {
  let text: string;
  try {
    text = sys.readText(file);
  } catch (err) {
    return { config: null, unreadable: `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return { config: parsePassthruConfig(text, file), unreadable: null };
}

/** An error's message with the line numbers it quotes set aside ("the socket on line 4"). */
function errorKey(p: ConfigProblem): string {
  return p.message.replace(/\bline \d+/g, 'line N');
}
