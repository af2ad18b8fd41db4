// The orchestrator: brings a lab up with both bridges side by side, runs every measurement,
// prints the report and writes it to docs/BENCHMARKS.md. The lab always comes down.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../lab/lab';
import { childrenOf, sleep, waitFor, type LabProcess } from '../lab/proc';
import { passthruStatus } from '../lab/status';
import { benchLog, onInterrupt, privateDist } from './harness';
import { agentVersion, machineFacts, programVersion } from './machine';
import { comm, sampleChildren, samplePeakMemory, smapsRollup, treeMemory, type Memory } from './memory';
import { holdConnections, LauncherClient, runClient, startLauncher, stopClients, useBenchScript } from './procs';
import type { ConcurrentResult, LatencyResult, LauncherReply } from './protocol';
import { PASSTHRU_MARKS, renderSection, type LatencyPair, type Machine, type Results, type StartupFigures } from './report';
import { publishSection } from './sections';

const OURS_PORT = 1200;
const OLD_PORT = 1300;
const OLD_CLIENT_PATH = '/run/old-socat-client';
const DAEMON_SOCKET = '/var/run/wpa_supplicant/wlan0';
const HOLD = 64;
const FLOOR_PORT = 1250;
// V8 gives grown heap back some seconds after the load stops; the test-6 runs fill most of this.
const AFTER_LOAD_IDLE_MS = 10_000;

interface Sizes {
  fresh: number;
  open: number;
  chain: number;
  clients: number;
  perClient: number;
  startupRuns: number;
}

const FULL: Sizes = { fresh: 1000, open: 3000, chain: 500, clients: 64, perClient: 100, startupRuns: 10 };
const QUICK: Sizes = { fresh: 200, open: 500, chain: 100, clients: 64, perClient: 20, startupRuns: 3 };

const log = benchLog('bench');

function machine(lab: Lab): Machine {
  return {
    ...machineFacts(),
    socat: programVersion.socat(),
    wpaSupplicant: programVersion.wpaSupplicant(),
    agent: agentVersion(lab.opts.distDir, 'wifibox-passthru.js'),
  };
}

/** nsenter and `ip netns exec` exec in place: the tracked PID is the program's own. */
function programPid(p: LabProcess, want: string): number {
  const c = comm(p.pid);
  if (c !== want) throw new Error(`${p.name}: expected PID ${p.pid} to be ${want}, it is '${c}'`);
  return p.pid;
}

async function listeningInGuest(lab: Lab, port: number, p: LabProcess): Promise<void> {
  await waitFor(`port ${port} in the guest`, async () => {
    if (comm(p.pid) === '') throw new Error(`${p.name} exited: ${p.output()}`);
    const r = await lab.guest(['ss', '-Htln', `sport = :${port}`]);
    return r.stdout.includes(`:${port}`);
  }, 10_000);
}

interface AgentStatus {
  ports: { port: number; active: number; counters: Record<string, number> }[];
}

/** The agent's status endpoint (a UNIX socket in the guest's /run), or null. */
function agentStatus(lab: Lab): Promise<AgentStatus | null> {
  return passthruStatus(lab, 2000).catch(() => null);
}

async function agentRequests(lab: Lab): Promise<number | null> {
  return (await agentStatus(lab))?.ports.find((p) => p.port === OURS_PORT)?.counters.requests ?? null;
}

/** Our agent's memory while HOLD idle connections from the host namespace are open. */
async function oursWithConnections(lab: Lab, pid: number): Promise<{ memory: Memory; holding: number }> {
  const held = await holdConnections(lab, lab.addr.guestEth0, OURS_PORT, HOLD);
  try {
    await waitFor(`the agent to have ${held.ready.holding} connections`, async () =>
      (await agentStatus(lab))?.ports.find((p) => p.port === OURS_PORT)?.active === held.ready.holding, 10_000, 100);
    await sleep(500);
    return { memory: smapsRollup(pid), holding: held.ready.holding };
  } finally {
    await held.release();
    await settle(lab, OURS_PORT, null);
  }
}

/**
 * Waits until nothing of a test is left: no connection to the port from the host namespace
 * other than in TIME-WAIT, and no forked socat child. Otherwise a straggler (say a connection
 * the old socat's backlog of 5 only accepts seconds later) lands in the next test.
 */
