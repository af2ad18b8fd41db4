// The report for a person on the guest's console: the verdict first, then one section per
// subject. Plain ASCII and short lines: it is read on a serial console as often as over ssh.
import type { DaemonInfo, DiagReport, DnsRelayInfo, Problem } from './report';
import { duration, kib } from './util';

function verdict(r: DiagReport): string[] {
  if (r.health === 'ok') return ["OK: the guest is up and routes the host's traffic"];
  const n = r.problems.length;
  const head = `${r.health.toUpperCase()}: ${n} problem${n === 1 ? '' : 's'} (exit ${r.exitCode})`;
  return [head, ...r.problems.flatMap(problemLines)];
}

function problemLines(p: Problem): string[] {
  const lines = [`  * [${p.severity}] ${p.summary}  (${p.id})`, `      cause: ${p.cause}`, `      fix:   ${p.fix}`];
  for (const e of p.evidence.slice(0, 8)) lines.push(`      - ${e}`);
  if (p.evidence.length > 8) lines.push(`      - ... ${p.evidence.length - 8} more in --json`);
  return lines;
}

const ago = (iso: string | null, now: Date) => (iso ? duration((now.getTime() - Date.parse(iso)) / 1000) : '?');
const until = (iso: string | null, now: Date) => {
  if (!iso) return '?';
  const s = (Date.parse(iso) - now.getTime()) / 1000;
  return s >= 0 ? `in ${duration(s)}` : `${duration(-s)} ago`;
};

function agents(r: DiagReport, now: Date): string[] {
  const { init, passthru, forward } = r.agents;
  const out = ['agents'];
  if (init.reachable) {
    out.push(`  wifibox-init      ${init.version ?? '?'}  pid ${init.pid ?? '?'}  up ${duration(init.uptimeSec ?? 0)}  flavor ${init.flavor ?? '?'}`);
    const notOk = init.steps.filter((s) => s.state !== 'ok');
    out.push(
      `    steps: ${init.steps.filter((s) => s.state === 'ok').length} of ${init.steps.length} ok${notOk.length ? '' : ` (${init.steps.map((s) => s.id).join(', ')})`}`,
    );
    for (const s of notOk) out.push(`      ${s.id}: ${s.state}${s.why ? ` - ${s.why}` : ''}`);
    for (const s of init.steps) for (const w of s.warnings) out.push(`      ${s.id} warning: ${w}`);
    for (const d of init.daemons) {
      out.push(daemonLine(d, now));
      // A daemon in trouble: its last words, as it printed them.
      for (const l of d.lastOutput) out.push(`      | ${l}`);
    }
    if (init.dnsRelay) out.push(...relayLines(init.dnsRelay, now));
    else if (init.flavor === 'station') out.push('    dns relay: off (the host is given the wireless DNS itself)');
    for (const p of init.configProblems) out.push(`    config: ${p}`);
  } else {
    out.push(`  wifibox-init      not reachable at ${init.endpoint} (${init.error})`);
  }
  if (passthru.reachable) {
    out.push(
      `  wifibox-passthru  ${passthru.version ?? '?'}  pid ${passthru.pid ?? '?'}  up ${duration(passthru.uptimeSec ?? 0)}  ${passthru.state ?? '?'}${passthru.network ? ` on ${passthru.network}` : ''}`,
    );
    if (passthru.waiting) out.push(`    waiting: ${passthru.waiting}`);
    for (const p of passthru.configProblems) out.push(`    config: ${p}`);
  } else {
    out.push(`  wifibox-passthru  not reachable at ${passthru.endpoint} (${passthru.error})`);
  }
  if (forward.reachable) {
    out.push(
      `  wifibox-forward   ${forward.version ?? '?'}  pid ${forward.pid ?? '?'}  up ${duration(forward.uptimeSec ?? 0)}  ${forward.state ?? '?'} (${forward.config})${forward.user ? `  as ${forward.user}` : ''}`,
    );
    for (const p of forward.configProblems) out.push(`    config: ${p}`);
  } else if (forward.error === 'ENOENT' && !forward.configuredLines) {
    out.push(`  wifibox-forward   not running (optional: ${forward.config} has no lines)`);
  } else {
    out.push(`  wifibox-forward   not reachable at ${forward.endpoint} (${forward.error})`);
  }
  return out;
}

