// The agents' status endpoints (one JSON document, then EOF), projected into the report's shape.
// Read defensively: the agent may be an older or newer build than this command.
import { join } from 'node:path';
import type { ForwardLineStatus, ForwardStatus, InitStatus, PassthruStatus, RelayCacheStatus, RelayStatus, UpstreamStats } from '../common/status';
import type { DiagOptions } from './options';
import type {
  AgentInfo,
  DaemonInfo,
  DnsRelayInfo,
  ForwardInfo,
  ForwardLineInfo,
  InitInfo,
  PassthruInfo,
  PassthruPortInfo,
  StepInfo,
  WirelessLeaseInfo,
} from './report';
import type { DiagSystem } from './system';
import { arr, count, counts, errText, isObject, isoTime, num, str, strings } from './util';

/** What the init status says beyond the agents section: the wireless lease, DNS, udhcpd, forwarding. */
export interface InitView {
  info: InitInfo;
  lease: WirelessLeaseInfo | null;
  udhcpd: { config: string | null; dnsKnown: boolean | null } | null;
  forwarding: boolean | null;
}

interface PassthruView {
  info: PassthruInfo;
  ports: PassthruPortInfo[];
}

interface ForwardView {
  info: ForwardInfo;
  lines: ForwardLineInfo[];
}

type Loose<T> = { [K in keyof T]?: unknown };

async function fetchStatus(sys: DiagSystem, path: string, timeoutMs: number): Promise<{ doc: Record<string, unknown> } | { error: string }> {
  let text: string;
  try {
    text = await sys.readStream(path, timeoutMs);
  } catch (err) {
    return { error: errText(err) };
  }
  try {
    const doc: unknown = JSON.parse(text);
    return isObject(doc) ? { doc } : { error: 'answered with something other than a JSON object' };
  } catch {
    return { error: `answered with malformed JSON (${text.length} bytes)` };
  }
}

function agentBase(endpoint: string, doc: Record<string, unknown> | null, error: string | null): AgentInfo {
  return {
    endpoint,
    reachable: doc !== null,
    error,
    version: doc ? str(doc.version) : null,
    pid: doc ? num(doc.pid) : null,
    uptimeSec: doc ? num(doc.uptimeSec) : null,
  };
}

/** The relay's status; null when it does not run (or an older wifibox-init says nothing of it). */
function readRelay(v: unknown): DnsRelayInfo | null {
  if (!isObject(v)) return null;
  const r = v as Loose<RelayStatus>;
  const upstream = arr(r.upstream)
    .filter(isObject)
    .map((x) => {
      const u = x as Loose<UpstreamStats>;
      return {
        server: str(u.server) ?? '?',
        sent: count(u.sent) ?? 0,
        answered: count(u.answered) ?? 0,
        lastAnswerAt: isoTime(u.lastAnswerAt),
        timeouts: count(u.timeouts) ?? 0,
        lastTimeoutAt: isoTime(u.lastTimeoutAt),
      };
    });
  const source = r.source === 'wireless' || r.source === 'fallback' || r.source === 'none' ? r.source : null;
  const c = isObject(r.cache) ? (r.cache as Loose<RelayCacheStatus>) : null;
  const cache = c
    ? {
        capacity: count(c.capacity) ?? 0,
        names: count(c.names) ?? 0,
        bytes: count(c.bytes) ?? 0,
        hits: count(c.hits) ?? 0,
        misses: count(c.misses) ?? 0,
        flushes: count(c.flushes) ?? 0,
      }
    : null;
  return {
    listening: strings(r.listening),
    servers: strings(r.servers),
    source,
    inFlight: count(r.inFlight),
    counters: counts(r.counters),
    upstream,
    medianUpstreamMs: num(r.medianUpstreamMs),
    cache,
  };
}

/** Lines of a daemon's output shown at most: the reason it died is in its last words. */
const OUTPUT_LINES = 5;

/** Where wifibox-init keeps a daemon's output (`<run dir>/<name>.out`); null for a name that is no file name of its. */
export function daemonOutputFile(opts: DiagOptions, name: string): string | null {
  return /^[a-z0-9_-]+$/.test(name) ? join(opts.initRunDir, `${name}.out`) : null;
}

/** The last lines a daemon printed; none when there is no such file. */
function lastOutput(sys: DiagSystem, opts: DiagOptions, name: string): string[] {
  const file = daemonOutputFile(opts, name);
  if (file === null) return [];
  try {
    const lines = sys
      .readText(file)
      .split('\n')
      .map((l) => l.replace(/[^\x20-\x7e\t]/g, '?').trimEnd())
      .filter(Boolean);
    return lines.slice(-OUTPUT_LINES);
  } catch {
    return [];
  }
}

