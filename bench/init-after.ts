// What the init benchmark measures once the guest is up, in the same lab: (g) the DNS relay's
// added latency (ours only), (e) a new DNS server on the wireless network after dhcpcd renews,
// and (f) wlan0 removed and created again.
import type { Lab } from '../lab/lab';
import { pidsIn } from '../lab/namespaces';
import { sleep, waitFor, type LabProcess } from '../lab/proc';
import { daemonStatus, initStatus } from '../lab/status';
import type { DaemonStatus } from '../agents/common/status';
import { WIRELESS_DNS, WIRELESS_DOMAIN, WIRELESS_NAME } from '../lab/wireless';
import { fixed3 } from './format';
import type { After, Latency, Renewal, Replug, Sequence } from './init-figures';
import { oldMarks } from './init-old';
import {
  guestLatency,
  hostLeases,
  linkUpAt,
  probeLine,
  probeLines,
  probeStarted,
  startHttpProbe,
  startLinkMonitor,
  startLookupProbe,
  watchGuest,
  WLAN0_ROUTE,
} from './init-probe';
import { comm } from './memory';

/** (e): the wireless network's second DNS server, and what it answers for WIRELESS_NAME. */
export const NEW_DNS = '192.168.77.54';
export const NEW_ANSWER = '192.168.77.154';
/** How long (e) and (f) wait for the host before they say "not within". */
export const AFTER_BOUND_MS = 20_000;
/** (f): how long wlan0 stays away at most (ours: until its status says dhcpcd is waiting). */
export const UNPLUGGED_MS = 1000;
/** (g): rounds of one query to the relay and one to the wireless DNS server directly. */
export const LATENCY_ROUNDS = 400;
const POLL_MS = 20;

interface AfterContext {
  air: { dhcp: LabProcess };
  /** The host's udhcpc events file. */
  events: string;
  notes: string[];
  log: (m: string) => void;
  /** The run was told to end (Ctrl-C): every wait ends at once. */
  aborted: () => boolean;
}

const secsBetween = (from: number | null, to: number | null): number | null => (from === null || to === null ? null : (to - from) / 1000);
const dhcpcdStatus = (lab: Lab): Promise<DaemonStatus> => daemonStatus(lab, 'dhcpcd', 2000);

/** Polls `check` every POLL_MS until it says done or `deadline` passes (or the run is aborted). */
async function pollUntil(c: AfterContext, deadline: number, check: () => Promise<boolean> | boolean): Promise<void> {
  while (Date.now() < deadline && !c.aborted() && !(await check())) await sleep(POLL_MS);
}

async function relayLatency(lab: Lab): Promise<Latency> {
  const line = await guestLatency(lab, WIRELESS_NAME, LATENCY_ROUNDS, [lab.addr.guestEth0, WIRELESS_DNS]);
  const times = line.times ?? [];
  return { relay: times.map((t) => t[0]!), direct: times.map((t) => t[1]!), failures: line.failures ?? 0 };
}

/** dhcpcd's reasons for a lease it got (the hook also runs for RECONFIGURE, with the old lease, first). */
const LEASE_REASONS = ['RENEW', 'REBIND', 'REBOOT', 'BOUND'];

/** The renewal as the guest knows it: ours, when the relay asks the new server; old, the hook ran after `since`. */
async function renewalSeen(lab: Lab, sequence: Sequence, since: number): Promise<{ at: number; reason: string } | null> {
  if (sequence === 'old') {
    const m = oldMarks(lab).find((x) => LEASE_REASONS.some((r) => x.what === `hook:${r}`) && x.at >= since);
    return m ? { at: m.at, reason: m.what.slice(5) } : null;
  }
  const st = await initStatus(lab, 2000).catch(() => null);
  const servers: string[] = st?.dnsRelay?.servers ?? st?.dns?.dns ?? [];
  return servers.includes(NEW_DNS) && st?.leaseEvent ? { at: Date.parse(st.leaseEvent.at), reason: st.leaseEvent.reason } : null;
}

