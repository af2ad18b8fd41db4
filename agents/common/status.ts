// What the agents' status endpoints answer (one JSON document, then EOF): written by wifibox-init,
// wifibox-passthru and wifibox-forward, read by wifibox-diag. docs/init.md, docs/passthru.md and
// docs/forward.md describe the fields.

/** From wlan0 in interfaces.conf: `dhcp` is the station flavor, `inet static` the access point. */
export type GuestFlavor = 'station' | 'access-point';

// ---------------------------------------------------------------------------------------------
// wifibox-init

export type StepState = 'pending' | 'running' | 'ok' | 'failed' | 'blocked';

export interface StepStatus {
  id: string;
  what: string;
  after: string[];
  state: StepState;
  why: string | null;
  warnings: string[];
  at: string | null;
}

export interface DaemonStatus {
  name: string;
  /**
   * failed: it could not be started at all (not installed), and is not retried; waiting: stopped
   * on purpose until what it needs is back (dhcpcd while the wireless interface is gone).
   */
  state: 'starting' | 'running' | 'backoff' | 'stopped' | 'failed' | 'waiting';
  pid: number | null;
  restarts: number;
  lastExit: string | null;
  /** When it last exited on its own: with restarts, tells a crash loop from an old crash. */
  lastExitAt: string | null;
  since: string | null;
}

/** What the wireless network's DHCP gave wlan0, as dhcpcd's hook reported it. */
export interface WirelessLease {
  iface: string;
  address: string | null;
  prefixLength: number | null;
  router: string | null;
  server: string | null;
  leaseSeconds: number | null;
  obtainedAt: string | null;
}

export interface WirelessDns {
  dns: string[]; // IPv4 name servers
  dns6: string[]; // IPv6 name servers (RA RDNSS or DHCPv6)
  domain: string | null;
  search: string[];
}

export interface InitStatus {
  agent: 'wifibox-init';
  version: string;
  pid: number;
  startedAt: string;
  uptimeSec: number;
  flavor: GuestFlavor;
  configDir: string;
  problems: string[];
  steps: StepStatus[];
  daemons: DaemonStatus[];
  lease: WirelessLease | null;
  /** dhcpcd's last event as the hook reported it (BOUND, RENEW, EXPIRE, NAK, NOCARRIER, …). */
  leaseEvent: { reason: string; at: string } | null;
  dns: WirelessDns;
  udhcpd: { config: string; leaseSeconds: number | null; dnsKnown: boolean; renderedAt: string | null } | null;
  /** As the kernel has it now (null: unreadable), whoever set it. */
  forwarding: { v4: boolean | null; v6: boolean | null };
  /** The DNS relay; null when it does not run (relay = no, or the access-point flavor). */
  dnsRelay: RelayStatus | null;
}

// The DNS relay inside wifibox-init.

export interface UpstreamStats {
  server: string;
  sent: number;
  answered: number;
  timeouts: number;
  lastAnswerAt: string | null;
  lastTimeoutAt: string | null;
}

export interface RelayCounters {
  queries: number;
  tcpQueries: number;
  answered: number;
  /** Answers sent with the TC bit, as the server gave them (the host then asks over TCP). */
  truncated: number;
  /** No server answered in time (or none was known): SERVFAIL sent. */
  servfail: number;
  droppedMalformed: number;
  droppedOversized: number;
  /** More queries in flight than allowed. */
  droppedOverload: number;
  /** From outside the LAN network: never answered. */
  droppedOutsidePeer: number;
}

export type ServerSource = 'wireless' | 'fallback' | 'none';

export interface RelayStatus {
  listening: string[];
  servers: string[];
  /** Where the servers come from: the wireless network's DHCP, or the fixed ones of the configs. */
  source: ServerSource;
  inFlight: number;
  counters: RelayCounters;
  upstream: UpstreamStats[];
  medianUpstreamMs: number | null;
  cache: RelayCacheStatus;
}

