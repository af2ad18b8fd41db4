// A hand-written runtime check of `wifibox-diag --json` against the DiagReport type. Each object
// check is typed by the interface it checks, so a field added to the type and not here (or the
// other way round) does not compile; unknown fields in the data are errors, so the README's
// description cannot drift from what is printed.
import type * as R from './report';

type Check = (v: unknown, path: string, errors: string[]) => void;

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
const fail = (errors: string[], path: string, expected: string, v: unknown) => errors.push(`${path}: expected ${expected}, got ${describe(v)}`);

const string: Check = (v, p, e) => {
  if (typeof v !== 'string') fail(e, p, 'a string', v);
};
const number: Check = (v, p, e) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(e, p, 'a number', v);
};
const count: Check = (v, p, e) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(e, p, 'a whole number >= 0', v);
};
const boolean: Check = (v, p, e) => {
  if (typeof v !== 'boolean') fail(e, p, 'a boolean', v);
};
const isoTime: Check = (v, p, e) => {
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v)) || !/^\d{4}-\d\d-\d\dT/.test(v)) fail(e, p, 'an ISO 8601 time', v);
};
const oneOf =
  (...values: readonly (string | number)[]): Check =>
  (v, p, e) => {
    if (!values.includes(v as string | number)) e.push(`${p}: expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${JSON.stringify(v)}`);
  };
const nullable =
  (c: Check): Check =>
  (v, p, e) => {
    if (v !== null) c(v, p, e);
  };
const array =
  (c: Check): Check =>
  (v, p, e) => {
    if (!Array.isArray(v)) {
      fail(e, p, 'an array', v);
      return;
    }
    v.forEach((x, i) => c(x, `${p}[${i}]`, e));
  };
const record =
  (c: Check): Check =>
  (v, p, e) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      fail(e, p, 'an object', v);
      return;
    }
    for (const [k, x] of Object.entries(v)) c(x, `${p}.${k}`, e);
  };
function object<T>(fields: { [K in keyof T]-?: Check }): Check {
  return (v, p, e) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      fail(e, p, 'an object', v);
      return;
    }
    const o = v as Record<string, unknown>;
    for (const [k, c] of Object.entries(fields) as [string, Check][]) {
      if (!(k in o)) e.push(`${p}.${k}: missing`);
      else c(o[k], `${p}.${k}`, e);
    }
    for (const k of Object.keys(o)) if (!(k in fields)) e.push(`${p}.${k}: not part of the documented shape`);
  };
}

// A record, not a list: an id added to ProblemId and not here (or the other way round) does not compile.
const PROBLEM_IDS = Object.keys({
  'no-wireless-interface': 1,
  'wireless-daemon-down': 1,
  'wireless-control-socket': 1,
  'wireless-not-associated': 1,
  'wireless-auth-failed': 1,
  'access-point-disabled': 1,
  'no-wireless-lease': 1,
  'no-wireless-address': 1,
  'lan-no-address': 1,
  'dns-not-propagated': 1,
  'wireless-dns-not-answering': 1,
  'forwarding-off': 1,
  'nat-missing': 1,
  'init-unreachable': 1,
  'init-config': 1,
  'init-step-failed': 1,
  'daemon-restarting': 1,
  'daemon-failed': 1,
  'passthru-unreachable': 1,
  'passthru-not-listening': 1,
  'passthru-refusing-host': 1,
  'forward-unreachable': 1,
  'forward-config': 1,
  'forward-not-listening': 1,
  'memory-low': 1,
  'check-failed': 1,
  'no-default-route': 1,
} satisfies Record<R.ProblemId, 1>);

/** A source that may not answer: whether it did, and why not. */
const answered = { reachable: boolean, error: nullable(string) };

/** A port or line that listens for peers. */
const listener = { listening: boolean, listenError: nullable(string), active: count, peers: array(string) };

const agentFields = {
  endpoint: string,
  ...answered,
  version: nullable(string),
  pid: nullable(count),
  uptimeSec: nullable(number),
};