function daemonLine(d: DaemonInfo, now: Date): string {
  const head = `    ${d.name.padEnd(8)} ${(d.state === 'failed' ? 'FAILED' : d.state).padEnd(8)}`;
  // Here lastExit says why it does not run, not how a run ended.
  if (d.state === 'failed') return `${head} ${d.lastExit ?? 'could not be started'}; not retried`;
  if (d.state === 'waiting') return `${head} ${d.lastExit ?? 'waiting'}`;
  return `${head} pid ${String(d.pid ?? '-').padEnd(7)} restarts ${d.restarts}${d.lastExit ? `  last ${d.lastExit}` : ''}${d.since ? `  since ${ago(d.since, now)} ago` : ''}`;
}

const DROPPED: Record<string, string> = {
  droppedMalformed: 'malformed',
  droppedOversized: 'oversized',
  droppedOverload: 'overload',
  droppedOutsidePeer: 'from outside the LAN',
};

function relayLines(r: DnsRelayInfo, now: Date): string[] {
  const n = (k: string) => r.counters[k] ?? 0;
  const where = r.listening.length ? `on ${r.listening.join(' ')}` : 'NOT listening';
  const from = r.source === 'fallback' ? 'fixed servers: the wireless network gave none' : (r.source ?? '?');
  const asks = r.servers.length ? `asks ${r.servers.join(' ')} (${from})` : 'knows no server: every query gets SERVFAIL';
  const drops = Object.keys(r.counters).filter((k) => k.startsWith('dropped') && n(k) > 0);
  const dropped = drops.reduce((sum, k) => sum + n(k), 0);
  const out = [`    dns relay: ${where}, ${asks}`];
  out.push(
    `      ${n('queries')} queries${n('tcpQueries') ? ` (${n('tcpQueries')} over TCP)` : ''}, ${n('answered')} answered${n('truncated') ? ` (${n('truncated')} truncated)` : ''}, ${n('servfail')} SERVFAIL, ` +
      `${dropped} dropped${drops.length ? ` (${drops.map((k) => `${n(k)} ${DROPPED[k] ?? k}`).join(', ')})` : ''}${r.medianUpstreamMs !== null ? `, median ${r.medianUpstreamMs} ms` : ''}`,
  );
  const c = r.cache;
  if (c) {
    out.push(
      c.capacity === 0
        ? '      cache: off (cache = 0 in wifibox-agents.conf)'
        : `      cache: ${c.names} of ${c.capacity} names (${(c.bytes / 1024).toFixed(1)} KiB), ${c.hits} hits, ${c.misses} misses, emptied ${c.flushes} time${c.flushes === 1 ? '' : 's'}`,
    );
  }
  // Only the servers that have failed to answer: the healthy ones are in the counts above.
  for (const u of r.upstream.filter((x) => x.timeouts > 0)) {
    out.push(
      `      ${u.server}: ${u.sent} sent, ${u.answered} answered, ${u.timeouts} timed out (last ${ago(u.lastTimeoutAt, now)} ago), ` +
        `${u.lastAnswerAt ? `last answer ${ago(u.lastAnswerAt, now)} ago` : 'never answered'}${r.servers.includes(u.server) ? '' : '; no longer asked'}`,
    );
  }
  return out;
}

function interfaces(r: DiagReport): string[] {
  const out = ['interfaces'];
  if (r.interfaces.error) out.push(`  (${r.interfaces.error})`);
  for (const l of r.interfaces.links) {
    const addrs = l.addresses.filter((a) => a.scope !== 'link').map((a) => `${a.address}/${a.prefixLength}`);
    out.push(
      `  ${l.name.padEnd(8)} ${l.state.padEnd(8)} ${(l.carrier ? 'carrier' : 'no-carrier').padEnd(10)} ${addrs.join(' ') || 'no address'}${l.mac && l.name !== 'lo' ? `  ${l.mac}` : ''}`,
    );
  }
  for (const rt of r.interfaces.routes) {
    out.push(`  route ${rt.dst}${rt.gateway ? ` via ${rt.gateway}` : ''}${rt.dev ? ` dev ${rt.dev}` : ''}${rt.protocol ? ` (${rt.protocol})` : ''}`);
  }
  return out;
}

