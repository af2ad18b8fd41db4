// One run of the init benchmark: a fresh lab, the wireless network with wpa_supplicant already
// associated, the host's DHCP client and the probes, then either wifibox-init or the old OpenRC
// sequence started at t0, and the moments the host gets there; then what follows (init-after.ts).
import { readFileSync } from 'node:fs';
import { Lab, type DhcpEvent } from '../lab/lab';
import { pidsIn } from '../lab/namespaces';
import { sleep, waitFor, type LabProcess } from '../lab/proc';
import { initStatus } from '../lab/status';
import { WIRELESS_NAME } from '../lab/wireless';
import { fixed3 } from './format';
import { afterStart } from './init-after';
import type { RunFigures, Sequence } from './init-figures';
import { OLD_BOOT_ARGV, oldMarks, prepareOldSequence } from './init-old';
import {
  hostLeases,
  probeLine,
  probeStarted,
  startHttpProbe,
  startLookupProbe,
  UDHCPD_LISTENING,
  watchGuest,
  WLAN0_ROUTE,
  type GuestWatch,
  type ProbeLine,
} from './init-probe';
import { comm, NO_MEMORY, addMemory, smapsRollup, type Memory } from './memory';

/** Every wait for the start's moments ends here; what did not happen by then is reported as not reached. */
const RUN_TIMEOUT_MS = 60_000;
/** "At rest": this long after (d), the orchestrator's memory is read. */
export const REST_MS = 3000;
/**
 * t0 comes this long after the host's DHCP client started (its first DISCOVER is lost: no link
 * yet): 0.3 s, and a part of its one-second retry cycle that differs from one pair of runs to the
 * next (spread evenly over the cycle). A host's client is already running when a guest starts, at
 * no particular moment of its cycle; a fixed lead would measure one lucky or unlucky moment.
 */
export function hostClientLeadMs(index: number): number {
  return 300 + Math.round(1000 * ((index * 0.6180339887) % 1));
}

let aborted = false;
/** Ends the run in progress early (Ctrl-C): its lab still comes down. */
export function abortRuns(): void {
  aborted = true;
}

/** dhcpcd's and udhcpd's processes in the guest namespace: their memory summed, and udhcpd's command line. */
async function guestDaemons(lab: Lab): Promise<{ memory: Memory; udhcpdCommand: string | null }> {
  let memory = { ...NO_MEMORY };
  let udhcpdCommand: string | null = null;
  for (const pid of await pidsIn(lab.ns.guest)) {
    const name = comm(pid);
    if (!['dhcpcd', 'udhcpd', 'busybox'].includes(name)) continue;
    try {
      memory = addMemory(memory, smapsRollup(pid));
      if (name === 'udhcpd') udhcpdCommand ??= readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      /* gone meanwhile */
    }
  }
  return { memory, udhcpdCommand };
}

const secs = (at: number | null | undefined, t0: number): number | null => (at === null || at === undefined ? null : (at - t0) / 1000);

/** Ours: each step's end and each daemon's latest start (its status); old: the boot script's and the hook's marks. */
async function insideOf(lab: Lab, sequence: Sequence, t0: number, notes: string[]): Promise<{ inside: Record<string, number>; leaseReported: number | null }> {
  const inside: Record<string, number> = {};
  let leaseReported: number | null = null;
  if (sequence === 'old') {
    for (const m of oldMarks(lab)) {
      const key = m.what.startsWith('hook:') ? `hook ${m.what.slice(5)}` : m.what;
      if (!(key in inside)) inside[key] = (m.at - t0) / 1000;
      if (m.what === 'hook:BOUND' && leaseReported === null) leaseReported = (m.at - t0) / 1000;
    }
    return { inside, leaseReported };
  }
  const st = await initStatus(lab, 2000).catch(() => null);
  if (!st) notes.push('no status from wifibox-init');
  for (const s of st?.steps ?? []) if (s.at) inside[s.id] = (Date.parse(s.at) - t0) / 1000;
  for (const d of st?.daemons ?? []) if (d.since) inside[`${d.name} last started`] = (Date.parse(d.since) - t0) / 1000;
  if (st?.lease?.obtainedAt) leaseReported = (Date.parse(st.lease.obtainedAt) - t0) / 1000;
  const failed = (st?.steps ?? []).filter((s) => s.state !== 'ok');
  if (failed.length) notes.push(`steps not ok: ${failed.map((s) => `${s.id} ${s.state}${s.why ? ` (${s.why})` : ''}`).join('; ')}`);
  for (const d of st?.daemons ?? []) if (d.restarts) notes.push(`${d.name} restarted ${d.restarts} time(s): ${d.lastExit}`);
  return { inside, leaseReported };
}

/** wpa_supplicant on wlan0, associated (the wired driver's "network" is there at once). */
export async function associate(lab: Lab): Promise<void> {
  await lab.startWirelessDaemon();
  await waitFor(
    'wpa_supplicant to be associated',
    async () => /^wpa_state=COMPLETED$/m.test((await lab.guest(['wpa_cli', '-p', lab.controlDir, '-i', 'wlan0', 'status'])).stdout),
    10_000,
  );
}

/** Until both probes have their page, the sequence's process exits, `deadline` passes or the run is aborted. */
async function untilBothPages(proc: LabProcess, http: LabProcess, journey: LabProcess, deadline: number, notes: string[]): Promise<void> {
  while (Date.now() < deadline && !aborted) {
    if (probeLine(http, 'page') && probeLine(journey, 'page')) break;
    if (comm(proc.pid) === '') {
      notes.push(`${proc.name} exited early`);
      break;
    }
    await sleep(20);
  }
}