const report = object<R.DiagReport>({
  tool: oneOf('wifibox-diag'),
  version: string,
  generatedAt: isoTime,
  durationMs: number,
  health: oneOf('ok', 'degraded', 'down'),
  exitCode: oneOf(0, 1, 2),
  problems: array(
    object<R.Problem>({ id: oneOf(...PROBLEM_IDS), severity: oneOf('degraded', 'down'), summary: string, cause: string, fix: string, evidence: array(string) }),
  ),
  unreachable: array(object<R.Unreachable>({ what: string, path: string, error: string })),
  agents: object<R.DiagReport['agents']>({
    init: object<R.InitInfo>({
      ...agentFields,
      flavor: nullable(oneOf('station', 'access-point')),
      configProblems: array(string),
      steps: array(object<R.StepInfo>({ id: string, state: string, why: nullable(string), warnings: array(string) })),
      daemons: array(
        object<R.DaemonInfo>({
          name: string,
          state: string,
          pid: nullable(count),
          restarts: count,
          lastExit: nullable(string),
          since: nullable(isoTime),
          lastOutput: array(string),
        }),
      ),
      dnsRelay: nullable(
        object<R.DnsRelayInfo>({
          listening: array(string),
          servers: array(string),
          source: nullable(oneOf('wireless', 'fallback', 'none')),
          inFlight: nullable(count),
          counters: record(count),
          medianUpstreamMs: nullable(number),
          cache: nullable(object<R.DnsCacheInfo>({ capacity: count, names: count, bytes: count, hits: count, misses: count, flushes: count })),
          upstream: array(
            object<R.DnsUpstreamInfo>({
              server: string,
              sent: count,
              answered: count,
              lastAnswerAt: nullable(isoTime),
              timeouts: count,
              lastTimeoutAt: nullable(isoTime),
            }),
          ),
        }),
      ),
    }),
    passthru: object<R.PassthruInfo>({
      ...agentFields,
      state: nullable(string),
      network: nullable(string),
      waiting: nullable(string),
      configProblems: array(string),
    }),
    forward: object<R.ForwardInfo>({
      ...agentFields,
      state: nullable(string),
      user: nullable(string),
      config: string,
      configuredLines: nullable(count),
      configProblems: array(string),
    }),
  }),
  interfaces: object<R.DiagReport['interfaces']>({
    error: nullable(string),
    links: array(
      object<R.LinkInfo>({
        name: string,
        state: string,
        up: boolean,
        carrier: boolean,
        mac: nullable(string),
        mtu: nullable(count),
        addresses: array(object<R.LinkInfo['addresses'][number]>({ family: oneOf(4, 6), address: string, prefixLength: count, scope: nullable(string) })),
      }),
    ),
    routes: array(object<R.RouteInfo>({ dst: string, gateway: nullable(string), dev: nullable(string), protocol: nullable(string), src: nullable(string) })),
  }),
  wireless: object<R.WirelessInfo>({
    interface: string,
    present: boolean,
    daemon: oneOf('wpa_supplicant', 'hostapd'),
    daemonPids: array(count),
    controlSocket: string,
    reachable: boolean,
    error: nullable(string),
    station: nullable(
      object<R.StationInfo>({
        wpaState: nullable(string),
        ssid: nullable(string),
        bssid: nullable(string),
        frequencyMHz: nullable(number),
        keyMgmt: nullable(string),
        ipAddress: nullable(string),
        signal: nullable(
          object<NonNullable<R.StationInfo['signal']>>({ rssiDbm: nullable(number), linkSpeedMbps: nullable(number), noiseDbm: nullable(number) }),
        ),
        tempDisabledNetworks: array(object<R.StationInfo['tempDisabledNetworks'][number]>({ id: string, ssid: string })),
      }),
    ),
    accessPoint: nullable(
      object<R.AccessPointInfo>({
        state: nullable(string),
        ssid: nullable(string),
        bssid: nullable(string),
        channel: nullable(number),
        frequencyMHz: nullable(number),
        stations: array(
          object<R.AccessPointInfo['stations'][number]>({
            address: string,
            connectedSec: nullable(number),
            rxBytes: nullable(number),
            txBytes: nullable(number),
            signalDbm: nullable(number),
          }),
        ),
      }),
    ),
    pci: array(object<R.PciDevice>({ slot: string, class: nullable(string), driver: nullable(string), wireless: boolean })),
  }),
  dhcp: object<R.DhcpInfo>({
    wireless: nullable(
      object<R.WirelessLeaseInfo>({
        interface: string,
        address: nullable(string),
        prefixLength: nullable(count),
        router: nullable(string),
        server: nullable(string),
        leaseSeconds: nullable(number),
        obtainedAt: nullable(isoTime),
        expiresAt: nullable(isoTime),
        dns: array(string),
        domain: nullable(string),
        search: array(string),
      }),
    ),
    udhcpd: object<R.DhcpInfo['udhcpd']>({
      config: string,
      configError: nullable(string),
      configDns: array(string),
      dnsKnown: nullable(boolean),
      leaseFile: string,
      leaseFileError: nullable(string),
      writtenAt: nullable(isoTime),
      leases: array(object<R.UdhcpdLeaseInfo>({ address: string, mac: string, hostname: nullable(string), expiresAt: isoTime, expired: boolean })),
    }),
  }),
  nat: object<R.NatInfo>({
    forwarding: nullable(boolean),
    forwardingError: nullable(string),
    error: nullable(string),
    masquerade: boolean,
    rules: array(object<R.NatRule>({ chain: string, rule: string, target: nullable(string), packets: count, bytes: count })),
  }),
  passthrough: object<R.PassthroughInfo>({
    ...answered,
    ports: array(
      object<R.PassthruPortInfo>({ port: count, ...listener, path: string, address: string, daemon: string, monitors: count, counters: record(count) }),
    ),
  }),
  forward: object<R.ForwardSectionInfo>({
    ...answered,
    lines: array(
      object<R.ForwardLineInfo>({
        line: count,
        ...listener,
        text: string,
        kind: string,
        listen: string,
        target: string,
        fork: boolean,
        range: nullable(string),
        counters: record(count),
      }),
    ),
  }),
  memory: object<R.MemoryInfo>({
    error: nullable(string),
    totalKiB: nullable(count),
    availableKiB: nullable(count),
    availablePercent: nullable(number),
    processes: array(object<R.ProcessMemory>({ name: string, pid: count, rssKiB: nullable(count), privateKiB: nullable(count), error: nullable(string) })),
  }),
  log: object<R.LogInfo>({
    file: string,
    error: nullable(string),
    authLines: array(string),
    lines: array(object<R.LogLine>({ text: string, program: string, level: oneOf('emerg', 'alert', 'crit', 'err', 'warn') })),
  }),
  kernel: object<R.KernelInfo>({ source: string, error: nullable(string), wirelessLines: array(string) }),
});

/** Every way the value differs from the documented shape; empty when it matches. */
export function validateReport(value: unknown): string[] {
  const errors: string[] = [];
  report(value, '$', errors);
  return errors;
}
