// npm run bench -- dns-cache: the DNS relay's cache against dnsmasq's, in the same guest on one CPU
// (the lab's 48 MB budget), the wireless network's DNS 30 ms away (lab/dns-delay.cjs in front of a
// dnsmasq). The host asks: a repeated name's latency (both, interleaved), queries/s of a repeated
// name (both, in turns), and wifibox-init's memory once 10,000 names are kept, against the same
// 10,000 questions with the cache off (and the repeated name's latency then: today's relay).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_BUDGET } from '../lab/budget';
import { Lab } from '../lab/lab';
import { sleep, waitFor, type LabProcess } from '../lab/proc';
import { initStatus } from '../lab/status';
import { emojiMark } from './format';
import { benchLog, inLab, onInterrupt, privateDist } from './harness';
import { PROBE } from './init-probe';
import { machineFacts, type MachineFacts } from './machine';
import { smapsRollup } from './memory';
import { publishSection, type SectionMarks } from './sections';
import { median } from './stats';

const log = benchLog('dns-cache');
export const DNS_CACHE_MARKS: SectionMarks = { start: '<!-- dns-cache-bench:start -->', end: '<!-- dns-cache-bench:end -->' };

const REPEATED = 'repeat.wireless.lab';
const FAR_DNS = '192.168.77.55';
const FAR_DELAY_MS = 30;
/** Where dnsmasq listens in the guest: a second address of eth0. */
const GUEST_DNSMASQ = '10.0.0.3';
const LATENCY_ROUNDS = 400;
const QPS_SECONDS = 3;
const QPS_TURNS = 5;
const QPS_CONCURRENCY = 16;
const NAMES = 10_000;
const FILL_CONCURRENCY = 64;
/** After a burst, wifibox-init gives heap pages back once it has been quiet 5 s (agents/common/settle.ts). */
const SETTLE_MS = 7000;

interface Phase {
  cache: number;
  /** Private memory + page tables of wifibox-init, kB, after NAMES distinct questions. */
  memoryKiB: number;
  repeatedMs: number;
  farAsked: number;
}

interface Results {
  command: string;
  machine: MachineFacts;
  ours: { latencyMs: number; qps: number[] };
  dnsmasq: { latencyMs: number; qps: number[] };
  on: Phase;
  off: Phase;
  durationSec: number;
}

/** The host's probes run on the CPU the guest does not have: they measure the guest, not compete with it. */
const onHostCpu = (argv: string[]): string[] => ['taskset', '-c', '1', ...argv];

const jsonOut = <T>(text: string, event: string): T => {
  const line = text.split('\n').find((l) => l.includes(`"event":"${event}"`));
  if (!line) throw new Error(`the probe printed no ${event} line: ${text.slice(-300)}`);
  return JSON.parse(line) as T;
};

async function latency(lab: Lab, servers: string[]): Promise<number[]> {
  const r = await lab.host(onHostCpu([process.execPath, PROBE, 'latency', REPEATED, String(LATENCY_ROUNDS), ...servers]), { timeoutMs: 300_000 });
  const line = jsonOut<{ times: number[][]; failures: number }>(r.stdout, 'latency');
  if (line.failures > 0) throw new Error(`${line.failures} rounds had a query unanswered`);
  return servers.map((_, k) => median(line.times.map((t) => t[k]!)));
}

async function qps(lab: Lab, server: string): Promise<number> {
  const r = await lab.host(onHostCpu([process.execPath, PROBE, 'qps', server, REPEATED, String(QPS_SECONDS), String(QPS_CONCURRENCY)]), { timeoutMs: 60_000 });
  return jsonOut<{ perSecond: number }>(r.stdout, 'qps').perSecond;
}

/** NAMES distinct questions to the relay, FILL_CONCURRENCY at a time. */
async function fill(lab: Lab): Promise<void> {
  const r = await lab.host(onHostCpu([process.execPath, PROBE, 'names', lab.addr.guestEth0, 'bulk.lab', String(NAMES), String(FILL_CONCURRENCY)]), { timeoutMs: 300_000 });
  log(`${jsonOut<{ answered: number }>(r.stdout, 'names').answered} of ${NAMES} names answered`);
}

