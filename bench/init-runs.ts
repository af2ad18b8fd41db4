// One run of the init benchmark: a fresh lab, the wireless network, the host's DHCP client, then
// either wifibox-init or the old OpenRC sequence started at t0, and the moments the host gets there.
import { existsSync, readFileSync } from 'node:fs';
import { Lab } from '../lab/lab';
import { pidsIn } from '../lab/namespaces';
import { sleep, type LabProcess } from '../lab/proc';
import { initStatus } from '../lab/status';
import { WIRELESS_DNS } from '../lab/wireless';
import { comm, NO_MEMORY, addMemory, smapsRollup, type Memory } from './memory';
import { OLD_BOOT_ARGV, OLD_MARKS, prepareOldSequence } from './init-old';

export type Sequence = 'ours' | 'old';

/** Every wait of a run ends here; what did not happen by then is reported as not reached. */
const RUN_TIMEOUT_MS = 60_000;
/** "At rest": this long after (c), the orchestrator's memory is read. */
export const REST_MS = 3000;
const PROBE_EVERY_MS = 20;

let aborted = false;
/** Ends the run in progress early (Ctrl-C): its lab still comes down. */
export function abortRuns(): void {
  aborted = true;
}
const POLL_EVERY_MS = 5;

/** Seconds from t0 (the spawn of wifibox-init or of the old boot script); null: not reached. */
export interface RunFigures {
  sequence: Sequence;
  index: number;
  /** (a) The host's first lease: the host's udhcpc script's 'bound' event. */
  firstLease: number | null;
  /** (b) The first HTTP answer from the wireless network's web server, through the guest's NAT. */
  reached: number | null;
  /** (c) The first host lease event whose DNS has the wireless network's DNS server. */
  dns: number | null;
  /** The guest's dhcpcd got its wireless lease: wlan0's prefix route appears (the address is added). */
  wlanLease: number | null;
  /** The guest's udhcpd has its DHCP socket (port 67) open. */
  udhcpdListening: number | null;
  /** Ours: the status's lease.obtainedAt (the hook's report arrived); old: 99-udhcpd.conf ran for BOUND. */
  leaseReported: number | null;
  /** What the host's first lease said. */
  firstLeaseDns: string;
  firstLeaseSeconds: number | null;
  /** Moments inside the sequence (seconds from t0): steps (ours) or marks of the boot script (old). */
  inside: Record<string, number>;
  /** HTTP answers seen before (b) that came without NAT (the web server saw the host's own address). */
  unNatAnswers: number;
  /** Ours only: the orchestrator process at rest, REST_MS after (c). */
  memory: Memory | null;
  /** dhcpcd's and udhcpd's processes in the guest, at the same moment (for information). */
  daemons: Memory | null;
  /** Anything odd seen in this run. */
  notes: string[];
}

/**
 * Polls the guest's network namespace through /proc/<anchor>/net (a file read, no process):
 * when udhcpd's socket on port 67 appears, and when wlan0's prefix route does.
 */
function watchGuest(lab: Lab): { udhcpd: number | null; wlan: number | null; stop(): void } {
  const w = { udhcpd: null as number | null, wlan: null as number | null, stop: () => clearInterval(timer) };
  const base = `/proc/${lab.guestPid}/net`;
  const timer = setInterval(() => {
    const now = Date.now();
    try {
      if (w.udhcpd === null && /^\s*\d+: [0-9A-F]{8}:0043 /m.test(readFileSync(`${base}/udp`, 'utf8'))) w.udhcpd = now;
      if (w.wlan === null && /^wlan0\t/m.test(readFileSync(`${base}/route`, 'utf8'))) w.wlan = now;
    } catch {
      /* the lab is going away */
    }
    if (w.udhcpd !== null && w.wlan !== null) clearInterval(timer);
  }, POLL_EVERY_MS);
  return w;
}

/**
 * A poller in the host namespace: starts a GET every PROBE_EVERY_MS (at most 64 at once, 1.5 s
 * timeout each, so a dropped SYN does not hold the others up) and prints a JSON line for the first
 * answer that came through the NAT (the body is the guest's wlan0 address) and exits; answers with
 * another address are counted.
 */