async function renewal(lab: Lab, sequence: Sequence, c: AfterContext): Promise<Renewal> {
  const probe = startLookupProbe(lab, 'lookup-renewal', c.events, WIRELESS_NAME, { until: NEW_ANSWER });
  await waitFor("the host's lookups before the renewal", () => probeLine(probe, 'answer'), 10_000, POLL_MS);
  await lab.startWirelessDns(NEW_DNS, { [WIRELESS_NAME]: NEW_ANSWER });
  await lab.stop(c.air.dhcp);
  c.air.dhcp = lab.startWirelessDhcp(NEW_DNS, WIRELESS_DOMAIN, 120);
  await waitFor('the wireless DHCP server again', async () => (await lab.air(['ss', '-Hlun', 'sport = :67'])).stdout.includes(':67'), 5000, POLL_MS);
  const leasesBefore = hostLeases(c.events).length;
  const t = Date.now();
  // Filled in by the callbacks below (a holder: TypeScript does not follow assignments in closures).
  const got: { returned: number | null; exitCode: number | null; seen: { at: number; reason: string } | null } = { returned: null, exitCode: null, seen: null };
  void lab.guest(['dhcpcd', '-n', 'wlan0'], { timeoutMs: AFTER_BOUND_MS }).then((r) => {
    got.returned = Date.now();
    got.exitCode = r.code;
  });
  const newAnswer = () => probeLines(probe).find((l) => l.event === 'answer' && l.address === NEW_ANSWER);
  await pollUntil(c, t + AFTER_BOUND_MS, async () => {
    got.seen ??= await renewalSeen(lab, sequence, t);
    return got.seen !== null && got.returned !== null && newAnswer() !== undefined;
  });
  const { returned, exitCode, seen } = got;
  const answer = newAnswer();
  const answers = probeLines(probe).filter((l) => l.event === 'answer');
  await lab.stop(probe);
  const r: Renewal = {
    dhcpcdReturned: secsBetween(t, returned),
    exitCode,
    renewed: secsBetween(t, seen?.at ?? null),
    reason: seen?.reason ?? null,
    answered: secsBetween(seen?.at ?? null, answer?.at ?? null),
    answeredAfterReturn: secsBetween(returned, answer?.at ?? null),
    lastAnswer: answers[answers.length - 1]?.address ?? null,
    hostLeaseEvents: hostLeases(c.events).length - leasesBefore,
  };
  if (!seen) c.notes.push(`(e): the guest showed no renewal within ${AFTER_BOUND_MS / 1000} s`);
  if (exitCode !== 0) c.notes.push(`(e): \`dhcpcd -n wlan0\` exited ${exitCode ?? 'not in time'}`);
  return r;
}

async function replug(lab: Lab, sequence: Sequence, c: AfterContext): Promise<Replug> {
  await lab.unplugWlan();
  const unplugged = Date.now();
  const probe = startHttpProbe(lab, 'http-probe-replug');
  const monitor = startLinkMonitor(lab, 'link-monitor');
  let waiting: number | null = null;
  if (sequence === 'ours') {
    await pollUntil(c, unplugged + UNPLUGGED_MS, async () => (await dhcpcdStatus(lab).catch(() => null))?.state === 'waiting');
    if ((await dhcpcdStatus(lab).catch(() => null))?.state === 'waiting') waiting = (Date.now() - unplugged) / 1000;
  } else {
    await sleep(UNPLUGGED_MS);
  }
  await probeStarted(probe);
  if (probeLine(probe, 'page')) c.notes.push('(f): the host reached the wireless network while wlan0 was gone');
  await lab.plugWlan();
  const back = Date.now();
  const watch = watchGuest(lab, { wlan: WLAN0_ROUTE });
  await pollUntil(c, back + AFTER_BOUND_MS, () => probeLine(probe, 'page') !== undefined);
  watch.stop();
  const page = probeLine(probe, 'page');
  for (const p of [probe, monitor]) await lab.stop(p);
  const since = sequence === 'ours' ? (await dhcpcdStatus(lab).catch(() => null))?.since : null;
  const dhcpcdAfter = (await pidsIn(lab.ns.guest)).filter((p) => comm(p) === 'dhcpcd').length;
  return {
    waiting,
    gone: (back - unplugged) / 1000,
    dhcpcdStarted: since ? secsBetween(back, Date.parse(since)) : null,
    carrier: secsBetween(back, linkUpAt(monitor, 'wlan0')),
    wlanLease: secsBetween(back, watch.at.wlan),
    reached: secsBetween(back, page?.at ?? null),
    dhcpcdAfter,
  };
}

/** (g) for ours, then (e) and (f); a part that fails is a note, and the others still run. */
export async function afterStart(lab: Lab, sequence: Sequence, c: AfterContext): Promise<After> {
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
    if (c.aborted()) return null;
    try {
      return await fn();
    } catch (err) {
      c.notes.push(`${what}: ${(err as Error).message}`);
      return null;
    }
  };
  const latency = sequence === 'ours' ? await attempt('(g)', () => relayLatency(lab)) : null;
  const renewed = await attempt('(e)', () => renewal(lab, sequence, c));
  const replugged = await attempt('(f)', () => replug(lab, sequence, c));
  c.log(
    `(e) ${fixed3(renewed?.answered)} s after the renewal (${renewed?.reason ?? 'none seen'}); (f) ${fixed3(replugged?.reached)} s after wlan0 back` +
      (latency ? `; (g) ${latency.relay.length} rounds` : ''),
  );
  return { renewal: renewed, replug: replugged, latency };
}
