// The shape of `wifibox-diag --json` (documented in docs/diag.md; shape.ts checks a report against it, and the tests run every report they make through that check).
// It is our own projection of the agents' status, not a copy: an agent may change its status
// without changing this contract.

export type Health = 'ok' | 'degraded' | 'down';
export type Severity = 'degraded' | 'down';

export type ProblemId =
  | 'no-wireless-interface'
  | 'wireless-daemon-down'
  | 'wireless-control-socket'
  | 'wireless-not-associated'
  | 'wireless-auth-failed'
  | 'access-point-disabled'
  | 'no-wireless-lease'
  | 'no-wireless-address'
  | 'lan-no-address'
  | 'dns-not-propagated'
  | 'wireless-dns-not-answering'
  | 'forwarding-off'
  | 'nat-missing'
  | 'init-unreachable'
  | 'init-config'
  | 'init-step-failed'
  | 'daemon-restarting'
  | 'daemon-failed'
  | 'passthru-unreachable'
  | 'passthru-not-listening'
  | 'passthru-refusing-host'
  | 'forward-unreachable'
  | 'forward-config'
  | 'forward-not-listening'
  | 'memory-low'
  | 'check-failed'
  | 'no-default-route';

export interface Problem {
  id: ProblemId;
  severity: Severity;
  /** What is wrong, in one line. */
  summary: string;
  /** The likely cause, in words a user understands. */
  cause: string;
  /** What to do about it. */
  fix: string;
  /** The facts it was concluded from (status fields, log lines, kernel lines). */
  evidence: string[];
}

/** A source that could not be read, and why (e.g. ENOENT). */
export interface Unreachable {
  what: string;
  path: string;
  error: string;
}

export interface StepInfo {
  id: string;
  state: string;
  why: string | null;
  warnings: string[];
}

export interface DaemonInfo {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  lastExit: string | null;
  since: string | null;
  /** A daemon in trouble (failed, or restarted): the last lines it printed (its output file in wifibox-init's run folder). */
  lastOutput: string[];
}

export interface AgentInfo {
  endpoint: string;
  reachable: boolean;
  error: string | null;
  version: string | null;
  pid: number | null;
  uptimeSec: number | null;
}

export interface InitInfo extends AgentInfo {
  flavor: 'station' | 'access-point' | null;
  configProblems: string[];
  steps: StepInfo[];
  daemons: DaemonInfo[];
  /** The DNS relay inside wifibox-init; null when it does not run (relay = no, the access point, an older agent). */
  dnsRelay: DnsRelayInfo | null;
}

/** How one upstream server has answered the relay since wifibox-init started. */
export interface DnsUpstreamInfo {
  server: string;
  sent: number;
  /** Each count with its latest time (null: never). */
  answered: number;
  lastAnswerAt: string | null;
  timeouts: number;
  lastTimeoutAt: string | null;
}

export interface DnsRelayInfo {
  /** The guest's own LAN addresses it answers on; empty when it could not listen anywhere. */
  listening: string[];
  /** The servers it asks now, in the order it tries them. */
  servers: string[];
  /** wireless: from the wireless network's DHCP; fallback: the fixed ones of udhcpd.conf/radvd.conf. */
  source: 'wireless' | 'fallback' | 'none' | null;
  inFlight: number | null;
  /** queries, tcpQueries, answered, truncated, servfail, dropped*: as the agent counts them, since it started. */
  counters: Record<string, number>;
  /** The current servers first, then those asked before. */
  upstream: DnsUpstreamInfo[];
  medianUpstreamMs: number | null;
  /** The answer cache; null when this wifibox-init has none. */
  cache: DnsCacheInfo | null;
}

export interface DnsCacheInfo {
  /** Names it keeps at most (0: turned off). */
  capacity: number;
  names: number;
  bytes: number;
  hits: number;
  misses: number;
  /** Emptied: another network, or SIGHUP. */
  flushes: number;
}

export interface PassthruInfo extends AgentInfo {
  state: string | null;
  network: string | null;
  waiting: string | null;
  configProblems: string[];
}

/** wifibox-forward, the optional `forwarding` service. */
export interface ForwardInfo extends AgentInfo {
  state: string | null;
  /** The user it serves as (root dropped); null: as it was started, or not told. */
  user: string | null;
  /** forwarding.conf as this command looked at it. */
  config: string;
  /** Its lines that are neither blank nor comments; null: it could not be read (ENOENT: forwarding is not set up). */
  configuredLines: number | null;
  configProblems: string[];
}

export interface LinkInfo {
  name: string;
  /** The kernel's operstate: UP, DOWN, UNKNOWN, LOWERLAYERDOWN, ... */
  state: string;
  up: boolean;
  carrier: boolean;
  mac: string | null;
  mtu: number | null;
  addresses: { family: 4 | 6; address: string; prefixLength: number; scope: string | null }[];
}

export interface RouteInfo {
  dst: string;
  gateway: string | null;
  dev: string | null;
  protocol: string | null;
  src: string | null;
}

export interface PciDevice {
  slot: string;
  class: string | null;
  driver: string | null;
  /** A network controller (class 0x0280) or a device with a wireless interface. */
  wireless: boolean;
}

