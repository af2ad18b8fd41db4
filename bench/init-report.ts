// The init benchmark's section of docs/BENCHMARKS.md.
import { WIRELESS_DNS } from '../lab/wireless';
import { REST_MS, type RunFigures } from './init-runs';
import type { MachineFacts } from './machine';
import type { Memory } from './memory';
import type { SectionMarks } from './sections';
import { median as medianOf } from './stats';

export const INIT_MARKS: SectionMarks = { start: '<!-- init-bench:start -->', end: '<!-- init-bench:end -->' };

export interface InitMachine extends MachineFacts {
  dhcpcd: string;
  busybox: string;
  ifupdownNg: string;
  iptables: string;
  procps: string;
  agent: string;
}

export interface InitResults {
  quick: boolean;
  command: string;
  machine: InitMachine;
  runs: RunFigures[];
  durationSec: number;
}

/** The targets set for wifibox-init. */
const TARGET_FIRST_LEASE_S = 0.3;
const TARGET_REACH_OVER_LEASE_S = 0.3;
const OLD_FIRST_LEASE_IN_ISSUE_S = 8.3;

/** The median of the figures there are; null when there is none. */
function median(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? medianOf(v) : null;
}

const s = (v: number | null): string => (v === null ? '—' : Math.abs(v) < 1 ? v.toFixed(3) : v.toFixed(2));
const ratio = (a: number | null, b: number | null): string => (a === null || b === null || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);
const mb = (kb: number): string => ((kb * 1024) / 1e6).toFixed(1);
const mark = (ok: boolean): string => (ok ? '✓' : '✗');
const minus = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

function medianMemory(ms: (Memory | null)[]): Memory | null {
  const m = ms.filter((x): x is Memory => x !== null);
  if (!m.length) return null;
  const f = (k: keyof Memory) => median(m.map((x) => x[k]))!;
  return { rss: f('rss'), pss: f('pss'), privateClean: f('privateClean'), privateDirty: f('privateDirty'), pageTables: f('pageTables'), processes: f('processes') };
}

interface Side {
  n: number;
  firstLease: number | null;
  reached: number | null;
  wlanLease: number | null;
  reachedOverLease: number | null;
  reachedOverReport: number | null;
  reportOverLease: number | null;
  dns: number | null;
  dnsOverFirstLease: number | null;
  udhcpdListening: number | null;
  firstLeaseOverListening: number | null;
  memory: Memory | null;
  daemons: Memory | null;
}

function side(runs: RunFigures[]): Side {
  const m = (f: (r: RunFigures) => number | null) => median(runs.map(f));
  // Differences are taken per run, then the median: not the difference of two medians.
  return {
    n: runs.length,
    firstLease: m((r) => r.firstLease),
    reached: m((r) => r.reached),
    wlanLease: m((r) => r.wlanLease),
    reachedOverLease: m((r) => minus(r.reached, r.wlanLease)),
    reachedOverReport: m((r) => minus(r.reached, r.leaseReported)),
    reportOverLease: m((r) => minus(r.leaseReported, r.wlanLease)),
    dns: m((r) => r.dns),
    dnsOverFirstLease: m((r) => minus(r.dns, r.firstLease)),
    udhcpdListening: m((r) => r.udhcpdListening),
    firstLeaseOverListening: m((r) => minus(r.firstLease, r.udhcpdListening)),
    memory: medianMemory(runs.map((r) => r.memory)),
    daemons: medianMemory(runs.map((r) => r.daemons)),
  };
}

