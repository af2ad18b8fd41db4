// The words of the init benchmark's section: what each run sets up, what the figures say (with
// this run's numbers), and how each is measured. The tables are in init-report.ts.
import { WIRELESS_DNS, WIRELESS_NAME } from '../lab/wireless';
import { seconds } from './format';
import { AFTER_BOUND_MS, LATENCY_ROUNDS, NEW_ANSWER, NEW_DNS, UNPLUGGED_MS } from './init-after';
import type { Medians, RunFigures } from './init-figures';
import { REST_MS } from './init-runs';

export const BOUND_S = AFTER_BOUND_MS / 1000;

/** udhcpd's command line per sequence, as /proc showed it (null: not seen). */
interface Commands {
  ours: string | null;
  old: string | null;
}

/** How long udhcpd waits for an ARP reply before it offers an address, from its command line. */
function arpWait(command: string | null): string {
  const a = command ? /(?:^|\s)-a\s+(\d+)/.exec(command)?.[1] : undefined;
  return a ? `${a} ms (\`-a ${a}\`)` : "busybox's default 2000 ms (no `-a`)";
}
const code = (c: string | null): string => (c ? `\`${c}\`` : '(not seen)');

export function setup(runs: number, udhcpd: Commands): string[] {
  return [
    'Each run builds a fresh lab (station flavor, upstream samples unchanged, guest unconfigured) and starts, before **t0**:',
    `the wireless network (a DNS server, dnsmasq at ${WIRELESS_DNS}, the only one that knows \`${WIRELESS_NAME}\`, its web`,
    'server 192.168.77.1; a DHCP server, busybox udhcpd, handing wlan0 its address with that DNS server, lease 120 s; and a',
    'web server on 192.168.77.1:8080 that answers with the address it sees); wpa_supplicant on wlan0 (wired driver),',
    "associated (`wpa_state=COMPLETED`); the host's DHCP client on wifibox0 (busybox udhcpc `-t 20 -T 1 -A 1`: one",
    "DISCOVER a second) and the probes below. t0 comes 0.3 s plus a part of that one-second cycle after the host's client",
    'started (run i: 0.3 + frac(i × 0.618) s, the same for ours and old, so the pairs see the cycle at evenly spread moments:',
    "a host's client is already running when a guest starts, at no particular moment); then the sequence is spawned",
    "in the guest. The host's wifibox0 passes traffic the moment the guest's eth0 is up, as the real host's bridge does",
    '(its veth end has an interface index of its own: the kernel applies the carrier of a veth whose peer has the same',
    'index up to 1 s late). Once (a)–(d) are in and the memory is read, the same lab goes on with (g) (ours only), (e), then (f).',
    `Ours and old alternate (ours #1, old #1, old #2, ours #2, …), ${runs} runs each, every run in a fresh lab.`,
    '',
    "- **ours**: `wifibox-init --loglevel warn` (node, the bundle from dist/) with wifibox-agents.conf's defaults: dhcpcd as",
    '  `dhcpcd -B --noarp --nodelay --option rapid_commit -c <its hook> -e WIFIBOX_HOOK_SOCKET=… wlan0`, stopped when',
    `  wlan0 goes and started again at once when it is back; udhcpd as ${code(udhcpd.ours)}, handing the host the`,
    "  guest's own address (10.0.0.1) as its DNS server with the template's full lease from the first lease on; and the DNS",
    "  relay on 10.0.0.1 (UDP and TCP 53), which asks the wireless network's current DNS servers.",
    "- **old**: what the guest's OpenRC runs, one service after the other, as one shell script in the guest: `sysctl -p",
    "  /media/etc/sysctl.conf` (boot runlevel) → `ifup -a -i <the guest image's /etc/network/interfaces: auto lo, eth0,",
    "  wlan0; source /media/etc/interfaces.conf>` (`networking`, boot runlevel; ifupdown-ng's dhcp executor runs",
    '  `/sbin/dhcpcd -h <hostname> wlan0`, which does not return before it has a lease) → `iptables-restore <',
    `  /media/etc/iptables\` (default runlevel) → udhcpd as ${code(udhcpd.old)} (default runlevel; udhcpd: need net,`,
    '  after firewall). dhcpcd runs its default `dhcpcd-run-hooks` with the hooks folder the guest has: 01-test,',
    "  20-resolv.conf and 30-hostname (Debian's copies) and the upstream `99-udhcpd.conf` unchanged but for three",
    '  marked lines (template path `/media/etc/udhcpd.conf`, its `service udhcpd --ifstarted restart` done by a small',
    '  script that does nothing while udhcpd is not started, as at boot, and a line noting when it ran). So the hook',
    '  renders /tmp/udhcpd.conf with the wireless DNS from /etc/resolv.conf during `networking`, and udhcpd starts',
    "  on it. The guest gets an empty /etc/network (no addon scripts of this machine's), as the image has. The",
    "  orders come from the image's runlevels (Makefile: sysctl and networking in boot, iptables and udhcpd in",
    "  default) and the services' dependencies. wpa_supplicant runs as for ours (started by the bench before t0). Not",
    '  run: hostname (not needed in the lab), and the 99-radvd.conf hook (IPv6 overlay only).',
  ];
}