async function settle(lab: Lab, port: number, socatPid: number | null): Promise<void> {
  await waitFor(`the connections to port ${port} to go away`, async () => {
    if (socatPid !== null && childrenOf(socatPid).length > 0) return false;
    const r = await lab.host(['ss', '-Htn', `dport = :${port}`], { timeoutMs: 5000 });
    return !r.stdout.split('\n').some((l) => l.trim() && !l.startsWith('TIME-WAIT'));
  }, 15_000, 100).catch((err: Error) => log(`warning: ${err.message}`));
}

/** What a failed run shows about both bridges before the lab goes away. */
async function diagnose(lab: Lab): Promise<string> {
  const out: string[] = ['--- diagnosis'];
  const listening = await lab.guest(['ss', '-Htlnp'], { timeoutMs: 5000 });
  out.push(`guest listeners:\n  ${listening.stdout.trim().split('\n').join('\n  ')}`);
  out.push(`agent status: ${JSON.stringify(await agentStatus(lab))}`);
  return out.join('\n');
}

function pair(r: LatencyResult, n: number): LatencyPair {
  return { n, ours: r.targets[0]!, socat: r.targets[1]!, floor: r.targets[2] ?? null };
}

/** The least any Node bridge could cost: answers PONG to every read, no daemon behind it. */
function floorResponder(address: string, port: number): string[] {
  const code = `require('net').createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.on('data', () => s.write('PONG\\n')); s.on('end', () => s.end()); s.on('error', () => {});
  }).listen(${port}, '${address}')`;
  return [process.execPath, '-e', code];
}

async function startupTimes(lab: Lab, launcher: LauncherClient, runs: number): Promise<{ figures: StartupFigures; nodeFloorMemory: Memory | null }> {
  const figures: StartupFigures = { runs, ours: [], socat: [], nodeFloor: [], probes: 0 };
  let nodeFloorMemory: Memory | null = null;
  const files: string[] = [];
  const check = (what: string, r: LauncherReply): { pid: number; ms: number; probes: number } => {
    if (!r.ok) throw new Error(`${what}: ${r.error}`);
    if (!('ms' in r)) throw new Error(`${what}: unexpected reply`);
    return r;
  };
  try {
    for (let i = 0; i < runs; i++) {
      const oursPort = 1400 + i;
      const oldPort = 1450 + i;
      const floorPort = 1490 + (i % 10);
      const conf = `/run/bench-${i}.conf`;
      writeFileSync(lab.guestPath(conf), `network=${lab.addr.guestEth0}:255.255.255.0\nsockets="path=${DAEMON_SOCKET},port=${oursPort}"\n`);
      files.push(conf);
      const cases: { name: keyof Omit<StartupFigures, 'runs' | 'probes'>; port: number; argv: string[] }[] = [
        {
          name: 'ours',
          port: oursPort,
          argv: [process.execPath, join(lab.opts.distDir, 'wifibox-passthru.js'), '--config', conf, '--runtime-dir', `/run/bench-rt-${i}`,
            '--status-socket', `/run/bench-${i}.sock`, '--loglevel', 'warn'],
        },
        {
          name: 'socat',
          port: oldPort,
          argv: ['socat', `TCP4-LISTEN:${oldPort},reuseaddr,bind=${lab.addr.guestEth0},range=${lab.addr.guestEth0}:255.255.255.0,fork`,
            `UNIX-SENDTO:${DAEMON_SOCKET},bind=/run/bench-old-${i},unlink-early`],
        },
        {
          name: 'nodeFloor',
          port: floorPort,
          argv: [process.execPath, '-e', `require('net').createServer().listen(${floorPort}, '${lab.addr.guestEth0}')`],
        },
      ];
      // Alternate which goes first, so none always runs right after another's teardown.
      const order = i % 2 ? [...cases].reverse() : cases;
      for (const c of order) {
        const r = check(`start ${c.name}`, await launcher.request({ op: 'start', argv: c.argv, host: lab.addr.guestEth0, port: c.port, timeoutMs: 10_000 }));
        figures[c.name].push(r.ms);
        figures.probes += r.probes;
        if (c.name === 'nodeFloor' && i === runs - 1) {
          await sleep(1000);
          nodeFloorMemory = smapsRollup(r.pid);
        }
        const s = await launcher.request({ op: 'stop', pid: r.pid });
        if (!s.ok) throw new Error(`stop ${c.name}: ${s.error}`);
      }
      files.push(`/run/bench-old-${i}`);
    }
  } finally {
    for (const f of files) rmSync(lab.guestPath(f), { force: true });
  }
  return { figures, nodeFloorMemory };
}

