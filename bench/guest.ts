// npm run bench -- guest [--only-two | --only-three]: the whole guest's standing cost, as a laptop pays it. The guest
// as the image runs it, inside its real budget (48 MB for all its processes, one CPU): wifibox-init,
// wpa_supplicant, the passthrough, wifibox-forward on the forwarding sample's two lines (and a TCP
// line for the load). Each layout in its own lab, one after the other:
//   - two runtimes (now): the passthrough a part of wifibox-init's runtime;
//   - three runtimes (before): the passthrough as its own wifibox-passthru process;
// and a bare `node` serving TCP and UDP in the same guest: the floor of one runtime.
// For each: wpa_supplicant restarted and wlan0 gone and back once, a minute left alone, then the
// agents' wake-ups over a minute at rest and their memory (private + page tables); then the load
// (64 host clients × 100 requests through the host's socat half; 32 UDP peers and 32 TCP
// connections through wifibox-forward) and their memory after it; the budget's use throughout.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { costAtRest, privateKb } from '../lab/cost';
import { GUEST_BUDGET } from '../lab/budget';
import { Lab } from '../lab/lab';
import { ControlLoad } from '../lab/load';
import { sleep, waitFor, type LabProcess } from '../lab/proc';
import { daemonStatus, forwardStatus, initStatus, passthruStatus } from '../lab/status';
import { GUEST_MARKS, renderGuestSection, type GuestLayoutFigures, type GuestResults } from './guest-report';
import { benchLog, GUEST_BUNDLES, inLab, onInterrupt, privateDist } from './harness';
import { machineFacts } from './machine';
import { publishSection } from './sections';

const log = benchLog('bench guest');
/** How long the bench watches and how much load it puts on: its section states each. */
const SIZES = {
  restMs: 60_000,
  /** After the load, this long before its memory is read: its connections closed, each runtime settled (agents/common/settle.ts). */
  settleAfterLoadMs: 15_000,
  clients: 64,
  requests: 100,
  peers: 32,
};
const TCP_PORT = 8080;
/** A router's lease (an hour): a renewal is not what the guest at rest is measured on. */
const WIRELESS_LEASE_S = 3600;

type Layout = 'two runtimes' | 'three runtimes';

/** forwarding.conf: the upstream sample's two lines as users have them, and a TCP line for the load. */
function forwardingConf(hostIp: string): string {
  return [
    "# the upstream sample's two lines, active",
    'UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223',
    'UDP-LISTEN:11224,broadcast,fork,reuseaddr UDP:10.0.0.2:11224',
    "# the bench's load: TCP connections to a host service",
    `TCP4-LISTEN:${TCP_PORT},fork,reuseaddr TCP4:${hostIp}:${TCP_PORT}`,
    '',
  ].join('\n');
}

/** From the wireless network: SIZES.peers UDP peers, one datagram each, and as many TCP connections held until killed. */
const WIRELESS_PEERS = `
const dgram = require('node:dgram'), net = require('node:net');
const [guest, udpPort, tcpPort, n] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const held = [];
let open = 0;
for (let i = 0; i < n; i++) {
  const u = dgram.createSocket('udp4');
  u.send('peer ' + i, udpPort, guest);
  held.push(u);
  const c = net.connect(tcpPort, guest, () => { if (++open === n) console.log('ready'); });
  c.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });
  held.push(c);
}
setInterval(() => {}, 1 << 30);
`;

/** The host's service the TCP line leads to: it accepts and holds. */
const HOST_SERVICE = `require('node:net').createServer(() => {}).listen(${TCP_PORT}, '0.0.0.0', () => console.log('ready'));`;

/** A bare node serving TCP and UDP: what one runtime costs before a line of ours. */
const BARE_NODE = `require('node:net').createServer().listen(0); require('node:dgram').createSocket('udp4').bind(0);`;

/** The guest's processes a layout starts, and the host's bridge to the passthrough. */
interface StartedGuest {
  init: LabProcess;
  wpa: LabProcess;
  /** Three runtimes only: the passthrough as its own process. */
  passthru: LabProcess | null;
  forward: LabProcess;
  bridge: string;
}