export interface StationInfo {
  wpaState: string | null;
  ssid: string | null;
  bssid: string | null;
  frequencyMHz: number | null;
  keyMgmt: string | null;
  ipAddress: string | null;
  /** SIGNAL_POLL; null when the driver does not tell (FAIL). */
  signal: { rssiDbm: number | null; linkSpeedMbps: number | null; noiseDbm: number | null } | null;
  /** Networks wpa_supplicant has disabled for a while after failed attempts (a wrong key, often). */
  tempDisabledNetworks: { id: string; ssid: string }[];
}

export interface AccessPointInfo {
  state: string | null;
  ssid: string | null;
  bssid: string | null;
  channel: number | null;
  frequencyMHz: number | null;
  stations: { address: string; connectedSec: number | null; rxBytes: number | null; txBytes: number | null; signalDbm: number | null }[];
}

export interface WirelessInfo {
  interface: string;
  present: boolean;
  daemon: 'wpa_supplicant' | 'hostapd';
  /** PIDs of the daemon's processes in this network namespace. */
  daemonPids: number[];
  controlSocket: string;
  reachable: boolean;
  error: string | null;
  station: StationInfo | null;
  accessPoint: AccessPointInfo | null;
  pci: PciDevice[];
}

export interface WirelessLeaseInfo {
  interface: string;
  address: string | null;
  prefixLength: number | null;
  router: string | null;
  server: string | null;
  leaseSeconds: number | null;
  obtainedAt: string | null;
  expiresAt: string | null;
  dns: string[];
  domain: string | null;
  search: string[];
}

export interface UdhcpdLeaseInfo {
  address: string;
  mac: string;
  hostname: string | null;
  expiresAt: string;
  expired: boolean;
}

export interface DhcpInfo {
  /** wlan0's lease, as wifibox-init has it; null when there is none or init is unreachable. */
  wireless: WirelessLeaseInfo | null;
  udhcpd: {
    config: string;
    configError: string | null;
    /** DNS servers the rendered config hands out. */
    configDns: string[];
    /** init's own word on whether the wireless DNS is in the config (null: init unreachable). */
    dnsKnown: boolean | null;
    leaseFile: string;
    leaseFileError: string | null;
    writtenAt: string | null;
    leases: UdhcpdLeaseInfo[];
  };
}

export interface NatRule {
  chain: string;
  rule: string;
  target: string | null;
  packets: number;
  bytes: number;
}

export interface NatInfo {
  forwarding: boolean | null;
  forwardingError: string | null;
  error: string | null;
  rules: NatRule[];
  masquerade: boolean;
}

export interface PassthruPortInfo {
  port: number;
  path: string;
  address: string;
  listening: boolean;
  listenError: string | null;
  daemon: string;
  active: number;
  monitors: number;
  peers: string[];
  counters: Record<string, number>;
}

export interface PassthroughInfo {
  reachable: boolean;
  error: string | null;
  ports: PassthruPortInfo[];
}

export interface ForwardLineInfo {
  /** Its line in forwarding.conf, and the line itself. */
  line: number;
  text: string;
  /** udp-recv, udp-listen or tcp-listen; with fork, one association or connection per peer. */
  kind: string;
  fork: boolean;
  /** ADDRESS:PORT it listens on, and whether it does (or why not). */
  listen: string;
  listening: boolean;
  listenError: string | null;
  /** ADDRESS:PORT it forwards to. */
  target: string;
  /** Which peers it serves (range=), null: any; the associations or connections open, and their peers. */
  range: string | null;
  active: number;
  peers: string[];
  /** datagrams, replies, connections, bytes, refused*, dropped, idleClosed, errors: as the agent counts them. */
  counters: Record<string, number>;
}

export interface ForwardSectionInfo {
  reachable: boolean;
  error: string | null;
  lines: ForwardLineInfo[];
}

export interface ProcessMemory {
  name: string;
  pid: number;
  rssKiB: number | null;
  privateKiB: number | null;
  error: string | null;
}

export interface MemoryInfo {
  error: string | null;
  totalKiB: number | null;
  availableKiB: number | null;
  availablePercent: number | null;
  processes: ProcessMemory[];
}

export interface LogLine {
  /** The line as written, trimmed. */
  text: string;
  program: string;
  level: 'emerg' | 'alert' | 'crit' | 'err' | 'warn';
}

export interface LogInfo {
  file: string;
  error: string | null;
  /** The latest lines of our agents and the daemons at warning level or worse, newest last. */
  lines: LogLine[];
  /** The latest wpa_supplicant/hostapd lines about failed authentication (any level). */
  authLines: string[];
}

export interface KernelInfo {
  source: string;
  error: string | null;
  /** Lines about wireless drivers and firmware, newest last. */
  wirelessLines: string[];
}

export interface DiagReport {
  tool: 'wifibox-diag';
  version: string;
  generatedAt: string;
  durationMs: number;
  health: Health;
  /** 0 healthy, 1 degraded, 2 down. */
  exitCode: 0 | 1 | 2;
  problems: Problem[];
  unreachable: Unreachable[];
  agents: { init: InitInfo; passthru: PassthruInfo; forward: ForwardInfo };
  interfaces: { error: string | null; links: LinkInfo[]; routes: RouteInfo[] };
  wireless: WirelessInfo;
  dhcp: DhcpInfo;
  nat: NatInfo;
  passthrough: PassthroughInfo;
  forward: ForwardSectionInfo;
  memory: MemoryInfo;
  log: LogInfo;
  kernel: KernelInfo;
}

/** Everything gathered, before the verdict. */
export type Facts = Omit<DiagReport, 'tool' | 'version' | 'generatedAt' | 'durationMs' | 'health' | 'exitCode' | 'problems'>;
