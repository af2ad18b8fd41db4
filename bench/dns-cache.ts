// npm run bench -- dns-cache: the DNS relay's cache against dnsmasq's, in the same guest on one CPU
// (the lab's 48 MB budget), the wireless network's DNS 30 ms away (lab/dns-delay.cjs in front of a
// dnsmasq). The host asks: a repeated name's latency (both, interleaved), queries/s of a repeated
// name (both, in turns), and wifibox-init's memory once 10,000 names are kept, against the same
// 10,000 questions with the cache off (and the repeated name's latency then: today's relay).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_BUDGET } from '../lab/budget';
import { dnsmasqArgv } from '../lab/dnsmasq';
import { dhcpEvents, Lab } from '../lab/lab';
import { sleep, waitFor, type LabProcess } from '../lab/proc';
import { initStatus, relayOf } from '../lab/status';
import { DNS_CACHE_MARKS, renderDnsCacheSection, type DnsCacheResults, type DnsCacheSizes, type Phase } from './dns-cache-report';
import { benchLog, inLab, onInterrupt, privateDist } from './harness';
import { PROBE } from './init-probe';
import { machineFacts } from './machine';
import { privateKb } from '../lab/cost';
import { publishSection } from './sections';
import { median } from './stats';

const log = benchLog('dns-cache');

const REPEATED = 'repeat.wireless.lab';
const FAR_DNS = '192.168.77.55';
/** Where dnsmasq listens in the guest: a second address of eth0. */
const GUEST_DNSMASQ = '10.0.0.3';
const SIZES: DnsCacheSizes = {
  farDelayMs: 30,
  latencyRounds: 400,
  qpsSeconds: 3,
  qpsTurns: 5,
  qpsConcurrency: 16,
  names: 10_000,
  fillConcurrency: 64,
  /** After a burst, wifibox-init gives heap pages back once it has been quiet 5 s (agents/common/settle.ts). */
  settleMs: 7000,
};

/** The host's probes run on the CPU the guest does not have: they measure the guest, not compete with it. */
const onHostCpu = (argv: string[]): string[] => ['taskset', '-c', '1', ...argv];

const jsonOut = <T>(text: string, event: string): T => {
  const line = text.split('\n').find((l) => l.includes(`"event":"${event}"`));
  if (!line) throw new Error(`the probe printed no ${event} line: ${text.slice(-300)}`);
  return JSON.parse(line) as T;
};

async function latency(lab: Lab, servers: string[]): Promise<number[]> {
  const r = await lab.host(onHostCpu([process.execPath, PROBE, 'latency', REPEATED, String(SIZES.latencyRounds), ...servers]), { timeoutMs: 300_000 });
  const line = jsonOut<{ times: number[][]; failures: number }>(r.stdout, 'latency');
  if (line.failures > 0) throw new Error(`${line.failures} rounds had a query unanswered`);
  return servers.map((_, k) => median(line.times.map((t) => t[k]!)));
}

async function qps(lab: Lab, server: string): Promise<number> {
  const r = await lab.host(onHostCpu([process.execPath, PROBE, 'qps', server, REPEATED, String(SIZES.qpsSeconds), String(SIZES.qpsConcurrency)]), {
    timeoutMs: 60_000,
  });
  return jsonOut<{ perSecond: number }>(r.stdout, 'qps').perSecond;
}

/** SIZES.names distinct questions to the relay, SIZES.fillConcurrency at a time. */
async function fill(lab: Lab): Promise<void> {
  const r = await lab.host(onHostCpu([process.execPath, PROBE, 'names', lab.addr.guestEth0, 'bulk.lab', String(SIZES.names), String(SIZES.fillConcurrency)]), {
    timeoutMs: 300_000,
  });
  log(`${jsonOut<{ answered: number }>(r.stdout, 'names').answered} of ${SIZES.names} names answered`);
}

const farAsked = (far: LabProcess): number =>
  far
    .output()
    .split('\n')
    .filter((l) => l.includes('"asked"')).length;