function startReading(o: Medians, d: Medians, udhcpd: Commands): string[] {
  const out = [
    `- (a): ours has udhcpd listening at ${seconds(o.udhcpdListening)} s and the host's lease ${seconds(o.firstLeaseOverListening)} s later (old: ` +
      `${seconds(d.firstLeaseOverListening)} s after its udhcpd). That gap is udhcpd's and the host client's: the host's udhcpc asks once a ` +
      'second, and what it sends before udhcpd listens is lost; udhcpd then checks the address by ARP before it offers it ' +
      `(\`udhcpd --help\`: "-a MSEC Timeout for ARP ping (default 2000)"): ours for ${arpWait(udhcpd.ours)}, the old one for ${arpWait(udhcpd.old)}.`,
    `- (b): both wait for dhcpcd's wireless lease (ours ${seconds(o.wlanLease)} s, old ${seconds(d.wlanLease)} s). The lab's wireless DHCP server ` +
      '(busybox udhcpd `-a 100`, as a router that checks an address it offers for a moment) answers within about 0.1 s; ours then ' +
      'takes the offer at once (`--noarp`, `--nodelay`, rapid commit asked), the old dhcpcd first waits a random moment and probes ' +
      `the address by ARP itself ("probing address" in its log). Ours reaches the wireless network ${seconds(o.reachedOverLease)} s after ` +
      (o.firstLease !== null && o.wlanLease !== null && o.firstLease > o.wlanLease
        ? `that lease: NAT and forwarding were in place before, but the host's own lease came later (${seconds(o.firstLease)} s, see (a)). `
        : "that lease: NAT, forwarding and the host's lease were in place before. ") +
      'The old sequence starts udhcpd only after ' +
      `\`networking\`, so the host still needs its lease then: ${seconds(d.reachedOverLease)} s.`,
    `- (c), (d): ours' first lease already names the guest (10.0.0.1) as the host's DNS server, with the full lease; the relay ` +
      "answers the name once the hook has reported dhcpcd's lease and its DNS server (until then it has only udhcpd.conf's " +
      `fixed servers, which the lab does not reach): (c) is ${seconds(o.resolvedOverLease)} s after dhcpcd's lease, and the page by that ` +
      `name ${seconds(o.pageOverResolved)} s after (c). The old sequence's first lease comes after dhcpcd's and names ${WIRELESS_DNS} itself ` +
      `(asked through the NAT): (c) is ${seconds(d.resolvedOverFirstLease)} s after (a).`,
  ];
  if (o.page !== null && o.page > 1.0) {
    out.push(
      `- (d) misses its 1.0 s target: it cannot come before the later of the host's lease (${seconds(o.firstLease)} s: the host's ` +
        `client retries once a second, see (a)) and dhcpcd's wireless lease (${seconds(o.wlanLease)} s). What is left to the guest after ` +
        `the later of the two leases is ${seconds(o.guestPart)} s.`,
    );
  }
  return out;
}