export async function readInit(sys: DiagSystem, opts: DiagOptions): Promise<InitView> {
  const r = await fetchStatus(sys, opts.initSocket, opts.timeoutMs);
  const doc = 'doc' in r ? (r.doc as Loose<InitStatus>) : null;
  const base = agentBase(opts.initSocket, doc as Record<string, unknown> | null, 'error' in r ? r.error : null);
  if (!doc) {
    return { info: { ...base, flavor: null, configProblems: [], steps: [], daemons: [], dnsRelay: null }, lease: null, udhcpd: null, forwarding: null };
  }
  const flavor = doc.flavor === 'station' || doc.flavor === 'access-point' ? doc.flavor : null;
  const steps: StepInfo[] = arr(doc.steps)
    .filter(isObject)
    .map((s) => ({
      id: str(s.id) ?? '?',
      state: str(s.state) ?? '?',
      why: str(s.why),
      warnings: strings(s.warnings),
    }));
  const daemons: DaemonInfo[] = arr(doc.daemons)
    .filter(isObject)
    .map((d) => {
      const name = str(d.name) ?? '?';
      const state = str(d.state) ?? '?';
      const restarts = num(d.restarts) ?? 0;
      // Only a daemon in trouble: its last words say why.
      const output = state === 'failed' || restarts > 0 ? lastOutput(sys, opts, name) : [];
      return { name, state, pid: num(d.pid), restarts, lastExit: str(d.lastExit), since: isoTime(d.since), lastOutput: output };
    });
  const dns = isObject(doc.dns) ? doc.dns : {};
  let lease: WirelessLeaseInfo | null = null;
  if (isObject(doc.lease)) {
    const l = doc.lease;
    const obtainedAt = isoTime(l.obtainedAt);
    const leaseSeconds = num(l.leaseSeconds);
    const expires = obtainedAt && leaseSeconds !== null ? new Date(Date.parse(obtainedAt) + leaseSeconds * 1000) : null;
    lease = {
      interface: str(l.iface) ?? opts.wirelessInterface,
      address: str(l.address),
      prefixLength: num(l.prefixLength),
      router: str(l.router),
      server: str(l.server),
      leaseSeconds,
      obtainedAt,
      expiresAt: expires && !Number.isNaN(expires.getTime()) ? expires.toISOString() : null,
      dns: strings(dns.dns),
      domain: str(dns.domain),
      search: strings(dns.search),
    };
  }
  const u = isObject(doc.udhcpd) ? doc.udhcpd : null;
  const fwd = isObject(doc.forwarding) ? doc.forwarding.v4 : null;
  return {
    info: { ...base, flavor, configProblems: strings(doc.problems), steps, daemons, dnsRelay: readRelay(doc.dnsRelay) },
    lease,
    udhcpd: u ? { config: str(u.config), dnsKnown: typeof u.dnsKnown === 'boolean' ? u.dnsKnown : null } : null,
    forwarding: typeof fwd === 'boolean' ? fwd : null,
  };
}

export async function readPassthru(sys: DiagSystem, opts: DiagOptions): Promise<PassthruView> {
  const r = await fetchStatus(sys, opts.passthruSocket, opts.timeoutMs);
  const doc = 'doc' in r ? (r.doc as Loose<PassthruStatus>) : null;
  const base = agentBase(opts.passthruSocket, doc as Record<string, unknown> | null, 'error' in r ? r.error : null);
  if (!doc) return { info: { ...base, state: null, network: null, waiting: null, configProblems: [] }, ports: [] };
  const ports: PassthruPortInfo[] = arr(doc.ports)
    .filter(isObject)
    .map((p) => {
      return {
        port: num(p.port) ?? 0,
        path: str(p.path) ?? '?',
        address: str(p.address) ?? '?',
        listening: p.listening === true,
        listenError: str(p.listenError),
        daemon: str(p.daemon) ?? '?',
        active: num(p.active) ?? 0,
        monitors: num(p.monitors) ?? 0,
        peers: strings(p.peers),
        counters: counts(p.counters),
      };
    });
  return {
    info: { ...base, state: str(doc.state), network: str(doc.network), waiting: str(doc.waiting), configProblems: strings(doc.problems) },
    ports,
  };
}

/** forwarding.conf's lines that are neither blank nor comments (as the old service skipped them); null when unreadable. */
function configuredForwards(sys: DiagSystem, file: string): number | null {
  try {
    return sys
      .readText(file)
      .split('\n')
      .filter((l) => l.replace(/#.*/, '').trim() !== '').length;
  } catch {
    return null;
  }
}

export async function readForward(sys: DiagSystem, opts: DiagOptions): Promise<ForwardView> {
  const r = await fetchStatus(sys, opts.forwardSocket, opts.timeoutMs);
  const doc = 'doc' in r ? (r.doc as Loose<ForwardStatus>) : null;
  const base = agentBase(opts.forwardSocket, doc as Record<string, unknown> | null, 'error' in r ? r.error : null);
  const config = (doc && str(doc.config)) ?? `${opts.confDir}/forwarding.conf`;
  const info: ForwardInfo = {
    ...base,
    state: doc ? str(doc.state) : null,
    user: doc ? str(doc.user) : null,
    config,
    configuredLines: configuredForwards(sys, config),
    configProblems: doc ? strings(doc.problems) : [],
  };
  const lines = arr(doc?.lines)
    .filter(isObject)
    .map((x): ForwardLineInfo => {
      const l = x as Loose<ForwardLineStatus>;
      return {
        line: count(l.line) ?? 0,
        text: str(l.text) ?? '?',
        kind: str(l.kind) ?? '?',
        listen: str(l.listen) ?? '?',
        target: str(l.target) ?? '?',
        fork: l.fork === true,
        range: str(l.range),
        listening: l.listening === true,
        listenError: str(l.listenError),
        active: count(l.active) ?? 0,
        peers: strings(l.peers),
        counters: counts(l.counters),
      };
    });
  return { info, lines };
}