const farAsked = (far: LabProcess): number => far.output().split('\n').filter((l) => l.includes('"asked"')).length;

/** wifibox-init with `cache`, NAMES questions asked, its memory once quiet; the repeated name's latency. */
async function phase(lab: Lab, far: LabProcess, hostEvents: string, cache: number): Promise<{ phase: Phase; init: LabProcess }> {
  writeFileSync(join(lab.dir, 'appliance', 'wifibox-agents.conf'), `[init]\ncache = ${cache}\n`);
  const init = lab.startInit(['--loglevel', 'warn'], `init-cache-${cache}`);
  await waitFor('the far DNS at the relay', async () => (await initStatus(lab).catch(() => null))?.dnsRelay?.servers.join(' ') === FAR_DNS || null, 30_000, 50);
  await waitFor('the host\'s lease', () => (existsSync(hostEvents) && readFileSync(hostEvents, 'utf8').includes('"bound"')) || null, 30_000, 50);
  const askedBefore = farAsked(far);
  await fill(lab);
  const [repeatedMs] = await latency(lab, [lab.addr.guestEth0]);
  await sleep(SETTLE_MS);
  const m = smapsRollup(init.pid);
  const st = await initStatus(lab);
  log(`cache = ${cache}: ${st.dnsRelay.cache.names} names kept, memory ${(m.privateClean + m.privateDirty + m.pageTables) / 1024} MB`);
  return { phase: { cache, memoryKiB: m.privateClean + m.privateDirty + m.pageTables, repeatedMs: repeatedMs!, farAsked: farAsked(far) - askedBefore }, init };
}

function render(r: Results): string {
  const m = r.machine;
  const lat = r.ours.latencyMs / r.dnsmasq.latencyMs;
  // Each turn of ours against the dnsmasq turn right after it: the machine's load drifts.
  const q = median(r.ours.qps.map((x, i) => x / r.dnsmasq.qps[i]!));
  const extraMB = (r.on.memoryKiB - r.off.memoryKiB) / 1024;
  return [
    DNS_CACHE_MARKS.start,
    '## The DNS relay\'s cache against dnsmasq\'s',
    '',
    `Command: \`${r.command}\` — run ${m.date}, took ${r.durationSec.toFixed(0)} s.`,
    `Machine: ${m.nproc} CPUs (${m.cpu}), Linux ${m.kernel}, Node ${m.node} (tree ${m.git}).`,
    '',
    `The guest's processes on CPU 0 in a 48 MB budget, the host's probes on CPU 1; the wireless network's DNS ${FAR_DELAY_MS} ms away (lab/dns-delay.cjs`,
    'in front of a dnsmasq). In the same guest, dnsmasq as a caching forwarder (`--cache-size=10000`) on a second',
    `address of eth0, asking the same far server. The host asks: the repeated name's latency, ${LATENCY_ROUNDS} rounds (one`,
    `query to each, in alternating order, after 20 to warm up), medians; queries/s of the repeated name, ${QPS_CONCURRENCY} in flight,`,
    `${QPS_SECONDS} s at a time, ${QPS_TURNS} turns each, alternating, medians; then wifibox-init's private memory + page tables`,
    `after ${NAMES.toLocaleString('en')} distinct names were asked (${FILL_CONCURRENCY} in flight) and it was quiet ${SETTLE_MS / 1000} s, with \`cache = ${r.on.cache}\``,
    'and, in a wifibox-init started afresh, with `cache = 0`.',
    '',
    '| | relay (ours) | dnsmasq | ratio | target |',
    '|---|---:|---:|---:|---|',
    `| repeated name, latency (ms) | ${r.ours.latencyMs.toFixed(3)} | ${r.dnsmasq.latencyMs.toFixed(3)} | ${lat.toFixed(2)} | ≤ 2×: ${emojiMark(lat <= 2)} |`,
    `| repeated name, queries/s | ${median(r.ours.qps).toFixed(0)} | ${median(r.dnsmasq.qps).toFixed(0)} | ${q.toFixed(2)} (the turns' ratios' median) | ≥ 0.5×: ${emojiMark(q >= 0.5)} |`,
    '',
    '| wifibox-init | cache on | cache off | difference | target |',
    '|---|---:|---:|---:|---|',
    `| memory after ${NAMES.toLocaleString('en')} names (MB) | ${(r.on.memoryKiB / 1024).toFixed(2)} | ${(r.off.memoryKiB / 1024).toFixed(2)} | ${extraMB.toFixed(2)} | ≤ 2 MB: ${emojiMark(extraMB <= 2)} |`,
    `| the repeated name's latency (ms) | ${r.on.repeatedMs.toFixed(3)} | ${r.off.repeatedMs.toFixed(3)} | | ≤ 1 ms with the cache: ${emojiMark(r.on.repeatedMs <= 1)} |`,
    `| questions that reached the far server | ${r.on.farAsked} | ${r.off.farAsked} | | |`,
    '',
    `Every queries/s turn: ours ${r.ours.qps.map((x) => x.toFixed(0)).join(', ')}; dnsmasq ${r.dnsmasq.qps.map((x) => x.toFixed(0)).join(', ')}.`,
    DNS_CACHE_MARKS.end,
  ].join('\n');
}