function afterReading(o: Medians, d: Medians, runs: RunFigures[]): string[] {
  const ours = runs.filter((r) => r.sequence === 'ours');
  const old = runs.filter((r) => r.sequence === 'old');
  const hostEvents = (rs: RunFigures[]) => rs.reduce((n, r) => n + (r.renewal?.hostLeaseEvents ?? 0), 0);
  const distinct = (values: (string | number | null | undefined)[]) => [...new Set(values.map((v) => String(v ?? '—')))].join(', ');
  const out = [
    `- (e): ours' relay asks the new server from the moment the hook reports the renewal; the host's next lookup (the probe ` +
      `asks every 20 ms) is answered by it ${seconds(o.renewal)} s later, its lease unchanged (host lease events meanwhile: ` +
      `${hostEvents(ours)}). The old hook writes the new server into /tmp/udhcpd.conf and restarts udhcpd, but the host keeps ` +
      'asking the servers its lease named (864000 s: it renews in half of that), and the old server still answers: the ' +
      `host's last answer was ${distinct(old.map((r) => r.renewal?.lastAnswer))} (host lease events meanwhile: ${hostEvents(old)}); ` +
      `${d.renewal === null ? `not within ${BOUND_S} s.` : `(e) ${seconds(d.renewal)} s.`}`,
    `- (f): ours' status says dhcpcd is waiting ${seconds(o.replugWaiting)} s after wlan0 went (dhcpcd ends by itself: "removing ` +
      `interface"), and dhcpcd is started again ${seconds(o.replugDhcpcd)} s after wlan0 is back (the kernel tells wifibox-init of the ` +
      `link: rtnetlink). The kernel reports wlan0's carrier ${seconds(o.replugCarrier)} s after wlan0 is back, and dhcpcd ` +
      "waits for the carrier. (The lab makes wlan0's veth pair on the wireless side with its peer at an interface index of " +
      "its own, on the bridge and up, before wlan0 enters the guest: a card's link is whole when its interface appears. " +
      'With both ends made in their namespaces at once, their indexes were equal and the kernel applied the carrier up to ' +
      'a second late, and a dhcpcd started at once sent its first request into a port not yet on the bridge and asked again ' +
      '4 ± 1 s later.) ' +
      `dhcpcd's lease follows ${seconds(o.replugLeaseOverCarrier)} s ` +
      'after the carrier (it asks again for the address it had, and the wireless DHCP server, which knows the card, ' +
      `acknowledges it at once), and the host's traffic ${seconds(o.replugReachedOverLease)} s after the lease. The old dhcpcd ends ` +
      `too, and nothing starts it again (dhcpcd processes in the old guest after (f): ${distinct(old.map((r) => r.replug?.dhcpcdAfter))}): ` +
      `wlan0 came back without an address${d.replug === null ? `, and the host's traffic did not get through within ${BOUND_S} s.` : `; (f) ${seconds(d.replug)} s.`}`,
  ];
  return out;
}

export const reading = { start: startReading, after: afterReading };

