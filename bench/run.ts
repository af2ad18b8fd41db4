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
import type { ConcurrentResult, HoldReady, LatencyResult, LauncherReply } from './protocol';
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
  await waitFor(
    `port ${port} in the guest`,
    async () => {
      if (comm(p.pid) === '') throw new Error(`${p.name} exited: ${p.output()}`);
      const r = await lab.guest(['ss', '-Htln', `sport = :${port}`]);
      return r.stdout.includes(`:${port}`);
    },
    10_000,
  );
}

interface AgentStatus {
  ports: { port: number; active: number; counters: Record<string, number> }[];
}

/** The agent's status endpoint (a UNIX socket in the guest's /run), or null. */
function agentStatus(lab: Lab): Promise<AgentStatus | null> {
  return passthruStatus(lab, 2000).catch(() => null) as Promise<AgentStatus | null>;
}

async function agentRequests(lab: Lab): Promise<number | null> {
  return (await agentStatus(lab))?.ports.find((p) => p.port === OURS_PORT)?.counters.requests ?? null;
}

/** Our agent's memory while HOLD idle connections from the host namespace are open. */
async function oursWithConnections(lab: Lab, pid: number): Promise<{ memory: Memory; holding: number }> {
  const held = await holdConnections(lab, lab.addr.guestEth0, OURS_PORT, HOLD);
  try {
    await waitFor(
      `the agent to have ${held.ready.holding} connections`,
      async () => (await agentStatus(lab))?.ports.find((p) => p.port === OURS_PORT)?.active === held.ready.holding,
      10_000,
      100,
    );
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
  await waitFor(
    `the connections to port ${port} to go away`,
    async () => {
      if (socatPid !== null && childrenOf(socatPid).length > 0) return false;
      const r = await lab.host(['ss', '-Htn', `dport = :${port}`], { timeoutMs: 5000 });
      return !r.stdout.split('\n').some((l) => l.trim() && !l.startsWith('TIME-WAIT'));
    },
    15_000,
    100,
  ).catch((err: Error) => log(`warning: ${err.message}`));
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
          argv: [
            process.execPath,
            join(lab.opts.distDir, 'wifibox-passthru.js'),
            '--config',
            conf,
            '--runtime-dir',
            `/run/bench-rt-${i}`,
            '--status-socket',
            `/run/bench-${i}.sock`,
            '--loglevel',
            'warn',
          ],
        },
        {
          name: 'socat',
          port: oldPort,
          argv: [
            'socat',
            `TCP4-LISTEN:${oldPort},reuseaddr,bind=${lab.addr.guestEth0},range=${lab.addr.guestEth0}:255.255.255.0,fork`,
            `UNIX-SENDTO:${DAEMON_SOCKET},bind=/run/bench-old-${i},unlink-early`,
          ],
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

/** Both bridges up in the lab, the launcher and the floor responder in the guest: what the tests measure. */
interface Bridges {
  lab: Lab;
  launcher: LauncherClient;
  floorPid: number;
  /** Our agent (node) and the old glue's socat listener, in the guest. */
  ours: number;
  old: number;
  /** The host's socat in front of each, and its datagram socket. */
  hostOurs: number;
  hostOld: number;
  oursSocket: string;
  oldSocket: string;
  /** When our agent was listening (Date.now()). */
  oursListening: number;
}

/** Starts the daemon, both bridges with the host's socat in front of each, the launcher and the floor responder. */
async function startBridges(lab: Lab): Promise<Bridges> {
  await lab.startWirelessDaemon();
  const oursProc = await lab.startPassthru(['--loglevel', 'warn']);
  const oursListening = Date.now();
  const oldProc = lab.startInGuest('old-socat', [
    'socat',
    `TCP4-LISTEN:${OLD_PORT},reuseaddr,bind=10.0.0.1,range=10.0.0.1:255.255.255.0,fork`,
    `UNIX-SENDTO:${DAEMON_SOCKET},bind=${OLD_CLIENT_PATH},unlink-early`,
  ]);
  await listeningInGuest(lab, OLD_PORT, oldProc);
  const oursBridge = await lab.startHostBridge(OURS_PORT, 'wlan0');
  const oldBridge = await lab.startHostBridge(OLD_PORT, 'old-wlan0');
  const launcher = await startLauncher(lab);
  const floor = await launcher.request({
    op: 'start',
    argv: floorResponder(lab.addr.guestEth0, FLOOR_PORT),
    host: lab.addr.guestEth0,
    port: FLOOR_PORT,
    timeoutMs: 10_000,
  });
  if (!floor.ok) throw new Error(`floor responder: ${floor.error}`);
  return {
    lab,
    launcher,
    floorPid: floor.pid,
    ours: programPid(oursProc, 'node'),
    old: programPid(oldProc, 'socat'),
    hostOurs: programPid(oursBridge.proc, 'socat'),
    hostOld: programPid(oldBridge.proc, 'socat'),
    oursSocket: oursBridge.path,
    oldSocket: oldBridge.path,
    oursListening,
  };
}

/** 5a and 5b: both idle before any traffic, then with HOLD idle connections each. */
async function memoryBeforeLoad(b: Bridges): Promise<{
  oursIdle: Memory;
  socatIdle: Memory;
  heldOurs: { memory: Memory; holding: number };
  heldOld: HoldReady;
  socatHeld: { total: Memory; children: number };
}> {
  const { lab, ours, old } = b;
  await sleep(Math.max(0, 1000 - (Date.now() - b.oursListening)));
  const oursIdle = smapsRollup(ours);
  const socatIdle = treeMemory(old).total;
  log(`memory with ${HOLD} connections`);
  const heldOurs = await oursWithConnections(lab, ours);
  const heldOld = await holdConnections(lab, lab.addr.guestEth0, OLD_PORT, HOLD);
  let socatHeld: { total: Memory; children: number };
  try {
    await waitFor(`socat to fork ${heldOld.ready.holding} children`, () => childrenOf(old).length >= heldOld.ready.holding, 10_000, 50).catch((err: Error) =>
      log(`warning: ${err.message} (it has ${childrenOf(old).length})`),
    );
    await sleep(500);
    socatHeld = treeMemory(old);
  } finally {
    await heldOld.release();
  }
  await settle(lab, OLD_PORT, old);
  return { oursIdle, socatIdle, heldOurs, heldOld: heldOld.ready, socatHeld };
}

/** Tests 1–3: a fresh connection per request, one open connection, the full chain through the host's socat. */
async function roundTrips(
  b: Bridges,
  size: Sizes,
): Promise<{ fresh: LatencyResult; open: LatencyResult; openNote: string | null; chain: LatencyResult; chainPeak: Record<string, number> }> {
  const { lab, old } = b;
  const host = lab.addr.guestEth0;
  log(`1. fresh connection per request, N=${size.fresh}`);
  const fresh = await runClient<LatencyResult>(
    lab,
    { op: 'fresh', host, ports: [OURS_PORT, OLD_PORT, FLOOR_PORT], n: size.fresh, block: 100, timeoutMs: 2000 },
    120_000,
  );
  await settle(lab, OURS_PORT, null);
  await settle(lab, OLD_PORT, old);

  log(`2. one open connection, N=${size.open}`);
  const childrenBeforeOpen = childrenOf(old).length;
  const open = await runClient<LatencyResult>(
    lab,
    { op: 'open', host, ports: [OURS_PORT, OLD_PORT, FLOOR_PORT], n: size.open, block: 300, timeoutMs: 2000 },
    120_000,
  );
  // The old glue's forked children all bind one client path, and each removes it when it exits:
  // if the long-lived connection's replies stopped, say whether its path is still there.
  const openNote =
    open.targets[1]!.gaveUpAfter !== null
      ? `old socat's connection stopped getting replies after ${open.targets[1]!.gaveUpAfter} requests; ${OLD_CLIENT_PATH} ${existsSync(lab.guestPath(OLD_CLIENT_PATH)) ? 'still exists' : 'no longer exists'} (socat children before the test: ${childrenBeforeOpen}, now: ${childrenOf(old).length})`
      : null;
  if (openNote) log(openNote);

  log(`3. full chain, N=${size.chain}`);
  const sampler = sampleChildren({ ours: b.hostOurs, socat: b.hostOld });
  const chain = await runClient<LatencyResult>(
    lab,
    { op: 'chain', sockets: [b.oursSocket, b.oldSocket], bindDir: join(lab.dir, 'host'), n: size.chain, block: 50, timeoutMs: 2000 },
    150_000,
  );
  const chainPeak = sampler.stop();
  await settle(lab, OURS_PORT, null);
  await settle(lab, OLD_PORT, old);
  return { fresh, open, openNote, chain, chainPeak };
}

/** Test 4: many clients at once through the full chain, ours then socat, and the children each bridge forked meanwhile. */
async function concurrentClients(
  b: Bridges,
  size: Sizes,
): Promise<{ ccOurs: ConcurrentResult; ccOld: ConcurrentResult; reachedOurs: number | null; ccPeak: Record<string, number> }> {
  const { lab } = b;
  const bindDir = join(lab.dir, 'host');
  log(`4. ${size.clients} concurrent clients x ${size.perClient}`);
  const sampler = sampleChildren({ ours: b.hostOurs, socat: b.hostOld, guest: b.old });
  const requestsBefore = await agentRequests(lab);
  const ccOurs = await runClient<ConcurrentResult>(
    lab,
    { op: 'concurrent', socket: b.oursSocket, bindDir, clients: size.clients, n: size.perClient, timeoutMs: 2000 },
    150_000,
  );
  await settle(lab, OURS_PORT, null);
  // Whatever is lost on our side: did it reach the agent at all, or did the host's socat drop it?
  const reachedOurs = requestsBefore === null ? null : ((await agentRequests(lab)) ?? requestsBefore) - requestsBefore;
  const ccOld = await runClient<ConcurrentResult>(
    lab,
    { op: 'concurrent', socket: b.oldSocket, bindDir, clients: size.clients, n: size.perClient, timeoutMs: 2000 },
    150_000,
  );
  return { ccOurs, ccOld, reachedOurs, ccPeak: sampler.stop() };
}

/** Tests 1–4, with each bridge's peak memory sampled all along (for information). */
async function underLoad(b: Bridges, size: Sizes) {
  const oursPeak = samplePeakMemory(b.ours, false);
  const socatPeak = samplePeakMemory(b.old, true, 500);
  const trips = await roundTrips(b, size);
  const cc = await concurrentClients(b, size);
  const peaks = { ours: oursPeak.stop(), socat: socatPeak.stop() };
  await settle(b.lab, OLD_PORT, b.old);
  const loadEnded = Date.now();
  const counters = (await agentStatus(b.lab))?.ports.find((p) => p.port === OURS_PORT)?.counters ?? null;
  return { ...trips, ...cc, peaks, loadEnded, counters };
}

/** Test 6, once the floor responder is gone; the launcher is done with after it. */
async function startupTest(b: Bridges, size: Sizes): Promise<{ figures: StartupFigures; nodeFloorMemory: Memory | null }> {
  log(`6. time from exec to listening, ${size.startupRuns} runs each`);
  const stopped = await b.launcher.request({ op: 'stop', pid: b.floorPid });
  if (!stopped.ok) log(`warning: floor responder: ${stopped.error}`);
  const startup = await startupTimes(b.lab, b.launcher, size.startupRuns);
  b.launcher.close();
  return startup;
}

/** 5c: our agent again, once it has been idle a while after the load (its heap has grown), idle and with HOLD connections. */
async function memoryAfterLoad(
  b: Bridges,
  loadEnded: number,
): Promise<{ oursAfter: Memory; afterLoadSec: number; heldOursAfter: { memory: Memory; holding: number } }> {
  await sleep(Math.max(0, AFTER_LOAD_IDLE_MS - (Date.now() - loadEnded)));
  const afterLoadSec = (Date.now() - loadEnded) / 1000;
  const oursAfter = smapsRollup(b.ours);
  log(`memory with ${HOLD} connections again, ${afterLoadSec.toFixed(0)} s after the load`);
  const heldOursAfter = await oursWithConnections(b.lab, b.ours);
  return { oursAfter, afterLoadSec, heldOursAfter };
}

/** Every test, in the order they run (5a–5b, 1–4, 6, 5c), and the figures as the section takes them. */
async function measure(lab: Lab, size: Sizes): Promise<Omit<Results, 'quick' | 'command' | 'machine' | 'durationSec'> & { heldOld: HoldReady }> {
  const b = await startBridges(lab);
  const before = await memoryBeforeLoad(b);
  const load = await underLoad(b, size);
  const startup = await startupTest(b, size);
  const after = await memoryAfterLoad(b, load.loadEnded);
  return {
    fresh: pair(load.fresh, size.fresh),
    open: { ...pair(load.open, size.open), note: load.openNote },
    chain: { ...pair(load.chain, size.chain), peakHostChildren: { ours: load.chainPeak.ours!, socat: load.chainPeak.socat! } },
    concurrent: {
      ours: load.ccOurs,
      socat: load.ccOld,
      reachedOurs: load.reachedOurs,
      peakHostChildren: { ours: load.ccPeak.ours!, socat: load.ccPeak.socat! },
      peakGuestSocatChildren: load.ccPeak.guest!,
    },
    memory: {
      oursIdle: before.oursIdle,
      oursHeld: before.heldOurs.memory,
      oursHeldCount: before.heldOurs.holding,
      oursAfter: after.oursAfter,
      oursHeldAfter: after.heldOursAfter.memory,
      oursHeldAfterCount: after.heldOursAfter.holding,
      afterLoadSec: after.afterLoadSec,
      socatIdle: before.socatIdle,
      socatHeld: before.socatHeld.total,
      socatHeldCount: before.heldOld.holding,
      socatHeldChildren: before.socatHeld.children,
      nodeFloor: startup.nodeFloorMemory,
      oursPeak: load.peaks.ours,
      socatPeak: load.peaks.socat,
    },
    startup: startup.figures,
    agentCounters: load.counters,
    heldOld: before.heldOld,
  };
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
    const { heldOld, ...figures } = await measure(lab, size);
    const results: Results = {
      quick,
      command: quick ? 'npm run bench -- --quick' : 'npm run bench',
      machine: info,
      ...figures,
      durationSec: (Date.now() - t0) / 1000,
    };
    const m = results.memory;
    if (m.oursHeldCount < HOLD || m.oursHeldAfterCount < HOLD || heldOld.failed) {
      log(`warning: could not open every held connection (ours ${m.oursHeldCount} and ${m.oursHeldAfterCount}, socat ${heldOld.holding} of ${HOLD})`);
    }
    publishSection(renderSection(results), PASSTHRU_MARKS, null, argv, log);
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