export async function runDnsCacheBench(argv: string[], command = 'npm run bench -- dns-cache'): Promise<void> {
  const t0 = Date.now();
  const dist = privateDist('dns-cache', ['wifibox-init.js', 'wifibox-passthru.js', 'wifibox_dgram.node', 'wifibox-dhcpcd-hook']);
  let lab: Lab | null = null;
  const interrupt = onInterrupt(log, () => void lab?.down());
  await inLab({ lab: () => lab, cleanup: async () => { await lab?.down(); dist.remove(); }, interrupt }, async () => {
    lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, budget: GUEST_BUDGET, distDir: dist.dir });
    const air = await lab.startWirelessNetwork('192.168.77.53', 'wireless.lab');
    await lab.startWirelessDns('192.168.77.54', { [REPEATED]: '192.168.77.201,3600' }, ['--address=/bulk.lab/192.0.2.7', '--local-ttl=3600']);
    const far = await lab.startFarWirelessDns(FAR_DNS, '192.168.77.54', FAR_DELAY_MS);
    await lab.stop(air.dhcp);
    lab.startWirelessDhcp(FAR_DNS, 'wireless.lab', 3600);
    const host = lab.startDhcpClient('host', 'wifibox0');

    log('cache off: a wifibox-init with cache = 0');
    const off = await phase(lab, far, host.events, 0);
    await lab.stop(off.init);
    log('cache on: a wifibox-init with cache = 10000');
    const on = await phase(lab, far, host.events, NAMES);

    await lab.guest(['ip', 'addr', 'replace', `${GUEST_DNSMASQ}/24`, 'dev', 'eth0']);
    lab.startInGuest('guest-dnsmasq', ['dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces',
      `--listen-address=${GUEST_DNSMASQ}`, '--port=53', '--user=nobody', '--group=nogroup', `--pid-file=/run/bench-dnsmasq.pid`, '--log-facility=-',
      `--server=${FAR_DNS}`, '--cache-size=10000']);
    await waitFor('dnsmasq in the guest', async () => (await lab!.guest(['ss', '-Hlun', `src ${GUEST_DNSMASQ}:53`])).stdout.includes(':53') || null, 10_000, 50);
    const [oursMs, dnsmasqMs] = await latency(lab, [lab.addr.guestEth0, GUEST_DNSMASQ]);
    const oursQps: number[] = [];
    const dnsmasqQps: number[] = [];
    for (let i = 0; i < QPS_TURNS; i++) {
      oursQps.push(await qps(lab, lab.addr.guestEth0));
      dnsmasqQps.push(await qps(lab, GUEST_DNSMASQ));
    }
    const results: Results = {
      command: [command, ...argv].join(' '), machine: machineFacts(),
      ours: { latencyMs: oursMs!, qps: oursQps }, dnsmasq: { latencyMs: dnsmasqMs!, qps: dnsmasqQps },
      on: on.phase, off: off.phase, durationSec: (Date.now() - t0) / 1000,
    };
    publishSection(render(results), DNS_CACHE_MARKS, null, argv, log);
  });
}