function timesTable(ours: Side, old: Side): string[] {
  const aOk = ours.firstLease !== null && ours.firstLease <= TARGET_FIRST_LEASE_S;
  const bOk = ours.reachedOverLease !== null && ours.reachedOverLease <= TARGET_REACH_OVER_LEASE_S;
  return [
    '| | ours (wifibox-init) | old (OpenRC sequence) | ours / old | target |',
    '|---|---:|---:|---:|---|',
    `| (a) the host's first lease, s | ${s(ours.firstLease)} | ${s(old.firstLease)} | ${ratio(ours.firstLease, old.firstLease)} | ≤ ${TARGET_FIRST_LEASE_S} s (the old glue: ~${OLD_FIRST_LEASE_IN_ISSUE_S} s): ${mark(aOk)} |`,
    `| (b) the host reaches the wireless network, s | ${s(ours.reached)} | ${s(old.reached)} | ${ratio(ours.reached, old.reached)} | ≤ dhcpcd's lease + ${TARGET_REACH_OVER_LEASE_S} s: ${mark(bOk)} |`,
    `| — dhcpcd's own wireless lease (wlan0 gets its address), s | ${s(ours.wlanLease)} | ${s(old.wlanLease)} | ${ratio(ours.wlanLease, old.wlanLease)} | |`,
    `| — (b) − dhcpcd's lease, s | ${s(ours.reachedOverLease)} | ${s(old.reachedOverLease)} | | ≤ ${TARGET_REACH_OVER_LEASE_S} s: ${mark(bOk)} |`,
    `| — (b) − the hook's report of that lease (ours: status \`lease.obtainedAt\`; old: 99-udhcpd.conf ran for BOUND), s | ${s(ours.reachedOverReport)} | ${s(old.reachedOverReport)} | | for information |`,
    `| (c) the host holds the wireless DNS, s | ${s(ours.dns)} | ${s(old.dns)} | ${ratio(ours.dns, old.dns)} | no target set |`,
    `| the guest's udhcpd listening (port 67 open), s | ${s(ours.udhcpdListening)} | ${s(old.udhcpdListening)} | ${ratio(ours.udhcpdListening, old.udhcpdListening)} | for information |`,
    `| the hook's report after dhcpcd's lease, s | ${s(ours.reportOverLease)} | ${s(old.reportOverLease)} | ${ratio(ours.reportOverLease, old.reportOverLease)} | for information (ours: a node process per dhcpcd event; old: sourced shell) |`,
  ];
}

/** What the figures say, in words, with this run's numbers. */
function reading(ours: Side, old: Side): string[] {
  const out: string[] = [];
  if (ours.firstLease !== null && ours.udhcpdListening !== null) {
    out.push(`- (a): ours has udhcpd listening at ${s(ours.udhcpdListening)} s, the host's lease comes ${s(ours.firstLeaseOverListening)} s later ` +
      `(old: ${s(old.firstLeaseOverListening)} s after its udhcpd). That gap is udhcpd's and the host client's, not the orchestrator's start-up: busybox udhcpd checks an address it ` +
      'has never leased by ARP and waits that long for an answer before it offers it (`udhcpd --help`: "-a MSEC Timeout for ARP ping ' +
      '(default 2000)"), and the host\'s udhcpc asks once a second. wifibox-init starts udhcpd without `-a`, so every host udhcpd ' +
      'has no lease for (each lab run is one: a new MAC) waits those 2 s.');
  }
  if (ours.reached !== null && ours.wlanLease !== null) {
    out.push(`- (b): both wait for dhcpcd's wireless lease (${s(ours.wlanLease)} s ours, ${s(old.wlanLease)} s old: the lab's wireless DHCP ` +
      'server\'s own 2 s ARP check before its OFFER, then dhcpcd\'s ARP probing of the offered address, "probing address" in its log). ' +
      `Ours is through ${s(ours.reachedOverLease)} s after it: NAT, forwarding and the host's lease were in place long before. ` +
      `The old sequence starts udhcpd only after \`networking\`, so the host needs its lease first (${s(old.reachedOverLease)} s).`);
  }
  if (ours.dns !== null) {
    out.push(`- (c): ours hands out short leases until the wireless DNS is known (\`--short-lease\`, 10 s by default, as the per-run ` +
      `table shows); the host picks the DNS up at its first renewal after that: (c) − (a) = ${s(ours.dnsOverFirstLease)} s. ` +
      `The old sequence has the DNS in its first lease, because it gives ` +
      `none before dhcpcd's lease.${old.dns !== null && ours.dns > old.dns ? ' So for (c) ours is later than the old sequence.' : ''}`);
  }
  return out;
}

function perRunTable(runs: RunFigures[]): string[] {
  const lines = [
    '| run | (a) first lease | (b) reached | dhcpcd\'s lease | (b) − lease | (c) wireless DNS | udhcpd listening | the host\'s first lease said |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of runs) {
    const said = `dns \`${r.firstLeaseDns || '(none)'}\`, lease ${r.firstLeaseSeconds ?? '—'} s`;
    lines.push(`| ${r.sequence} #${r.index + 1} | ${s(r.firstLease)} | ${s(r.reached)} | ${s(r.wlanLease)} | ${s(minus(r.reached, r.wlanLease))} | ${s(r.dns)} | ${s(r.udhcpdListening)} | ${said} |`);
  }
  return lines;
}