/** (a)–(d) as the host saw them: its first lease, and its probes' first page and answer (undefined: not seen). */
interface HostMoments {
  first: DhcpEvent | undefined;
  reached: ProbeLine | undefined;
  answer: ProbeLine | undefined;
  page: ProbeLine | undefined;
}

/** The host's moments so far; what did not come is a note. */
function hostMoments(http: LabProcess, journey: LabProcess, events: string, notes: string[]): HostMoments {
  const reached = probeLine(http, 'page');
  const answer = probeLine(journey, 'answer');
  const page = probeLine(journey, 'page');
  const first = hostLeases(events).find((e) => e.event === 'bound');
  const within = `within ${RUN_TIMEOUT_MS / 1000} s`;
  if (!first) notes.push('the host got no lease');
  if (!reached) notes.push(`the host did not reach the wireless network ${within}`);
  if (!answer) notes.push(`the host did not resolve ${WIRELESS_NAME} ${within}`);
  else if (!page) notes.push(`the host did not fetch the page by its name ${within}`);
  return { first, reached, answer, page };
}

/** At rest, REST_MS after the last moment seen ((d) when it came): ours' orchestrator's memory, and the guest's daemons'. */
async function atRest(
  lab: Lab,
  sequence: Sequence,
  proc: LabProcess,
  last: number,
  notes: string[],
): Promise<{ memory: Memory | null; daemons: Awaited<ReturnType<typeof guestDaemons>> }> {
  if (!aborted) await sleep(Math.max(0, last + REST_MS - Date.now()));
  let memory: Memory | null = null;
  if (sequence === 'ours') {
    if (comm(proc.pid) === 'node') memory = smapsRollup(proc.pid);
    else notes.push(`PID ${proc.pid} is '${comm(proc.pid)}', not node: no memory figure`);
  }
  return { memory, daemons: await guestDaemons(lab) };
}

/**
 * One run in a fresh lab. The wireless network, wpa_supplicant, the host's DHCP client (busybox
 * udhcpc, one DISCOVER a second) and the observers start first; t0 is taken just before the spawn.
 */
export async function runOnce(sequence: Sequence, index: number, distDir: string, log: (m: string) => void): Promise<RunFigures> {
  const lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, distDir });
  log(`${sequence} #${index + 1}: lab ${lab.tag}`);
  const notes: string[] = [];
  let watch: GuestWatch<'udhcpd' | 'wlan'> | null = null;
  try {
    const air = await lab.startWirelessNetwork();
    await associate(lab);
    if (sequence === 'old') await prepareOldSequence(lab);
    const hostStarted = Date.now();
    const hostDhcp = lab.startDhcpClient('host', 'wifibox0');
    const http = startHttpProbe(lab, 'http-probe');
    const journey = startLookupProbe(lab, 'lookup-probe', hostDhcp.events, WIRELESS_NAME, { page: true });
    watch = watchGuest(lab, { udhcpd: UDHCPD_LISTENING, wlan: WLAN0_ROUTE });
    await Promise.all([probeStarted(http), probeStarted(journey)]);
    await sleep(Math.max(0, hostStarted + hostClientLeadMs(index) - Date.now()));

    const t0 = Date.now();
    const proc: LabProcess = sequence === 'ours' ? lab.startInit(['--loglevel', 'warn']) : lab.startInGuest('old-boot', OLD_BOOT_ARGV);
    await untilBothPages(proc, http, journey, t0 + RUN_TIMEOUT_MS, notes);
    const { first, reached, answer, page } = hostMoments(http, journey, hostDhcp.events, notes);
    const { inside, leaseReported } = await insideOf(lab, sequence, t0, notes);
    const { memory, daemons } = await atRest(lab, sequence, proc, Math.max(page?.at ?? 0, answer?.at ?? 0, reached?.at ?? 0, first?.at ?? 0, t0), notes);
    for (const p of [http, journey]) await lab.stop(p);

    const start = {
      firstLease: secs(first?.at, t0),
      reached: secs(reached?.at, t0),
      resolved: secs(answer?.at, t0),
      page: secs(page?.at, t0),
      wlanLease: secs(watch.at.wlan, t0),
      udhcpdListening: secs(watch.at.udhcpd, t0),
    };
    log(
      `${sequence} #${index + 1}: (a) ${fixed3(start.firstLease)} s, (b) ${fixed3(start.reached)} s, (c) ${fixed3(start.resolved)} s, (d) ${fixed3(start.page)} s; ` +
        `wlan0 lease ${fixed3(start.wlanLease)} s, udhcpd listening ${fixed3(start.udhcpdListening)} s${notes.length ? `; ${notes.join('; ')}` : ''}`,
    );
    const after = await afterStart(lab, sequence, {
      air,
      events: hostDhcp.events,
      notes,
      log: (m) => log(`${sequence} #${index + 1}: ${m}`),
      aborted: () => aborted,
    });
    if (notes.length || process.env.WIFIBOX_BENCH_DEBUG) log(lab.logTails(process.env.WIFIBOX_BENCH_DEBUG ? 80 : 20));
    const figures: RunFigures = {
      sequence,
      index,
      ...start,
      resolvedBy: answer?.server ?? null,
      emptyAnswers: answer?.empty ?? 0,
      leaseReported,
      firstLeaseDns: first?.dns ?? '',
      firstLeaseSeconds: first?.lease ? Number(first.lease) : null,
      udhcpdCommand: daemons.udhcpdCommand,
      inside,
      unNatAnswers: reached?.other ?? 0,
      memory,
      daemons: daemons.memory,
      ...after,
      notes,
    };
    if (process.env.WIFIBOX_BENCH_DEBUG) log(JSON.stringify({ ...figures, latency: undefined }));
    return figures;
  } finally {
    watch?.stop();
    await lab.down();
  }
}
