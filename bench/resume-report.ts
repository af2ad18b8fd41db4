// The resume bench's figures (bench/resume.ts) as the markdown section of docs/BENCHMARKS.md, and
// the medians `--json` prints.
import { emojiMark, msAsSeconds } from './format';
import { machineLine, type MachineFacts } from './machine';
import { sectionText, type SectionMarks } from './sections';
import { median, medianOfAll } from './stats';

export const RESUME_MARKS: SectionMarks = { start: '<!-- resume-bench:start -->', end: '<!-- resume-bench:end -->' };
/** The same bench with a line added to the host's dhclient.conf (--host-reboot). */
export const RESUME_HOST_CONF_MARKS: SectionMarks = { start: '<!-- resume-host-conf-bench:start -->', end: '<!-- resume-host-conf-bench:end -->' };

export type Sequence = 'ours' | 'old';
export type Network = 'known' | 'new';

/** One resume; times are ms from t0 (the first service's exec), null: not within the window. */
export interface ResumeRun {
  sequence: Sequence;
  network: Network;
  index: number;
  /** The host's first HTTP answer from the wireless network's web server, by address, through the NAT. */
  hostTrafficMs: number | null;
  /** The host's first answer for the wireless network's own name, from the DNS of its unchanged lease. */
  hostNamesMs: number | null;
  /** The first `wpa_cli -p <host socket dir> status` answered through the passthrough. */
  wpaCliMs: number | null;
  /** wlan0's lease: its prefix route appears in the guest. */
  wlanLeaseMs: number | null;
  addressBefore: string;
  addressAfter: string | null;
  /** The host's address never left wifibox0 (no EXPIRE from its client) and is there at the end. */
  addressKept: boolean;
  /** The longest time between two answers of the host's traffic, once it first flowed. */
  longestGapMs: number | null;
  /** DHCPNAKs the host's client logged. */
  naks: number;
  /** What the host's client did after t0 (its script's lease events). */
  hostEvents: string[];
  /** When each service's start returned (the old glue: its boot script's steps), ms from t0. */
  services: Record<string, number>;
  notes: string[];
}

export interface ResumeResults {
  command: string;
  machine: MachineFacts;
  runs: number;
  windowMs: number;
  /** What the host's dhclient.conf has besides its `request` line ('' for ISC dhclient's defaults). */
  hostConf: string;
  all: ResumeRun[];
  durationSec: number;
}

interface ResumeSummary {
  runs: number;
  hostTrafficMs: number | null;
  hostNamesMs: number | null;
  wpaCliMs: number | null;
  wlanLeaseMs: number | null;
  /** In every run. */
  addressKept: boolean;
  /** The most of any run. */
  longestGapMs: number | null;
  /** Median per run. */
  naks: number;
  /** Medians of (traffic − wlan0's lease) and (names − wlan0's lease). */
  trafficAfterLeaseMs: number | null;
  namesAfterLeaseMs: number | null;
}

const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a - b);

/** Medians of one sequence on one network; a figure not reached in some run is null. */
export function summarize(r: ResumeResults, sequence: Sequence, network: Network): ResumeSummary {
  const runs = r.all.filter((x) => x.sequence === sequence && x.network === network);
  const gaps = runs.map((x) => x.longestGapMs).filter((x): x is number => x !== null);
  return {
    runs: runs.length,
    hostTrafficMs: medianOfAll(runs.map((x) => x.hostTrafficMs)),
    hostNamesMs: medianOfAll(runs.map((x) => x.hostNamesMs)),
    wpaCliMs: medianOfAll(runs.map((x) => x.wpaCliMs)),
    wlanLeaseMs: medianOfAll(runs.map((x) => x.wlanLeaseMs)),
    addressKept: runs.length > 0 && runs.every((x) => x.addressKept),
    longestGapMs: gaps.length ? Math.max(...gaps) : null,
    naks: median(runs.map((x) => x.naks)),
    trafficAfterLeaseMs: medianOfAll(runs.map((x) => diff(x.hostTrafficMs, x.wlanLeaseMs))),
    namesAfterLeaseMs: medianOfAll(runs.map((x) => diff(x.hostNamesMs, x.wlanLeaseMs))),
  };
}

/** ms from t0 as seconds; a figure not within the window is 'not reached'. */
const s = (ms: number | null): string => msAsSeconds(ms, 'not reached');