export function howMeasured(unNat: string[]): string[] {
  return [
    '- **t0**: `Date.now()` in the bench just before it spawns `nsenter … node wifibox-init.js` or `nsenter … sh',
    "  boot.sh` (nsenter execs in place). Node's own start-up (about 0.1–0.2 s here) is inside ours.",
    "- **(a)**: the `at` of the first `bound` event the host's udhcpc script (a node script) writes to its events",
    '  file, i.e. after udhcpc got the ACK and the script started.',
    '- **(b)**: a probe in the host namespace (`bench/init-probe.cjs http`, plain node) starts a GET of',
    '  http://192.168.77.1:8080/ every 20 ms (each with its own connection, 1.5 s timeout, at most 64 pending, so a',
    "  dropped SYN holds none up) and takes the time the first answer arrives whose body is the guest's wlan0 address",
    "  (192.168.77.2), i.e. that came through the guest's MASQUERADE (the lab's wireless side has a route back to",
    `  10.0.0.0/24 that a real network lacks; answers without NAT are not counted${unNat.length ? `: seen in ${unNat.join(', ')}` : ', and none came'}).`,
    `- **(c), (d)**: a probe in the host namespace (\`bench/init-probe.cjs lookup\`) reads the host's udhcpc events file`,
    '  every 20 ms and, every 20 ms, sends one query of its own (UDP, A record, 1 s timeout) to each DNS server of the',
    '  latest event when that is a lease (`bound` or `renew`). (c) is when the first answer with an address arrives;',
    '  from then it GETs http://<that address>:8080/ as the (b) probe does, and (d) is when the first page that came',
    '  through the NAT arrives.',
    "- **dhcpcd's own wireless lease**: the bench reads /proc/<guest>/net/route every 5 ms and takes the first",
    "  time wlan0's prefix route is there: the kernel adds it with the address dhcpcd sets on its lease, before",
    '  dhcpcd runs any hook. Differences ("(b) − dhcpcd\'s lease", …) are taken per run, then the median.',
    "- **udhcpd listening**: the same 5 ms poll, of /proc/<guest>/net/udp, for a socket on port 67. udhcpd's command",
    "  lines above are /proc/PID/cmdline at rest (dhcpcd's is not there: it retitles itself).",
    `- **(e)**: the lookup probe again (until it gets ${NEW_ANSWER}); once it has its first answer, a second dnsmasq at`,
    `  ${NEW_DNS} that answers \`${WIRELESS_NAME}\` with ${NEW_ANSWER} starts, the wireless DHCP server is stopped and`,
    `  started again handing out ${NEW_DNS} (the server at ${WIRELESS_DNS} keeps running, with its answer), and the`,
    '  bench spawns `dhcpcd -n wlan0` in the guest. The renewal: ours, the status polled every 20 ms until',
    `  \`dnsRelay.servers\` has ${NEW_DNS}, then its \`leaseEvent.at\` (when wifibox-init took the hook's report); old,`,
    '  the first mark of 99-udhcpd.conf after the spawn for a lease (RENEW, REBIND, REBOOT or BOUND: dhcpcd runs the',
    `  hook for RECONFIGURE first, with the old lease). Every wait ends ${BOUND_S} s after the spawn.`,
    '- **(f)**: wlan0 is deleted (`ip link del`), the (b) probe and `ip -ts monitor link` start again in the host and',
    `  the guest; ours: the status is polled until dhcpcd is \`waiting\` (at most ${UNPLUGGED_MS / 1000} s); old: ${UNPLUGGED_MS / 1000} s. Then`,
    '  wlan0 is created again with the same MAC, its peer back in the wireless network\'s bridge; "wlan0 back" is when',
    "  that returned. wpa_supplicant is not restarted (the lab's wired link needs none for traffic). The carrier is",
    "  the monitor's first line for wlan0 with `state UP`; the lease, the same route poll. Every wait ends",
    `  ${BOUND_S} s after wlan0 is back.`,
    `- **(g)**: the same script in the guest (\`bench/init-probe.cjs latency\`) sends 20 + ${LATENCY_ROUNDS} rounds of one query`,
    `  for \`${WIRELESS_NAME}\` to 10.0.0.1 (the relay) and one to ${WIRELESS_DNS} (the server the relay asks), one at a`,
    '  time, the order swapped every other round; the first 20 rounds are not counted. Each time is from the send',
    '  to the answer (process.hrtime); "added" is relay − direct, per round. Percentiles are nearest-rank.',
    '- **Memory**: /proc/PID/smaps_rollup of the wifibox-init node process (the tracked PID, checked to be',
    `  \`node\`) ${REST_MS / 1000} s after (d); daemons: every dhcpcd and udhcpd process in the guest, summed, at the`,
    '  same moment.',
  ];
}