/** wifibox-init with `cache`, SIZES.names questions asked, its memory once quiet; the repeated name's latency. */
async function phase(lab: Lab, far: LabProcess, hostEvents: string, cache: number): Promise<{ phase: Phase; init: LabProcess }> {
  writeFileSync(join(lab.dir, 'appliance', 'wifibox-agents.conf'), `[init]\ncache = ${cache}\n`);
  const init = lab.startInit(['--loglevel', 'warn'], `init-cache-${cache}`);
  await waitFor('the far DNS at the relay', async () => (await initStatus(lab).catch(() => null))?.dnsRelay?.servers.join(' ') === FAR_DNS || null, 30_000, 50);
  await waitFor("the host's lease", () => dhcpEvents(hostEvents).some((e) => e.event === 'bound') || null, 30_000, 50);
  const askedBefore = farAsked(far);
  await fill(lab);
  const [repeatedMs] = await latency(lab, [lab.addr.guestEth0]);
  await sleep(SIZES.settleMs);
  const memoryKiB = privateKb(init.pid);
  const st = await initStatus(lab);
  log(`cache = ${cache}: ${relayOf(st).cache.names} names kept, memory ${memoryKiB / 1024} MB`);
  return { phase: { cache, memoryKiB, repeatedMs: repeatedMs!, farAsked: farAsked(far) - askedBefore }, init };
}

export async function runDnsCacheBench(argv: string[], command = 'npm run bench -- dns-cache'): Promise<void> {
  const t0 = Date.now();
  const dist = privateDist('dns-cache', ['wifibox-init.js', 'wifibox-passthru.js', 'wifibox_dgram.node', 'wifibox-dhcpcd-hook']);
  let lab: Lab | null = null;
  const interrupt = onInterrupt(log, () => void lab?.down());
  await inLab(
    {
      lab: () => lab,
      cleanup: async () => {
        await lab?.down();
        dist.remove();
      },
      interrupt,
    },
    async () => {
      lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, budget: GUEST_BUDGET, distDir: dist.dir });
      const air = await lab.startWirelessNetwork('192.168.77.53', 'wireless.lab');
      await lab.startWirelessDns('192.168.77.54', { [REPEATED]: '192.168.77.201,3600' }, ['--address=/bulk.lab/192.0.2.7', '--local-ttl=3600']);
      const far = await lab.startFarWirelessDns(FAR_DNS, '192.168.77.54', SIZES.farDelayMs);
      await lab.stop(air.dhcp);
      lab.startWirelessDhcp(FAR_DNS, 'wireless.lab', 3600);
      const host = lab.startDhcpClient('host', 'wifibox0');

      log('cache off: a wifibox-init with cache = 0');
      const off = await phase(lab, far, host.events, 0);
      await lab.stop(off.init);
      log('cache on: a wifibox-init with cache = 10000');
      const on = await phase(lab, far, host.events, SIZES.names);

      await lab.guest(['ip', 'addr', 'replace', `${GUEST_DNSMASQ}/24`, 'dev', 'eth0']);
      lab.startInGuest(
        'guest-dnsmasq',
        dnsmasqArgv(`--listen-address=${GUEST_DNSMASQ}`, '/run/bench-dnsmasq.pid', [`--server=${FAR_DNS}`, '--cache-size=10000']),
      );
      await waitFor(
        'dnsmasq in the guest',
        async () => (await lab!.guest(['ss', '-Hlun', `src ${GUEST_DNSMASQ}:53`])).stdout.includes(':53') || null,
        10_000,
        50,
      );
      const [oursMs, dnsmasqMs] = await latency(lab, [lab.addr.guestEth0, GUEST_DNSMASQ]);
      const oursQps: number[] = [];
      const dnsmasqQps: number[] = [];
      for (let i = 0; i < SIZES.qpsTurns; i++) {
        oursQps.push(await qps(lab, lab.addr.guestEth0));
        dnsmasqQps.push(await qps(lab, GUEST_DNSMASQ));
      }
      const results: DnsCacheResults = {
        command: [command, ...argv].join(' '),
        machine: machineFacts(),
        ours: { latencyMs: oursMs!, qps: oursQps },
        dnsmasq: { latencyMs: dnsmasqMs!, qps: dnsmasqQps },
        on: on.phase,
        off: off.phase,
        sizes: SIZES,
        durationSec: (Date.now() - t0) / 1000,
      };
      publishSection(renderDnsCacheSection(results), DNS_CACHE_MARKS, null, argv, log);
    },
  );
}