export async function runBench(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const size = quick ? QUICK : FULL;
  const t0 = Date.now();
  log(`bringing the lab up${quick ? ' (quick)' : ''}`);
  const dist = privateDist('run', ['wifibox-passthru.js', 'wifibox_dgram.node'], true);
  useBenchScript(join(dist.dir, 'bench.js'));
  let lab: Lab;
  try {
    lab = await Lab.up({ flavor: 'wpa_supplicant', distDir: dist.dir });
  } catch (err) {
    dist.remove();
    throw err;
  }
  log(`lab ${lab.tag} is up (namespaces ${Object.values(lab.ns).join(', ')})`);
  const interrupt = onInterrupt(log, () => {
    stopClients();
    void lab.down().finally(() => {
      dist.remove();
      process.exit(130);
    });
  });
  try {
    const info = machine(lab);
    await lab.startWirelessDaemon();
    const oursProc = await lab.startPassthru(['--loglevel', 'warn']);
    const oursListening = Date.now();
    const oldProc = lab.startInGuest('old-socat', ['socat', `TCP4-LISTEN:${OLD_PORT},reuseaddr,bind=10.0.0.1,range=10.0.0.1:255.255.255.0,fork`,
      `UNIX-SENDTO:${DAEMON_SOCKET},bind=${OLD_CLIENT_PATH},unlink-early`]);
    await listeningInGuest(lab, OLD_PORT, oldProc);
    const oursBridge = await lab.startHostBridge(OURS_PORT, 'wlan0');
    const oldBridge = await lab.startHostBridge(OLD_PORT, 'old-wlan0');
    const launcher = await startLauncher(lab);
    const floor = await launcher.request({ op: 'start', argv: floorResponder(lab.addr.guestEth0, FLOOR_PORT), host: lab.addr.guestEth0, port: FLOOR_PORT, timeoutMs: 10_000 });
    if (!floor.ok) throw new Error(`floor responder: ${floor.error}`);
    const ours = programPid(oursProc, 'node');
    const old = programPid(oldProc, 'socat');
    const hostOurs = programPid(oursBridge.proc, 'socat');
    const hostOld = programPid(oldBridge.proc, 'socat');
    const host = lab.addr.guestEth0;
    const bindDir = join(lab.dir, 'host');

    // 5a. Memory idle, before any traffic.
    await sleep(Math.max(0, 1000 - (Date.now() - oursListening)));
    const oursIdle = smapsRollup(ours);
    const socatIdle = treeMemory(old).total;

    // 5b. Memory with 64 idle connections held open.
    log(`memory with ${HOLD} connections`);
    const heldOurs = await oursWithConnections(lab, ours);
    const heldOld = await holdConnections(lab, host, OLD_PORT, HOLD);
    let socatHeld: { total: Memory; children: number };
    try {
      await waitFor(`socat to fork ${heldOld.ready.holding} children`, () => childrenOf(old).length >= heldOld.ready.holding, 10_000, 50)
        .catch((err: Error) => log(`warning: ${err.message} (it has ${childrenOf(old).length})`));
      await sleep(500);
      socatHeld = treeMemory(old);
    } finally {
      await heldOld.release();
    }
    await settle(lab, OLD_PORT, old);

    // Peaks while tests 1–4 run, for information: the targets are about idle connections.
    const oursPeak = samplePeakMemory(ours, false);
    const socatPeak = samplePeakMemory(old, true, 500);
    log(`1. fresh connection per request, N=${size.fresh}`);
    const fresh = await runClient<LatencyResult>(lab, { op: 'fresh', host, ports: [OURS_PORT, OLD_PORT, FLOOR_PORT], n: size.fresh, block: 100, timeoutMs: 2000 }, 120_000);
    await settle(lab, OURS_PORT, null);
    await settle(lab, OLD_PORT, old);

    log(`2. one open connection, N=${size.open}`);
    const childrenBeforeOpen = childrenOf(old).length;
    const open = await runClient<LatencyResult>(lab, { op: 'open', host, ports: [OURS_PORT, OLD_PORT, FLOOR_PORT], n: size.open, block: 300, timeoutMs: 2000 }, 120_000);
    // The old glue's forked children all bind one client path, and each removes it when it exits:
    // if the long-lived connection's replies stopped, say whether its path is still there.
    const openNote = open.targets[1]!.gaveUpAfter !== null
      ? `old socat's connection stopped getting replies after ${open.targets[1]!.gaveUpAfter} requests; ${OLD_CLIENT_PATH} ${existsSync(lab.guestPath(OLD_CLIENT_PATH)) ? 'still exists' : 'no longer exists'} (socat children before the test: ${childrenBeforeOpen}, now: ${childrenOf(old).length})`
      : null;
    if (openNote) log(openNote);

    log(`3. full chain, N=${size.chain}`);
    const sockets = [oursBridge.path, oldBridge.path];
    let sampler = sampleChildren({ ours: hostOurs, socat: hostOld });
    const chain = await runClient<LatencyResult>(lab, { op: 'chain', sockets, bindDir, n: size.chain, block: 50, timeoutMs: 2000 }, 150_000);
    const chainPeak = sampler.stop();
    await settle(lab, OURS_PORT, null);
    await settle(lab, OLD_PORT, old);

    log(`4. ${size.clients} concurrent clients x ${size.perClient}`);
    sampler = sampleChildren({ ours: hostOurs, socat: hostOld, guest: old });
    const requestsBefore = await agentRequests(lab);
    const ccOurs = await runClient<ConcurrentResult>(lab, { op: 'concurrent', socket: oursBridge.path, bindDir, clients: size.clients, n: size.perClient, timeoutMs: 2000 }, 150_000);
    await settle(lab, OURS_PORT, null);
    // Whatever is lost on our side: did it reach the agent at all, or did the host's socat drop it?
    const reachedOurs = requestsBefore === null ? null : ((await agentRequests(lab)) ?? requestsBefore) - requestsBefore;
    const ccOld = await runClient<ConcurrentResult>(lab, { op: 'concurrent', socket: oldBridge.path, bindDir, clients: size.clients, n: size.perClient, timeoutMs: 2000 }, 150_000);
    const ccPeak = sampler.stop();
    const peaks = { ours: oursPeak.stop(), socat: socatPeak.stop() };
    await settle(lab, OLD_PORT, old);
    const loadEnded = Date.now();
    const counters = (await agentStatus(lab))?.ports.find((p) => p.port === OURS_PORT)?.counters ?? null;

    log(`6. time from exec to listening, ${size.startupRuns} runs each`);
    const stopped = await launcher.request({ op: 'stop', pid: floor.pid });
    if (!stopped.ok) log(`warning: floor responder: ${stopped.error}`);
    const startup = await startupTimes(lab, launcher, size.startupRuns);
    launcher.close();

    // 5c. Our agent again, once it has been idle a while after the load (its heap has grown).
    await sleep(Math.max(0, AFTER_LOAD_IDLE_MS - (Date.now() - loadEnded)));
    const afterLoadSec = (Date.now() - loadEnded) / 1000;
    const oursAfter = smapsRollup(ours);
    log(`memory with ${HOLD} connections again, ${afterLoadSec.toFixed(0)} s after the load`);
    const heldOursAfter = await oursWithConnections(lab, ours);

    const results: Results = {
      quick,
      command: quick ? 'npm run bench -- --quick' : 'npm run bench',
      machine: info,
      fresh: pair(fresh, size.fresh),
      open: { ...pair(open, size.open), note: openNote },
      chain: { ...pair(chain, size.chain), peakHostChildren: { ours: chainPeak.ours!, socat: chainPeak.socat! } },
      concurrent: { ours: ccOurs, socat: ccOld, reachedOurs, peakHostChildren: { ours: ccPeak.ours!, socat: ccPeak.socat! }, peakGuestSocatChildren: ccPeak.guest! },
      memory: {
        oursIdle,
        oursHeld: heldOurs.memory,
        oursHeldCount: heldOurs.holding,
        oursAfter,
        oursHeldAfter: heldOursAfter.memory,
        oursHeldAfterCount: heldOursAfter.holding,
        afterLoadSec,
        socatIdle,
        socatHeld: socatHeld.total,
        socatHeldCount: heldOld.ready.holding,
        socatHeldChildren: socatHeld.children,
        nodeFloor: startup.nodeFloorMemory,
        oursPeak: peaks.ours,
        socatPeak: peaks.socat,
      },
      startup: startup.figures,
      agentCounters: counters,
      durationSec: (Date.now() - t0) / 1000,
    };
    if (heldOurs.holding < HOLD || heldOursAfter.holding < HOLD || heldOld.ready.failed) {
      log(`warning: could not open every held connection (ours ${heldOurs.holding} and ${heldOursAfter.holding}, socat ${heldOld.ready.holding} of ${HOLD})`);
    }
    publishSection(renderSection(results), PASSTHRU_MARKS, quick ? 'quick run' : null, argv, log);
  } catch (err) {
    process.stderr.write(`${lab.logTails()}\n${await diagnose(lab)}\n`);
    throw err;
  } finally {
    stopClients();
    await lab.down();
    dist.remove();
    interrupt.off();
  }
}