function probeCode(url: string, want: string): string {
  return `const http = require('node:http');
let inflight = 0, attempts = 0, other = 0, done = false;
function attempt() {
  if (done) return;
  if (inflight < 64) {
    inflight++; attempts++;
    const req = http.get(${JSON.stringify(url)}, { timeout: 1500, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        inflight--;
        if (done) return;
        if (body.trim() === ${JSON.stringify(want)}) {
          done = true;
          process.stdout.write(JSON.stringify({ ok: Date.now(), attempts, other }) + '\\n', () => process.exit(0));
        } else other++;
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => inflight--);
  }
  setTimeout(attempt, ${PROBE_EVERY_MS});
}
attempt();`;
}

interface HostLease {
  event: string;
  at: number;
  ip?: string;
  dns?: string;
  domain?: string;
  lease?: string;
}

function readEvents(file: string): HostLease[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).flatMap((l) => {
    try {
      return [JSON.parse(l) as HostLease];
    } catch {
      return [];
    }
  });
}

const isLease = (e: HostLease) => e.event === 'bound' || e.event === 'renew';
const hasWirelessDns = (e: HostLease) => isLease(e) && (e.dns ?? '').split(/\s+/).includes(WIRELESS_DNS);

/** dhcpcd's and udhcpd's processes in the guest namespace, summed. */
async function daemonsMemory(lab: Lab): Promise<Memory> {
  let total = { ...NO_MEMORY };
  for (const pid of await pidsIn(lab.ns.guest)) {
    if (!['dhcpcd', 'udhcpd', 'busybox'].includes(comm(pid))) continue;
    try {
      total = addMemory(total, smapsRollup(pid));
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}

const secs = (at: number | null | undefined, t0: number): number | null => (at === null || at === undefined ? null : (at - t0) / 1000);

/**
 * One run in a fresh lab. The wireless network, the host's DHCP client (busybox udhcpc, one
 * DISCOVER a second) and the observers start first; t0 is taken just before the spawn.
 */
export async function runOnce(sequence: Sequence, index: number, distDir: string, log: (m: string) => void): Promise<RunFigures> {
  const lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, distDir });
  log(`${sequence} #${index + 1}: lab ${lab.tag}`);
  const notes: string[] = [];
  let watcher: ReturnType<typeof watchGuest> | null = null;
  try {
    await lab.startWirelessNetwork();
    if (sequence === 'old') await prepareOldSequence(lab);
    const hostDhcp = lab.startDhcpClient('host', 'wifibox0');
    const probe = lab.startInHost('http-probe', [process.execPath, '-e', probeCode(`http://${lab.addr.air}:8080/`, lab.addr.guestWlan0)]);
    watcher = watchGuest(lab);
    await sleep(300); // the host's client and the probe are running (their first tries fail: no link yet)

    const t0 = Date.now();
    const proc: LabProcess = sequence === 'ours'
      ? lab.startInit(['--loglevel', 'warn'])
      : lab.startInGuest('old-boot', OLD_BOOT_ARGV);

    const deadline = t0 + RUN_TIMEOUT_MS;
    let reachedAt: number | null = null;
    let probeInfo: { attempts: number; other: number } | null = null;
    let dnsAt: number | null = null;
    while (Date.now() < deadline && !aborted) {
      if (reachedAt === null) {
        const line = probe.output().split('\n').find((l) => l.startsWith('{'));
        if (line) {
          const p = JSON.parse(line) as { ok: number; attempts: number; other: number };
          reachedAt = p.ok;
          probeInfo = p;
        }
      }
      const withDns = readEvents(hostDhcp.events).find(hasWirelessDns);
      if (withDns) dnsAt = withDns.at;
      if (reachedAt !== null && dnsAt !== null) break;
      if (comm(proc.pid) === '') {
        notes.push(`${proc.name} exited early`);
        break;
      }
      await sleep(50);
    }
    const events = readEvents(hostDhcp.events);
    const first = events.find((e) => e.event === 'bound');
    if (!first) notes.push('the host got no lease');
    if (reachedAt === null) notes.push(`the host did not reach the wireless network within ${RUN_TIMEOUT_MS / 1000} s`);
    if (dnsAt === null) notes.push(`the host got no lease with the wireless DNS within ${RUN_TIMEOUT_MS / 1000} s`);

    const inside: Record<string, number> = {};
    let leaseReported: number | null = null;
    let memory: Memory | null = null;
    if (sequence === 'ours') {
      const st = await initStatus(lab, 2000).catch(() => null);
      if (!st) notes.push('no status from wifibox-init');
      for (const s of st?.steps ?? []) if (s.at) inside[s.id] = (Date.parse(s.at) - t0) / 1000;
      // A daemon's `since` is its latest start: udhcpd's is its restart with the wireless DNS.
      for (const d of st?.daemons ?? []) if (d.since) inside[`${d.name} last started`] = (Date.parse(d.since) - t0) / 1000;
      if (st?.lease?.obtainedAt) leaseReported = (Date.parse(st.lease.obtainedAt) - t0) / 1000;
      const failed = (st?.steps ?? []).filter((s: any) => s.state !== 'ok');
      if (failed.length) notes.push(`steps not ok: ${failed.map((s: any) => `${s.id} ${s.state}${s.why ? ` (${s.why})` : ''}`).join('; ')}`);
      for (const d of st?.daemons ?? []) if (d.restarts) notes.push(`${d.name} restarted ${d.restarts} time(s): ${d.lastExit}`);
    } else {
      for (const line of readFileSync(lab.guestPath(OLD_MARKS), 'utf8').split('\n')) {
        const [what, at] = line.split(' ');
        if (!what || !at) continue;
        if (what.startsWith('hook:')) {
          const key = `hook ${what.slice(5)}`;
          if (!(key in inside)) inside[key] = (Number(at) - t0) / 1000;
          if (what === 'hook:BOUND' && leaseReported === null) leaseReported = (Number(at) - t0) / 1000;
        } else {
          inside[what] = (Number(at) - t0) / 1000;
        }
      }
    }

    // At rest: REST_MS after (c) (or after the last thing seen).
    const last = Math.max(dnsAt ?? 0, reachedAt ?? 0, first?.at ?? 0, t0);
    if (!aborted) await sleep(Math.max(0, last + REST_MS - Date.now()));
    if (sequence === 'ours') {
      if (comm(proc.pid) === 'node') memory = smapsRollup(proc.pid);
      else notes.push(`PID ${proc.pid} is '${comm(proc.pid)}', not node: no memory figure`);
    }
    const daemons = await daemonsMemory(lab);

    const figures: RunFigures = {
      sequence,
      index,
      firstLease: secs(first?.at, t0),
      reached: secs(reachedAt, t0),
      dns: secs(dnsAt, t0),
      wlanLease: secs(watcher.wlan, t0),
      udhcpdListening: secs(watcher.udhcpd, t0),
      leaseReported,
      firstLeaseDns: first?.dns ?? '',
      firstLeaseSeconds: first?.lease ? Number(first.lease) : null,
      inside,
      unNatAnswers: probeInfo?.other ?? 0,
      memory,
      daemons,
      notes,
    };
    log(`${sequence} #${index + 1}: (a) ${fmt(figures.firstLease)} s, (b) ${fmt(figures.reached)} s, (c) ${fmt(figures.dns)} s; ` +
      `wlan0 lease ${fmt(figures.wlanLease)} s, udhcpd listening ${fmt(figures.udhcpdListening)} s${notes.length ? `; ${notes.join('; ')}` : ''}`);
    if (notes.length || process.env.WIFIBOX_BENCH_DEBUG) log(lab.logTails(process.env.WIFIBOX_BENCH_DEBUG ? 80 : 20));
    return figures;
  } finally {
    watcher?.stop();
    await lab.down();
  }
}

const fmt = (v: number | null): string => (v === null ? '—' : v.toFixed(3));