/** The moments inside each sequence, medians over its runs, in the order they happen. */
function insideList(runs: RunFigures[]): string {
  const keys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.inside)) keys.add(k);
  const med = [...keys].map((k) => ({ k, v: median(runs.map((r) => r.inside[k] ?? null)) })).filter((x) => x.v !== null);
  med.sort((a, b) => a.v! - b.v!);
  return med.map((x) => `${x.k} ${s(x.v)}`).join(' · ');
}

function memoryTable(ours: Side, old: Side): string[] {
  const row = (what: string, m: Memory | null, note: string) =>
    m ? `| ${what} | ${mb(m.rss)} | ${mb(m.pss)} | ${mb(m.privateDirty)} | ${mb(m.privateClean)} | ${note} |` : `| ${what} | — | — | — | — | ${note} |`;
  return [
    '| process(es) | RSS, MB | PSS, MB | private dirty, MB | private clean, MB | note |',
    '|---|---:|---:|---:|---:|---|',
    row(`ours: wifibox-init (one node process), ${REST_MS / 1000} s after (c)`, ours.memory, 'no target set'),
    '| old: the orchestration itself | 0 | 0 | 0 | 0 | nothing stays: OpenRC\'s services and ifup exit once they have run |',
    row(`ours: dhcpcd + udhcpd (${ours.daemons?.processes ?? 0} processes)`, ours.daemons, 'the same programs in both, for information'),
    row(`old: dhcpcd + udhcpd (${old.daemons?.processes ?? 0} processes)`, old.daemons, ''),
  ];
}