/**
 * The guest as the image runs it in `layout`, with the host's lease and its service, until
 * forwarding's lines listen and wlan0 has its lease.
 */
async function startGuest(lab: Lab, layout: Layout): Promise<StartedGuest> {
  await lab.startWirelessNetwork(undefined, undefined, WIRELESS_LEASE_S);
  const init = lab.startInit(['--loglevel', 'warn']);
  const wpa = await lab.startWirelessDaemon();
  let passthru: LabProcess | null = null;
  if (layout === 'two runtimes') await lab.startPassthruPart(['--loglevel', 'warn']);
  else passthru = await lab.startPassthru(['--loglevel', 'warn']);
  const dhcp = lab.startDhcpClient('host', 'wifibox0');
  const hostIp = await waitFor("the host's lease", async () => /"event":"bound".*?"ip":"([\d.]+)"/.exec(await readText(dhcp.events))?.[1], 30_000, 100);
  const service = lab.startInHost('host-service', [process.execPath, '-e', HOST_SERVICE]);
  await waitFor("the host's service", () => service.output().includes('ready'), 10_000, 50);
  writeFileSync(join(lab.dir, 'appliance', 'forwarding.conf'), forwardingConf(hostIp));
  const forward = lab.startForward(['--loglevel', 'warn']);
  await waitFor(
    "forwarding's lines",
    async () => (await forwardStatus(lab, 2000).catch(() => null))?.lines.every((l: { listening: boolean }) => l.listening),
    15_000,
    100,
  );
  const bridge = await lab.startHostBridge(1200, 'wlan0', 3600);
  await waitFor('the wireless lease', async () => (await initStatus(lab, 2000)).lease?.address, 30_000, 100);
  return { init, wpa, passthru, forward, bridge: bridge.path };
}

/** The watches must come back: the wireless daemon restarted once, wlan0 gone and back once. */
async function restartAndReplug(lab: Lab, layout: Layout, wpa: LabProcess): Promise<void> {
  const pid = wpa.pid;
  await lab.stop(wpa);
  rmSync(lab.guestPath(`${lab.controlDir}/wlan0`), { force: true });
  const restarted = await lab.startWirelessDaemon();
  log(`${layout}: wpa_supplicant restarted (pid ${pid} → ${restarted.pid})`);
  await lab.unplugWlan();
  await waitFor('dhcpcd to wait for wlan0', async () => (await daemonStatus(lab, 'dhcpcd')).state === 'waiting', 10_000, 20);
  await lab.plugWlan();
  await waitFor(
    'the wireless lease again',
    async () => {
      const st = await initStatus(lab, 2000);
      return st.lease?.address && st.daemons.find((d: { name: string }) => d.name === 'dhcpcd')?.state === 'running';
    },
    30_000,
    100,
  );
  await waitFor('the passthrough serving the new daemon', async () => (await lab.hostCli(['ping'], { timeoutMs: 5000 })).stdout.trim() === 'PONG', 20_000, 200);
}

/** A minute left alone, then each agent's wake-ups and memory over a minute at rest, beside a bare node's. */
async function costsAtRest(lab: Lab, agents: Record<string, number>): Promise<Pick<GuestLayoutFigures, 'atRest' | 'bareNode'>> {
  const bare = lab.startInGuest('bare-node', [process.execPath, '-e', BARE_NODE]);
  await sleep(60_000);
  const rest = await costAtRest({ ...agents, 'bare node': bare.pid }, SIZES.restMs);
  await lab.stop(bare);
  return { bareNode: rest.find((c) => c.name === 'bare node')!, atRest: rest.filter((c) => c.name !== 'bare node') };
}

