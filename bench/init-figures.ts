// What one run of the init benchmark measured (init-runs.ts, init-after.ts), and the figures its
// report takes from the runs (init-report.ts, init-report-text.ts): here, so that neither the
// measuring modules nor the report's two halves need each other for their types.
import type { Memory } from './memory';
import { medianOfPresent } from './stats';

export type Sequence = 'ours' | 'old';

/** (e) Seconds; null: not seen (within AFTER_BOUND_MS). */
export interface Renewal {
  /** From the spawn of `dhcpcd -n wlan0` in the guest to its return, and its exit code. */
  dhcpcdReturned: number | null;
  exitCode: number | null;
  /** From that spawn to the renewal as the guest knew it (ours: status leaseEvent.at; old: the hook's mark). */
  renewed: number | null;
  /** dhcpcd's reason for that event. */
  reason: string | null;
  /** From the renewal to the host's first lookup answered by the new server (its current lease unchanged). */
  answered: number | null;
  /** From `dhcpcd -n`'s return to that answer. */
  answeredAfterReturn: number | null;
  /** What the host's lookups answered last when the new server's answer did not come. */
  lastAnswer: string | null;
  /** Lease events of the host meanwhile (none expected: it does not renew). */
  hostLeaseEvents: number;
}

/** (f) Seconds from wlan0 back; null: not seen (within AFTER_BOUND_MS). */
export interface Replug {
  /** Ours: from the removal to the status saying dhcpcd is 'waiting'. */
  waiting: number | null;
  /** From the removal to wlan0 back. */
  gone: number;
  /** Ours: dhcpcd's latest start (its status `since`). */
  dhcpcdStarted: number | null;
  /** wlan0 has its carrier, up (`ip monitor`'s "state UP"): dhcpcd waits for it. */
  carrier: number | null;
  /** wlan0's prefix route is back (dhcpcd set the address). */
  wlanLease: number | null;
  /** The host's first HTTP answer from the wireless network through the NAT. */
  reached: number | null;
  /** dhcpcd processes in the guest at the end. */
  dhcpcdAfter: number;
}

/** (g) Milliseconds, one pair a round (the relay, the wireless DNS server directly). */
export interface Latency {
  relay: number[];
  direct: number[];
  failures: number;
}

export interface After {
  renewal: Renewal | null;
  replug: Replug | null;
  latency: Latency | null;
}

/** Seconds from t0 (the spawn of wifibox-init or of the old boot script); null: not reached. */
export interface RunFigures extends After {
  sequence: Sequence;
  index: number;
  /** (a) The host's first lease: the host's udhcpc script's 'bound' event. */
  firstLease: number | null;
  /** (b) The first HTTP answer from the wireless network's web server by address, through the guest's NAT. */
  reached: number | null;
  /** (c) The host's first answer for WIRELESS_NAME from a DNS server of its current lease. */
  resolved: number | null;
  /** (d) The page fetched by that name (from the answer of (c)) arrived, through the NAT. */
  page: number | null;
  /** (c): which server answered, and how many answers without an address came before. */
  resolvedBy: string | null;
  emptyAnswers: number;
  /** The guest's dhcpcd got its wireless lease: wlan0's prefix route appears (the address is added). */
  wlanLease: number | null;
  /** The guest's udhcpd has its DHCP socket (port 67) open. */
  udhcpdListening: number | null;
  /** Ours: the status's lease.obtainedAt (the hook's report arrived); old: 99-udhcpd.conf ran for BOUND. */
  leaseReported: number | null;
  /** What the host's first lease said. */
  firstLeaseDns: string;
  firstLeaseSeconds: number | null;
  /** udhcpd's command line as /proc shows it at rest (dhcpcd's is not there: it retitles itself). */
  udhcpdCommand: string | null;
  /** Moments inside the sequence (seconds from t0): steps (ours) or marks of the boot script (old). */
  inside: Record<string, number>;
  /** HTTP answers seen before (b) that came without NAT (the web server saw the host's own address). */
  unNatAnswers: number;
  /** Ours only: the orchestrator process at rest, REST_MS after (d). */
  memory: Memory | null;
  /** dhcpcd's and udhcpd's processes in the guest, at the same moment (for information). */
  daemons: Memory | null;
  /** Anything odd seen in this run. */
  notes: string[];
}

type Get = (r: RunFigures) => number | null | undefined;
const minus = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined ? null : a - b;
/** What each figure is, from one run; differences are taken per run, then the median (not the difference of two medians). */
export const FIGURES = {
  firstLease: (r) => r.firstLease,
  reached: (r) => r.reached,
  resolved: (r) => r.resolved,
  page: (r) => r.page,
  wlanLease: (r) => r.wlanLease,
  reachedOverLease: (r) => minus(r.reached, r.wlanLease),
  reportOverLease: (r) => minus(r.leaseReported, r.wlanLease),
  resolvedOverLease: (r) => minus(r.resolved, r.wlanLease),
  resolvedOverFirstLease: (r) => minus(r.resolved, r.firstLease),
  pageOverResolved: (r) => minus(r.page, r.resolved),
  guestPart: (r) => minus(r.page, r.firstLease === null || r.wlanLease === null ? null : Math.max(r.firstLease, r.wlanLease)),
  udhcpdListening: (r) => r.udhcpdListening,
  firstLeaseOverListening: (r) => minus(r.firstLease, r.udhcpdListening),
  renewal: (r) => r.renewal?.answered,
  renewalFromReturn: (r) => r.renewal?.answeredAfterReturn,
  renewed: (r) => r.renewal?.renewed,
  dhcpcdReturned: (r) => r.renewal?.dhcpcdReturned,
  replug: (r) => r.replug?.reached,
  replugWaiting: (r) => r.replug?.waiting,
  replugGone: (r) => r.replug?.gone,
  replugDhcpcd: (r) => r.replug?.dhcpcdStarted,
  replugCarrier: (r) => r.replug?.carrier,
  replugLease: (r) => r.replug?.wlanLease,
  replugLeaseOverCarrier: (r) => minus(r.replug?.wlanLease, r.replug?.carrier),
  replugReachedOverLease: (r) => minus(r.replug?.reached, r.replug?.wlanLease),
} satisfies Record<string, Get>;
export type Figure = keyof typeof FIGURES;
/** Each figure's median over one side's runs (null: no run had it). */
export type Medians = Record<Figure, number | null>;

/** The median of the figures there are, and how many runs had none. */
export function medianOver(runs: RunFigures[], get: Get): { v: number | null; missing: number } {
  const values = runs.map(get);
  return { v: medianOfPresent(values), missing: values.filter((x) => x === null || x === undefined).length };
}

export function mediansOf(runs: RunFigures[]): Medians {
  return Object.fromEntries(Object.entries(FIGURES).map(([k, get]) => [k, medianOver(runs, get).v])) as Medians;
}