function summaryRows(r: ResumeResults, network: Network): string[] {
  const ours = summarize(r, 'ours', network);
  const old = summarize(r, 'old', network);
  const within = (v: number | null, bound: number) => v !== null && v <= bound;
  const target = (text: string, met: boolean) => (network === 'known' ? `${text}: ${emojiMark(met)}` : 'reported');
  return [
    "| seconds from the guest's start | ours | old glue | target |",
    '|---|---:|---:|---|',
    `| the host's traffic reaches the wireless network | ${s(ours.hostTrafficMs)} | ${s(old.hostTrafficMs)} | |`,
    `| the host resolves the wireless network's name (its resolv.conf unchanged) | ${s(ours.hostNamesMs)} | ${s(old.hostNamesMs)} | |`,
    `| wlan0's lease | ${s(ours.wlanLeaseMs)} | ${s(old.wlanLeaseMs)} | |`,
    `| — traffic after wlan0's lease | ${s(ours.trafficAfterLeaseMs)} | ${s(old.trafficAfterLeaseMs)} | ${target('≤ 0.1 s', within(ours.trafficAfterLeaseMs, 100))} |`,
    `| — names after wlan0's lease | ${s(ours.namesAfterLeaseMs)} | ${s(old.namesAfterLeaseMs)} | ${target('≤ 0.1 s', within(ours.namesAfterLeaseMs, 100))} |`,
    `| \`wpa_cli -p <host socket dir> status\` answered through the passthrough | ${s(ours.wpaCliMs)} | ${s(old.wpaCliMs)} | ${target('≤ 0.3 s', within(ours.wpaCliMs, 300))} |`,
    `| the host keeps its address (every run) | ${ours.addressKept ? 'yes' : 'no'} | ${old.addressKept ? 'yes' : 'no'} | ${target('kept', ours.addressKept)} |`,
    `| the longest gap in its traffic once it flowed (the most of any run) | ${s(ours.longestGapMs)} | ${s(old.longestGapMs)} | ${target('≤ 1 s', within(ours.longestGapMs, 1000))} |`,
    `| DHCPNAKs the host's client got (median a run) | ${ours.naks} | ${old.naks} | |`,
  ];
}

function runRows(r: ResumeResults): string[] {
  const rows = r.all.map(
    (x) =>
      `| ${x.sequence} | ${x.network} | ${x.index + 1} | ${s(x.hostTrafficMs)} | ${s(x.hostNamesMs)} | ${s(x.wpaCliMs)} | ${s(x.wlanLeaseMs)} | ` +
      `${x.addressKept ? 'kept' : `${x.addressBefore} → ${x.addressAfter ?? 'none'}`} | ${s(x.longestGapMs)} | ${x.naks} | ${x.hostEvents.join('; ') || '—'} | ${Object.entries(
        x.services,
      )
        .map(([k, ms]) => `${k} ${s(ms)}`)
        .join(', ')} |`,
  );
  return [
    "| sequence | network | run | traffic | names | wpa_cli | wlan0 lease | host address | longest gap | NAKs | the host's client after t0 | services started (returned) |",
    '|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|',
    ...rows,
  ];
}

export function renderResumeSection(r: ResumeResults): string {
  const m = r.machine;
  const notes = r.all.flatMap((x) => x.notes.map((n) => `- ${x.sequence}, ${x.network} network #${x.index + 1}: ${n}`));
  const marks = r.hostConf ? RESUME_HOST_CONF_MARKS : RESUME_MARKS;
  return sectionText(
    marks,
    r.hostConf
      ? `A resume with \`${r.hostConf.trim()}\` in the host's dhclient.conf`
      : "A resume as users live it: the host's dhclient, OpenRC's order, a router's dnsmasq",
    [
      [`Command: \`${r.command}\` — run ${m.date}, took ${r.durationSec.toFixed(0)} s.`, machineLine(m, [])],
      [
        "Each run is a fresh lab, all guest processes on one CPU (the guest's vCPU) in a 48 MB budget. The host's",
        'wifibox0 has a fixed MAC (a bridge keeps its own) and the address and default route of the lease it got from',
        'the guest at a first boot before the runs, as the host keeps them while the guest is away; its resolv.conf',
        "is that lease's. The wireless network is a router's dnsmasq (DHCP and DNS, the only one that knows",
        '`portal.wireless.lab`): "known" has the card in its lease file (it answers at once), "new" does not (it',
        'checks the address by ping first). t0 is the exec of the first service; then, one after the other as',
        'OpenRC starts them, wpa_supplicant and, for ours, `/etc/init.d/wifibox-init start`, `uds_passthru start`',
        "and `forwarding start` (the package's service files, installed in the guest, run by Debian's openrc-run);",
        "for the old glue, its boot sequence (sysctl, ifupdown-ng's networking with dhcpcd, iptables, udhcpd) and",
        "its socat passthrough once the default runlevel comes. OpenRC's dependency tree is worked out before t0, as",
        'a booting guest does before its boot runlevel. At t0 the host starts ISC dhclient on wifibox0 with',
        "its lease file (devd's `dhclient wifibox0` when the guest's tap comes up; FreeBSD's dhclient shares its",
        "INIT-REBOOT, its intervals and its reboot timeout), with a script of the lab's that does to the address",
        "what Debian's does (an EXPIRE, as after a NAK, removes it). The host's probes: an HTTP GET of the",
        'wireless web server by address every 20 ms (each answer through the NAT counts), a lookup of the name',
        'through the DNS servers of its current lease every 20 ms, and a `wpa_cli -p <host socket dir> status`',
        "every 50 ms from t0; the first two run from before t0 (a laptop's programs go on sending; the host knows no",
        "MAC for the guest's address yet, as each lab gives eth0 a new one, and its ARP goes unanswered meanwhile).",
        `Each run is watched for ${r.windowMs / 1000} s from t0: dhclient asks again about 3 s after its start and gives`,
        'INIT-REBOOT up after 10 s. Figures are medians of the runs.',
      ],
      ...(r.hostConf ? [[`Here the host's dhclient.conf also says \`${r.hostConf.trim()}\`; everything else is as in the section above.`]] : []),
      ['### A network the card knows'],
      summaryRows(r, 'known'),
      ['### A new network'],
      summaryRows(r, 'new'),
      ['### Every run (seconds from t0)'],
      runRows(r),
      ...(notes.length ? [notes] : []),
    ],
  );
}
