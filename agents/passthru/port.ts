// One `sockets=` line: a TCP port on the guest's eth0 address bridged to one daemon socket.
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PortCounters, PortStatus } from '../common/status';
import { inNetwork, type PassthruNetwork, type PassthruSocket } from './config';
import { Conversation, type ConversationLimits } from './conversation';
import { newCounters } from './counters';
import type { PassthruSystem, Timer, Watch } from './system';

interface PortEnv {
  listenAddress: string;
  network: PassthruNetwork;
  runtimeDir: string;
  maxConnections: number;
  limits: Omit<ConversationLimits, 'maxRequest'>;
  /** Overrides the per-daemon request limit (0 = by daemon: hostapd 4096, else 8192). */
  maxRequest: number;
  sys: PassthruSystem;
  log: Logger;
}

const LISTEN_RETRY_MS = 1000;
let nextConversation = 0;
const REFUSAL_LOG_EVERY_MS = 60_000;

/** hostapd's control interface reads 4096 bytes at most, wpa_supplicant's 8192. */
function daemonRequestLimit(path: string): number {
  return /(^|\/)hostapd(\/|$)/.test(path) ? 4096 : 8192;
}

export class PassthruPort {
  readonly counters: PortCounters;
  private server: Server | null = null;
  private listening = false;
  private listenError: string | null = null;
  private retryTimer: Timer | null = null;
  /** Each conversation with the daemon it began with (the socket's identity when it was accepted). */
  private readonly conversations = new Map<Conversation, string | null>();
  private daemonId: string | null | undefined = undefined;
  private daemonWatch: Watch | null = null;
  private stopped = false;
  private readonly refusalLog = new Map<string, { last: number; suppressed: number }>();
  private lastRefused: PortStatus['lastRefused'] = null;

  constructor(
    readonly socket: PassthruSocket,
    readonly env: PortEnv,
    counters?: PortCounters,
  ) {
    // Counters survive a reload that keeps this port.
    this.counters = counters ?? newCounters();
  }

  get port(): number {
    return this.socket.port;
  }

  start(): void {
    // The daemon's socket folder is watched (inotify): its restart is seen when it happens.
    this.daemonWatch = this.env.sys.watchPath(this.socket.path, () => this.pollDaemon());
    this.pollDaemon();
    this.listen();
  }

  private listen(): void {
    if (this.stopped) return;
    const server = this.env.sys.createTcpServer((s) => this.accept(s));
    this.server = server;
    server.on('error', (err: NodeJS.ErrnoException) => {
      // EADDRNOTAVAIL: eth0 has no such address yet; EADDRINUSE: an old instance is still going.
      if (this.listenError !== err.code) {
        this.env.log.warn({ port: this.port, address: this.env.listenAddress, code: err.code }, 'cannot listen yet, retrying every second');
      }
      this.listenError = err.code ?? err.message;
      this.listening = false;
      server.close();
      if (this.server === server) this.server = null;
      if (!this.stopped) this.retryTimer = this.env.sys.after(LISTEN_RETRY_MS, () => this.listen());
    });
    server.listen({ host: this.env.listenAddress, port: this.port, exclusive: true, backlog: 128 }, () => {
      this.listening = true;
      this.listenError = null;
      this.env.log.info({ port: this.port, address: this.env.listenAddress, path: this.socket.path }, 'listening');
    });
  }