function wireless(r: DiagReport): string[] {
  const w = r.wireless;
  const out = [`wireless (${w.daemon}, ${w.controlSocket})`];
  out.push(
    `  ${w.interface}: ${w.present ? 'present' : 'MISSING'}; ${w.daemon} ${w.daemonPids.length ? `running, pid ${w.daemonPids.join(', ')}` : 'not running'}`,
  );
  for (const d of w.pci) out.push(`  PCI ${d.slot}  class ${d.class ?? '?'}  driver ${d.driver ?? 'none'}`);
  if (!w.reachable) out.push(`  control socket: not reachable (${w.error})`);
  if (w.station) {
    const s = w.station;
    out.push(
      `  state ${s.wpaState ?? '?'}  ssid ${s.ssid !== null ? JSON.stringify(s.ssid) : '-'}  bssid ${s.bssid ?? '-'}  ${s.frequencyMHz ? `${s.frequencyMHz} MHz` : 'frequency -'}  key ${s.keyMgmt ?? '-'}`,
    );
    out.push(
      s.signal
        ? `  signal ${s.signal.rssiDbm ?? '?'} dBm  link ${s.signal.linkSpeedMbps ?? '?'} Mbit/s${s.signal.noiseDbm !== null ? `  noise ${s.signal.noiseDbm} dBm` : ''}`
        : '  signal: not reported by the driver',
    );
    for (const n of s.tempDisabledNetworks) out.push(`  network ${n.id} ${JSON.stringify(n.ssid)} temporarily disabled`);
  }
  if (w.accessPoint) {
    const a = w.accessPoint;
    out.push(
      `  state ${a.state ?? '?'}  ssid ${a.ssid !== null ? JSON.stringify(a.ssid) : '-'}  bssid ${a.bssid ?? '-'}  channel ${a.channel ?? '-'}${a.frequencyMHz ? ` (${a.frequencyMHz} MHz)` : ''}`,
    );
    out.push(`  ${a.stations.length} station(s)`);
    for (const st of a.stations)
      out.push(
        `    ${st.address}  connected ${st.connectedSec !== null ? duration(st.connectedSec) : '?'}${st.signalDbm !== null ? `  ${st.signalDbm} dBm` : ''}  rx ${st.rxBytes ?? '?'} B  tx ${st.txBytes ?? '?'} B`,
      );
  }
  return out;
}

function dhcp(r: DiagReport, now: Date): string[] {
  const out = ['dhcp'];
  const l = r.dhcp.wireless;
  if (l?.address) {
    out.push(
      `  ${l.interface} lease: ${l.address}${l.prefixLength !== null ? `/${l.prefixLength}` : ''} from ${l.server ?? '?'}, router ${l.router ?? '-'}, expires ${until(l.expiresAt, now)}`,
    );
    out.push(`    dns ${l.dns.join(' ') || '-'}${l.domain ? `  domain ${l.domain}` : ''}${l.search.length ? `  search ${l.search.join(' ')}` : ''}`);
  } else {
    out.push(`  wireless lease: ${r.agents.init.reachable ? 'none' : 'unknown (wifibox-init not reachable)'}`);
  }
  const u = r.dhcp.udhcpd;
  out.push(
    `  udhcpd config ${u.config}: ${u.configError ? `not readable (${u.configError})` : `dns ${u.configDns.join(' ') || '-'}`}${u.dnsKnown === false ? ' (wireless DNS not known yet)' : ''}`,
  );
  if (u.leaseFileError)
    out.push(`  udhcpd leases ${u.leaseFile}: ${u.leaseFileError === 'ENOENT' ? 'none written yet' : `not readable (${u.leaseFileError})`}`);
  else out.push(`  udhcpd leases ${u.leaseFile}: ${u.leases.length}${u.writtenAt ? `, written ${ago(u.writtenAt, now)} ago` : ''}`);
  for (const x of u.leases)
    out.push(`    ${x.address.padEnd(15)} ${x.mac}  ${(x.hostname ?? '-').padEnd(16)} ${x.expired ? 'expired' : `expires ${until(x.expiresAt, now)}`}`);
  return out;
}

function nat(r: DiagReport): string[] {
  const n = r.nat;
  const out = ['nat', `  forwarding ${n.forwarding === null ? `unknown (${n.forwardingError})` : n.forwarding ? 'on' : 'OFF'}`];
  if (n.error) out.push(`  rules: not readable (${n.error})`);
  else if (!n.rules.length) out.push('  rules: none in the nat table');
  for (const x of n.rules) out.push(`  ${x.chain.padEnd(12)} ${x.rule.padEnd(32)} ${x.packets} packets  ${x.bytes} bytes`);
  return out;
}

