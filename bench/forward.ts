// npm run bench -- forward [--quick] [--write]: wifibox-forward against socat with the same
// forwarding.conf lines, side by side in one lab (station flavor): UDP datagrams/s through the
// sample's UDP4-RECV line, round trips of 32 peers through UDP-LISTEN,fork, TCP throughput and
// connect latency through TCP4-LISTEN,fork, and the memory of each with 32 peers. Prints the
// report and, for a full run (or with --write), writes its section of docs/BENCHMARKS.md.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../lab/lab';
import { sleep } from '../lab/proc';
import { FORWARD_MARKS, renderForwardSection, type ForwardResults } from './forward-report';
import { burst, ForwardLab, FULL, MANY, memoryOfBoth, memoryWithMany, memoryWithPeers, QUICK, setupOf, startRelays, timedRounds, warmUp } from './forward-runs';
import { benchLog, inOwnLab, privateDist } from './harness';
import { agentVersion, machineFacts, programVersion } from './machine';
import { publishSection } from './sections';

const log = benchLog('bench forward');

export async function runForwardBench(argv: string[], command?: string): Promise<void> {
  const quick = argv.includes('--quick');
  const size = quick ? QUICK : FULL;
  const t0 = Date.now();
  // One vCPU for the relays, as the guest has; the load on the other, when there is one.
  const pinned = availableParallelism() >= 2;
  const relayCpu = pinned ? ['taskset', '-c', '1'] : [];
  const dist = privateDist('forward', ['wifibox-forward.js'], true);
  await inOwnLab(log, dist, async (held, interrupt) => {
    log('bringing the lab up');
    const lab = (held.lab = await Lab.up({ flavor: 'wpa_supplicant', distDir: dist.dir }));
    const f = new ForwardLab(lab, join(dist.dir, 'bench.js'), pinned ? '0' : null);
    held.stops.push(() => f.kill());
    await f.startServices();
    const relays = await startRelays(f, dist.dir, relayCpu);
    await sleep(1000);
    const idle = memoryOfBoth(relays);
    const info = { ...machineFacts(), socat: programVersion.socat(), agent: agentVersion(dist.dir, 'wifibox-forward.js'), pinned };
    const warm = await warmUp(f, relays);
    const { udpPeers, tcpConnections } = await memoryWithPeers(f, relays, log);
    const many = await memoryWithMany(f, relays, log);
    const bursts = await burst(f);
    const rounds = await timedRounds(f, relays, size, log, () => interrupt.interrupted);
    if (interrupt.interrupted) throw new Error('interrupted');
    const results: ForwardResults = {
      command: command ?? (quick ? 'npm run bench -- forward --quick' : 'npm run bench -- forward'),
      quick,
      machine: info,
      ...setupOf(f.wlan0, size),
      rounds,
      burst: bursts,
      memory: { idle, warm, udpPeers, tcpConnections, many, manyPeers: MANY },
      durationSec: (Date.now() - t0) / 1000,
    };
    publishSection(renderForwardSection(results), FORWARD_MARKS, null, argv, log);
  });
}