/** The relay's answer cache (capacity 0: turned off); hits, misses and flushes since it started. */
export interface RelayCacheStatus {
  capacity: number;
  names: number;
  bytes: number;
  hits: number;
  misses: number;
  flushes: number;
}

// ---------------------------------------------------------------------------------------------
// wifibox-passthru

/** Per port, since the agent started (a reload that keeps the port keeps them). */
export interface PortCounters {
  connections: number; // TCP connections accepted and bridged
  requests: number; // datagrams sent to the daemon
  replies: number; // datagrams from the daemon that answer a request
  events: number; // unsolicited messages ("<N>...") to attached monitors
  emptyReplies: number; // zero-length replies, sent to the host as "\n"
  bytesIn: number; // from the host
  bytesOut: number; // to the host
  refusedPeer: number; // connections from outside `network`
  refusedLimit: number; // connections over the per-port limit
  oversized: number; // requests larger than the daemon takes, refused
  dropped: number; // datagrams dropped because the host did not read fast enough
  errors: number; // daemon unreachable, bind failures, and the like
}

export interface PortStatus {
  port: number;
  path: string;
  address: string;
  listening: boolean;
  listenError: string | null;
  daemon: 'up' | 'down';
  active: number;
  monitors: number;
  peers: string[];
  /** The last connection refused (outside network=, or over the limit), so growth is visible. */
  lastRefused: { peer: string; why: string; at: string } | null;
  counters: PortCounters;
}

export interface PassthruStatus {
  agent: 'wifibox-passthru';
  version: string;
  pid: number;
  startedAt: string;
  uptimeSec: number;
  config: string;
  /** 'serving', 'waiting-for-address' (no eth0 address yet) or 'no-sockets'. */
  state: 'serving' | 'waiting-for-address' | 'no-sockets';
  address: string | null;
  network: string | null;
  problems: string[];
  /** Why nothing listens yet, while state is 'waiting-for-address'. */
  waiting: string | null;
  ports: PortStatus[];
}

// ---------------------------------------------------------------------------------------------
// wifibox-forward

/** Per line of forwarding.conf, since the agent started (a reload that keeps the line keeps them). */
export interface ForwardCounters {
  /** UDP: datagrams from peers sent on to the target; TCP: connections accepted and joined to the target. */
  datagrams: number;
  /** UDP: datagrams from the target sent back to a peer. */
  replies: number;
  connections: number;
  bytesIn: number; // from peers toward the target
  bytesOut: number; // from the target back to peers
  refusedPeer: number; // outside range=
  refusedLimit: number; // over the peer or connection limit (1 without fork)
  /** Datagrams not delivered: a reply a receive-only line cannot send back, a full send queue. */
  dropped: number;
  idleClosed: number; // associations or connections closed after the idle timeout
  errors: number; // the target refused or was unreachable, send and socket errors
}

export interface ForwardLineStatus {
  line: number;
  /** The line as read, comments and extra blanks left out. */
  text: string;
  kind: 'udp-recv' | 'udp-listen' | 'tcp-listen';
  /** ADDRESS:PORT it listens or receives on (0.0.0.0: every address, as socat does without bind=). */
  listen: string;
  target: string;
  fork: boolean;
  /** range= as ADDRESS/BITS (or ADDRESS:MASK), null: any peer. */
  range: string | null;
  listening: boolean;
  listenError: string | null;
  /** UDP associations (one per peer) or TCP connections open now. */
  active: number;
  peers: string[];
  lastRefused: { peer: string; why: string; at: string } | null;
  counters: ForwardCounters;
}

export interface ForwardStatus {
  agent: 'wifibox-forward';
  version: string;
  pid: number;
  startedAt: string;
  uptimeSec: number;
  config: string;
  /** The user it serves as once root is dropped (null: it runs as it was started). */
  user: string | null;
  /** 'serving' (at least one line), 'no-lines' (none usable, or no file). */
  state: 'serving' | 'no-lines';
  /** FILE:LINE: severity: message, from the last load; an error line is not served. */
  problems: string[];
  lines: ForwardLineStatus[];
}