function passthrough(r: DiagReport): string[] {
  const p = r.passthrough;
  const out = ['passthrough'];
  if (!p.reachable) return [...out, `  unknown (wifibox-passthru not reachable: ${p.error})`];
  if (!p.ports.length) out.push('  no ports');
  for (const x of p.ports) {
    const c = x.counters;
    out.push(
      `  ${x.address}:${x.port} -> ${x.path}  ${x.listening ? 'listening' : `NOT listening${x.listenError ? ` (${x.listenError})` : ''}`}  daemon ${x.daemon}`,
    );
    out.push(
      `    active ${x.active}  monitors ${x.monitors}  connections ${c.connections ?? 0}  requests ${c.requests ?? 0}  events ${c.events ?? 0}  refused ${c.refusedPeer ?? 0} (peer) ${c.refusedLimit ?? 0} (limit)  errors ${c.errors ?? 0}`,
    );
    if (x.peers.length) out.push(`    peers ${x.peers.join(' ')}`);
  }
  return out;
}

function forwarding(r: DiagReport): string[] {
  const f = r.forward;
  // The optional service, not set up: the agents section says so in one line.
  if (!f.reachable && !r.agents.forward.configuredLines) return [];
  const out = [`forwarding (${r.agents.forward.config})`];
  if (!f.reachable) return [...out, `  unknown (wifibox-forward not reachable: ${f.error})`];
  if (!f.lines.length) out.push('  no lines served');
  for (const l of f.lines) {
    const c = l.counters;
    const n = (k: string) => c[k] ?? 0;
    out.push(`  line ${l.line}: ${l.text}`);
    out.push(
      `    ${l.listen} -> ${l.target}  ${l.listening ? 'listening' : `NOT listening${l.listenError ? ` (${l.listenError})` : ''}`}${l.range ? `  range ${l.range}` : ''}  active ${l.active}`,
    );
    const traffic =
      l.kind === 'tcp-listen' ? `connections ${n('connections')}` : `datagrams ${n('datagrams')}  replies ${n('replies')}  dropped ${n('dropped')}`;
    out.push(
      `    ${traffic}  bytes ${n('bytesIn')} in ${n('bytesOut')} out  refused ${n('refusedPeer')} (range) ${n('refusedLimit')} (limit)  idle-closed ${n('idleClosed')}  errors ${n('errors')}`,
    );
    if (l.peers.length) out.push(`    peers ${l.peers.join(' ')}`);
  }
  return out;
}

function memory(r: DiagReport): string[] {
  const m = r.memory;
  const out = ['memory'];
  if (m.error) out.push(`  (${m.error})`);
  else out.push(`  total ${kib(m.totalKiB)}, available ${kib(m.availableKiB)} (${m.availablePercent ?? '?'}%)`);
  for (const p of m.processes) {
    out.push(`  ${p.name.padEnd(16)} pid ${String(p.pid).padEnd(7)} ${p.error ? `(${p.error})` : `rss ${kib(p.rssKiB)}  private ${kib(p.privateKiB)}`}`);
  }
  return out;
}

function logs(r: DiagReport): string[] {
  const out = [`latest warnings and errors (${r.log.file})`];
  if (r.log.error === 'ENOENT') out.push('  absent (ENOENT): is syslogd writing there? see --syslog-file');
  else if (r.log.error) out.push(`  not readable (${r.log.error})`);
  else if (!r.log.lines.length) out.push('  none');
  for (const l of r.log.lines) out.push(`  ${l.text}`);
  const k = r.kernel;
  out.push(`kernel: wireless driver and firmware (${k.source})`);
  if (k.error) out.push(`  not readable (${k.error})`);
  else if (!k.wirelessLines.length) out.push('  none');
  for (const l of k.wirelessLines) out.push(`  ${l}`);
  return out;
}

function unreachable(r: DiagReport): string[] {
  if (!r.unreachable.length) return [];
  const line = (u: DiagReport['unreachable'][number]) => {
    if (!/^E[A-Z]+$/.test(u.error)) return u.error;
    return /endpoint|socket/.test(u.what) ? `not reachable (${u.error})` : u.error === 'ENOENT' ? 'absent (ENOENT)' : `not readable (${u.error})`;
  };
  return ['could not read', ...r.unreachable.map((u) => `  ${u.what} ${u.path}: ${line(u)}`)];
}

export function renderText(r: DiagReport): string {
  const now = new Date(r.generatedAt);
  const sections = [
    verdict(r),
    agents(r, now),
    interfaces(r),
    wireless(r),
    dhcp(r, now),
    nat(r),
    passthrough(r),
    forwarding(r),
    memory(r),
    logs(r),
    unreachable(r),
  ];
  return (
    sections
      .filter((s) => s.length)
      .map((s) => s.join('\n'))
      .join('\n\n') + '\n'
  );
}