export function renderInitSection(r: InitResults): string {
  const m = r.machine;
  const ours = r.runs.filter((x) => x.sequence === 'ours');
  const old = r.runs.filter((x) => x.sequence === 'old');
  const o = side(ours);
  const d = side(old);
  const notes = r.runs.flatMap((x) => x.notes.map((n) => `${x.sequence} #${x.index + 1}: ${n}`));
  const unNat = r.runs.filter((x) => x.unNatAnswers > 0).map((x) => `${x.sequence} #${x.index + 1}: ${x.unNatAnswers}`);
  const lines = [
    INIT_MARKS.start,
    '## wifibox-init against the old OpenRC sequence (station flavor)',
    '',
    `Command: \`${r.command}\` — run ${m.date}, took ${r.durationSec.toFixed(0)} s${r.quick ? ' (quick: one run each)' : ''}.`,
    `Machine: ${m.nproc} CPUs (${m.cpu}), Linux ${m.kernel}, Node ${m.node}, ${m.dhcpcd}, ${m.busybox}, ${m.ifupdownNg}, ${m.iptables}, ${m.procps}; ` +
      `orchestrator ${m.agent} (tree ${m.git}).`,
    '',
    `Each run builds a fresh lab (station flavor, upstream samples unchanged, guest unconfigured), starts the wireless`,
    `network (busybox udhcpd handing wlan0 its address with DNS ${WIRELESS_DNS}, lease 120 s, and a web server on`,
    `192.168.77.1:8080 that answers with the address it sees), the host's DHCP client on wifibox0 (busybox udhcpc`,
    `\`-t 20 -T 1 -A 1\`: one DISCOVER a second) and the observers below; 0.3 s later it takes **t0** and spawns`,
    'the sequence in the guest. Ours and old alternate (ours #1, old #1, old #2, ours #2, …); every figure is the',
    `median of ${Math.max(o.n, d.n)} runs, seconds from t0.`,
    '',
    '- **ours**: `wifibox-init --loglevel warn` (node, the bundle from dist/), which runs dhcpcd as `dhcpcd -B -c <its hook> wlan0`.',
    '- **old**: what the guest\'s OpenRC runs, one service after the other, as one shell script in the guest: `sysctl -p',
    '  /media/etc/sysctl.conf` (boot runlevel) → `ifup -a -i <the guest image\'s /etc/network/interfaces: auto lo, eth0,',
    '  wlan0; source /media/etc/interfaces.conf>` (`networking`, boot runlevel; ifupdown-ng\'s dhcp executor runs',
    '  `/sbin/dhcpcd -h <hostname> wlan0`, which does not return before it has a lease) → `iptables-restore <',
    '  /media/etc/iptables` (default runlevel) → `udhcpd -f /tmp/udhcpd.conf` (default runlevel; udhcpd: need net,',
    '  after firewall). dhcpcd runs its default `dhcpcd-run-hooks` with the hooks folder the guest has: 01-test,',
    '  20-resolv.conf and 30-hostname (Debian\'s copies) and the upstream `99-udhcpd.conf` unchanged but for three',
    '  marked lines (template path `/media/etc/udhcpd.conf`, its `service udhcpd --ifstarted restart` done by a small',
    '  script that does nothing while udhcpd is not started, as at boot, and a line noting when it ran). So the hook',
    '  renders /tmp/udhcpd.conf with the wireless DNS from /etc/resolv.conf during `networking`, and udhcpd starts',
    '  on it. The guest gets an empty /etc/network (no addon scripts of this machine\'s), as the image has. The',
    '  orders come from the image\'s runlevels (Makefile: sysctl and networking in boot, iptables and udhcpd in',
    '  default) and the services\' dependencies. Not run: hostname, wpa_supplicant (neither is needed on the lab\'s',
    '  wired wlan0), and the 99-radvd.conf hook (IPv6 overlay only).',
    '',
    `### Time from start, median of ${Math.max(o.n, d.n)} runs each`,
    '',
    ...timesTable(o, d),
    '',
    ...reading(o, d),
    '',
    'Every run:',
    '',
    ...perRunTable(r.runs),
    '',
    `Inside ours (medians, s; each step's end and each daemon's latest start, from its status): ${insideList(ours) || '—'}.`,
    '',
    `Inside old (medians, s; marks of the boot script and of the hook, by dhcpcd's reason): ${insideList(old) || '—'}.`,
    '',
    '### Memory (/proc/PID/smaps_rollup; MB = 10⁶ bytes; medians)',
    '',
    ...memoryTable(o, d),
    '',
    '### How each number is measured',
    '',
    '- **t0**: `Date.now()` in the bench just before it spawns `nsenter … node wifibox-init.js` or `nsenter … sh',
    '  boot.sh` (nsenter execs in place). Node\'s own start-up (about 0.1–0.2 s here) is inside ours.',
    '- **(a)**: the `at` of the first `bound` event the host\'s udhcpc script (a node script) writes to its events',
    '  file, i.e. after udhcpc got the ACK and the script started. The host\'s udhcpc sends one DISCOVER a second',
    '  and none reaches the guest before its eth0 is up, so (a) = the guest\'s udhcpd listening, then the host\'s',
    '  next DISCOVER (up to 1 s later: the client\'s retry timer), then udhcpd\'s OFFER and ACK.',
    '- **(b)**: a node poller in the host namespace starts a GET of http://192.168.77.1:8080/ every 20 ms (each',
    '  with its own connection, 1.5 s timeout, at most 64 pending, so a dropped SYN holds none up) and takes the',
    '  time the first answer arrives whose body is the guest\'s wlan0 address (192.168.77.2), i.e. that came',
    `  through the guest's MASQUERADE (the lab's wireless side has a route back to 10.0.0.0/24 that a real network`,
    `  lacks; answers without NAT are not counted${unNat.length ? `: seen in ${unNat.join(', ')}` : ', and none came'}).`,
    '- **dhcpcd\'s own wireless lease**: the bench reads /proc/<guest>/net/route every 5 ms and takes the first',
    '  time wlan0\'s prefix route is there: the kernel adds it with the address dhcpcd sets on its lease, before',
    '  dhcpcd runs any hook. "(b) − dhcpcd\'s lease" is taken per run, then the median.',
    '- **(c)**: the `at` of the first host lease event (`bound` or `renew`) whose `dns` has the wireless',
    `  network's DNS server (${WIRELESS_DNS}).`,
    '- **udhcpd listening**: the same 5 ms poll, of /proc/<guest>/net/udp, for a socket on port 67.',
    `- **Memory**: /proc/PID/smaps_rollup of the wifibox-init node process (the tracked PID, checked to be`,
    `  \`node\`) ${REST_MS / 1000} s after (c); daemons: every dhcpcd and udhcpd process in the guest, summed, at the`,
    '  same moment.',
    ...(notes.length ? ['', `Seen during the runs: ${notes.join('; ')}.`] : []),
    INIT_MARKS.end,
  ];
  return lines.join('\n');
}