  private accept(tcp: Socket): void {
    const peer = tcp.remoteAddress ?? '';
    if (!inNetwork(peer, this.env.network)) {
      this.counters.refusedPeer++;
      this.logRefusal(peer, 'outside the configured network');
      tcp.destroy();
      return;
    }
    let active = 0;
    for (const c of this.conversations.keys()) if (!c.lingering) active++;
    if (active >= this.env.maxConnections) {
      this.counters.refusedLimit++;
      this.logRefusal(peer, `over the limit of ${this.env.maxConnections} connections`);
      tcp.destroy();
      return;
    }
    const id = ++nextConversation;
    // Looked at now, not at the last poll: a connection made just after a restart belongs to the
    // new daemon, and must not be closed with the old one's.
    const daemon = this.env.sys.socketIdentity(this.socket.path);
    try {
      const conv = new Conversation(tcp, {
        id,
        daemonPath: this.socket.path,
        // Unique across reloads and restarts: an old conversation still DETACHing, or the monitor
        // list of a daemon that outlived a previous agent, never shares a name with a new one.
        clientPath: `${this.env.runtimeDir}/${this.port}-${process.pid}-${id}`,
        limits: { ...this.env.limits, maxRequest: this.env.maxRequest || daemonRequestLimit(this.socket.path) },
        counters: this.counters,
        sys: this.env.sys,
        log: this.env.log,
        onClosed: (c) => this.conversations.delete(c),
      });
      this.conversations.set(conv, daemon);
      this.counters.connections++;
    } catch (err) {
      this.counters.errors++;
      this.env.log.error({ port: this.port, err: (err as Error).message }, 'cannot open a client socket');
      tcp.destroy();
    }
  }

  /** One line per peer per minute at most, with how many were not logged in between. */
  private logRefusal(peer: string, why: string): void {
    const now = this.env.sys.now();
    this.lastRefused = { peer, why, at: new Date(now).toISOString() };
    const entry = this.refusalLog.get(peer);
    if (entry && now - entry.last < REFUSAL_LOG_EVERY_MS) {
      entry.suppressed++;
      return;
    }
    this.env.log.warn({ port: this.port, peer, suppressed: entry?.suppressed ?? 0 }, `refused a connection: ${why}`);
    this.refusalLog.set(peer, { last: now, suppressed: 0 });
    if (this.refusalLog.size > 1024) this.refusalLog.clear(); // bounded, whatever the peers do
  }

  /**
   * Looks at the daemon's socket (on every change in its folder) and notices it appearing, disappearing or being replaced (daemon restarted):
   * monitors the old daemon held are gone with it, so the connections begun with it are closed
   * and the host's clients reconnect; those begun with the new one stay.
   */
  pollDaemon(): void {
    const id = this.env.sys.socketIdentity(this.socket.path);
    const prev = this.daemonId;
    if (id === prev) return;
    this.daemonId = id;
    const stale = [...this.conversations].filter(([, began]) => began !== id).map(([c]) => c);
    if (prev === undefined) {
      if (id === null) this.env.log.warn({ port: this.port, path: this.socket.path }, 'daemon socket not there yet; it will be used once it appears');
      return;
    }
    if (id === null) {
      this.env.log.warn({ port: this.port, path: this.socket.path, closing: stale.length }, 'daemon socket went away');
    } else if (prev === null) {
      this.env.log.info({ port: this.port, path: this.socket.path }, 'daemon socket appeared');
    } else {
      this.env.log.warn({ port: this.port, path: this.socket.path, closing: stale.length }, 'daemon restarted');
    }
    if (prev !== null) for (const c of stale) c.close('daemon went away');
  }

  /** Stops listening and closes every conversation; resolves once all client sockets are gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.daemonWatch?.close();
    this.retryTimer?.cancel();
    const server = this.server;
    this.server = null;
    this.listening = false;
    server?.close();
    for (const c of [...this.conversations.keys()]) c.close('agent stopping');
    await this.env.sys.until(() => this.conversations.size === 0, 500);
  }

  status(): PortStatus {
    let monitors = 0;
    let active = 0;
    const peers = new Set<string>();
    for (const c of this.conversations.keys()) {
      if (c.attached) monitors++;
      if (!c.lingering) active++;
      peers.add(c.peer.replace(/:\d+$/, ''));
    }
    return {
      port: this.port,
      path: this.socket.path,
      address: this.env.listenAddress,
      listening: this.listening,
      listenError: this.listenError,
      daemon: this.daemonId ? 'up' : 'down',
      active,
      monitors,
      peers: [...peers].slice(0, 64),
      lastRefused: this.lastRefused,
      counters: { ...this.counters },
    };
  }
}