/** The load through the passthrough and wifibox-forward; the agents' memory at its end and once they settled after it. */
async function underLoad(lab: Lab, bridge: string, agents: Record<string, number>): Promise<Pick<GuestLayoutFigures, 'atLoadEnd' | 'afterLoad' | 'load'>> {
  const control = new ControlLoad(lab, bridge, SIZES.clients);
  control.start();
  const peers = lab.startInAir('wireless-peers', [process.execPath, '-e', WIRELESS_PEERS, lab.addr.guestWlan0, '11224', String(TCP_PORT), String(SIZES.peers)]);
  await waitFor(
    'the wireless peers',
    () => {
      if (peers.output().includes('error')) throw new Error(`the wireless peers: ${peers.output()}`);
      return peers.output().includes('ready');
    },
    30_000,
    50,
  );
  await waitFor(`${SIZES.clients} × ${SIZES.requests} requests`, () => control.ok >= SIZES.clients * SIZES.requests, 120_000, 100);
  const counts = await control.stop();
  const lines = (await forwardStatus(lab)).lines as Array<{ active: number }>;
  const reading = () => Object.entries(agents).map(([name, p]) => ({ name, pid: p, privateKb: privateKb(p), wakeups: 0 }));
  const atLoadEnd = reading();
  await lab.stop(peers);
  // The guest after the load: its clients gone, and each runtime quiet long enough to settle
  // (it collects and gives pages back some seconds after the last allocation).
  await sleep(SIZES.settleAfterLoadMs);
  const afterLoad = reading();
  const passthruAnswered = (await passthruStatus(lab)).ports[0]?.counters?.replies ?? null;
  return {
    atLoadEnd,
    afterLoad,
    load: { ok: counts.ok, wrong: counts.wrong, forwardActive: lines.reduce((n, l) => n + l.active, 0), passthruReplies: passthruAnswered },
  };
}

async function guestCost(layout: Layout, distDir: string, onLab: (l: Lab | null) => void): Promise<GuestLayoutFigures> {
  const lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false, budget: GUEST_BUDGET, distDir });
  onLab(lab);
  try {
    const guest = await startGuest(lab, layout);
    await restartAndReplug(lab, layout, guest.wpa);
    log(`${layout}: wlan0 gone and back; a minute left alone, then a minute at rest`);
    const agents: Record<string, number> = {
      'wifibox-init': guest.init.pid,
      ...(guest.passthru ? { 'wifibox-passthru': guest.passthru.pid } : {}),
      'wifibox-forward': guest.forward.pid,
    };
    const rest = await costsAtRest(lab, agents);
    log(`${layout}: the load`);
    const load = await underLoad(lab, guest.bridge, agents);
    return {
      layout,
      runtimes: Object.keys(agents).length,
      atRest: rest.atRest,
      atLoadEnd: load.atLoadEnd,
      afterLoad: load.afterLoad,
      bareNode: rest.bareNode,
      load: load.load,
      budget: lab.budgetUse(),
    };
  } finally {
    onLab(null);
    await lab.down();
  }
}

const readText = async (path: string): Promise<string> => (existsSync(path) ? readFileSync(path, 'utf8') : '');

export async function runGuestBench(argv: string[], command = 'npm run bench -- guest'): Promise<void> {
  const t0 = Date.now();
  const dist = privateDist('guest', GUEST_BUNDLES);
  let current: Lab | null = null;
  const interrupt = onInterrupt(log, () => void current?.down());
  await inLab({ lab: () => current, cleanup: async () => dist.remove(), interrupt }, async () => {
    const layouts: GuestLayoutFigures[] = [];
    const only = argv.includes('--only-two') ? ['two runtimes'] : argv.includes('--only-three') ? ['three runtimes'] : ['two runtimes', 'three runtimes'];
    for (const layout of only as Layout[]) {
      log(layout);
      layouts.push(await guestCost(layout, dist.dir, (l) => (current = l)));
    }
    const results: GuestResults = {
      command,
      machine: machineFacts(),
      budget: GUEST_BUDGET,
      ...SIZES,
      layouts,
      durationSec: (Date.now() - t0) / 1000,
    };
    if (layouts.length < 2) process.stdout.write(`${JSON.stringify(layouts, null, 2)}\n`);
    else publishSection(renderGuestSection(results), GUEST_MARKS, null, argv, log);
  });
}
