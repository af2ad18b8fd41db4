// The guest as the fault suite (test/lab/faults.test.ts) and the soak (bench/soak.ts) run it —
// wifibox-init and its daemons, wpa_supplicant and wifibox-passthru inside the guest's budget, the
// host's DHCP client and socat, a probe of the host's reach of the wireless network — and the
// faults both inject. A fault's `inject` makes the fault and restarts what the guest's service
// would restart, as OpenRC's supervise-daemon does after its respawn delay; it returns when the
// fault ended (`restoredAt`), from which the recovery time is measured.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BudgetOptions, BudgetUse } from './budget';
import { HostClient } from './host-client';
import { type Lab } from './lab';
import { packageNodeFlags } from './paths';
import { guestHoldings, type GuestHoldings } from './leaks';
import { ControlLoad, ReachProbe } from './load';
import { isSameProcess, sleep, waitFor, type LabProcess } from './proc';
import { daemonStatus, initStatus, pidOf } from './status';
import { WIRELESS_DNS, WIRELESS_DOMAIN } from './wireless';

// The fault suite's guest runs in the guest's budget (lab/budget.ts); its importers find it here too.
export { GUEST_BUDGET } from './budget';
/** Host clients asking for their own replies all along. */
export const LOAD_CLIENTS = 32;

/** The respawn delays of the packaged services (init/*.confd): supervise-daemon waits that long. */
export const RESPAWN_INIT_MS = 2000;
export const INIT_ARGS = ['--loglevel', 'info'];
const PASSTHRU_ARGS = ['--loglevel', 'info', '--idle-timeout', '2'];

export interface FaultContext {
  lab: Lab;
  air: { dhcp: LabProcess };
  /** wifibox-init's runtime: the network and, switched on as uds_passthru does, the passthrough. */
  init: LabProcess;
  wpa: LabProcess;
  hostDhcp: { proc: LabProcess; events: string };
  bridge: { proc: LabProcess; path: string };
  reach: ReachProbe;
}

export interface FaultTimes {
  faultAt: number;
  restoredAt: number;
  /** A fault that lasts on (a client that holds its connection): its end, once service was checked meanwhile. */
  ending?: Promise<void>;
}

export interface Fault {
  id: string;
  fault: string;
  holds: string;
  /** Service must be back (wpa_cli ping through the passthrough, and the NAT) this soon after `after`. */
  withinMs: number;
  after: string;
  inject(c: FaultContext): Promise<FaultTimes>;
}

/** One case's figures, as the fault suite writes them to WIFIBOX_RELIABILITY_OUT. */
export interface FaultResult {
  id: string;
  fault: string;
  holds: string;
  withinMs: number;
  after: string;
  recoveryMs: number;
  leaks: string[];
  wrongReplies: number;
  [figure: string]: unknown;
}

/** The whole file WIFIBOX_RELIABILITY_OUT names. */
export interface FaultSuiteOutput {
  budget: BudgetOptions;
  use: BudgetUse | null;
  results: FaultResult[];
}

/** The agents whose descriptors are counted, by name, with their PIDs now. */
export const agentPids = (c: FaultContext): Record<string, number> => ({ 'wifibox-init': c.init.pid });

/** Whether the passthrough holds no connection (its runtime folder has one socket per connection). */
export const passthruAtRest = (lab: Lab): boolean => readdirSync(lab.guestPath('/run/wifibox-passthru')).length === 0;

/**
 * Boots the guest in `lab` (built with GUEST_BUDGET, station flavor, configureGuest false), runs
 * the budget's other users once (a diag bundle, the clients), and returns it with what it holds
 * at rest: the baseline nothing may differ from once a fault is over.
 */
export async function bootGuest(lab: Lab): Promise<{ ctx: FaultContext; baseline: GuestHoldings }> {
  const air = await lab.startWirelessNetwork();
  const init = lab.startInit(INIT_ARGS);
  const wpa = await lab.startWirelessDaemon();
  await lab.startPassthruPart(PASSTHRU_ARGS);
  const hostDhcp = lab.startDhcpClient('host', 'wifibox0');
  const bridge = await lab.startHostBridge(1200, 'wlan0', 3600);
  await waitFor("the guest's wireless lease", async () => (await initStatus(lab)).lease?.address, 30_000, 100);
  const reach = new ReachProbe(lab);
  const ctx: FaultContext = { lab, air, init, wpa, hostDhcp, bridge, reach };
  await waitFor("the host's reach of the wireless network", () => reach.firstAnswerAfter(0), 30_000, 100);
  const bundle = await lab.guest(
    [process.execPath, ...packageNodeFlags('wifibox-diag'), join(lab.opts.distDir, 'wifibox-diag.js'), 'bundle', '/run/diag-bundle.tar.gz'],
    { timeoutMs: 60_000 },
  );
  if (bundle.code !== 0) throw new Error(`wifibox-diag bundle: exit ${bundle.code}: ${bundle.stderr}`);
  rmSync(lab.guestPath('/run/diag-bundle.tar.gz'));
  const warm = new ControlLoad(lab, bridge.path, LOAD_CLIENTS);
  warm.start();
  await waitFor('every client answered', () => warm.ok >= LOAD_CLIENTS * 3, 30_000, 50);
  const counts = await warm.stop();
  if (counts.wrong) throw new Error(`warm-up: ${counts.samples.join('; ')}`);
  // The baseline is the guest at rest: the clients' last connections closed.
  await waitFor('no connection left at the passthrough', () => passthruAtRest(lab), 15_000, 100);
  return { ctx, baseline: await guestHoldings(lab, agentPids(ctx)) };
}

/** Both host-facing services answer: wpa_cli's ping through the passthrough, and the NAT; ms from `since`. */
export async function serviceBack(c: FaultContext, since: number, withinMs: number): Promise<number> {
  const pinger = new HostClient(join(c.lab.dir, 'clients'), c.bridge.path);
  try {
    const pingAt = await waitFor(
      'wpa_cli ping through the passthrough',
      async () => ((await pinger.request('PING', 500)) === 'PONG\n' ? Date.now() : null),
      withinMs + 20_000,
      20,
    );
    const reachAt = await waitFor('the wireless network through the NAT', () => c.reach.firstAnswerAfter(since), withinMs + 20_000, 20);
    return Math.max(pingAt, reachAt) - since;
  } finally {
    pinger.close();
  }
}

const daemonPid = async (c: FaultContext, name: string): Promise<number> => pidOf(await daemonStatus(c.lab, name));

/**
 * A fault that takes something away and gives it back: `stop` it, let `pass` go by (a respawn
 * delay, or until it is gone), `start` it again. The fault is over (restoredAt) when the start begins.
 */
export async function outage(stop: () => unknown, pass: () => Promise<unknown>, start: () => Promise<unknown>): Promise<FaultTimes> {
  const faultAt = Date.now();
  await stop();
  await pass();
  const restoredAt = Date.now();
  await start();
  return { faultAt, restoredAt };
}

async function killDaemon(c: FaultContext, name: string): Promise<FaultTimes> {
  const pid = await daemonPid(c, name);
  const faultAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await waitFor(
    `${name} back`,
    async () => {
      const d = await daemonStatus(c.lab, name);
      return d.state === 'running' && d.pid !== pid;
    },
    10_000,
    20,
  );
  return { faultAt, restoredAt: faultAt };
}

/** The wireless network's DHCP server again, with the usual DNS and this domain; dhcpcd asked to renew. */
export async function wirelessDhcp(c: FaultContext, domain: string): Promise<void> {
  await c.lab.stop(c.air.dhcp);
  c.air.dhcp = c.lab.startWirelessDhcp(WIRELESS_DNS, domain, 120);
  await c.lab.guest(['dhcpcd', '-n', 'wlan0']);
}

/** The faults that leave wifibox-init and wifibox-passthru running: the soak repeats them. */
export const DAEMON_FAULTS: readonly Fault[] = [
  {
    id: 'udhcpd-killed',
    fault: 'kill -9 of udhcpd',
    holds: "wifibox-init starts it again; the host keeps its lease (udhcpd's lease file)",
    withinMs: 3000,
    after: 'the kill',
    inject: (c) => killDaemon(c, 'udhcpd'),
  },
  {
    id: 'dhcpcd-killed',
    fault: 'kill -9 of dhcpcd',
    holds: 'wifibox-init starts it again; its helpers and control sockets do not outlive it',
    withinMs: 3000,
    after: 'the kill',
    inject: (c) => killDaemon(c, 'dhcpcd'),
  },
  {
    id: 'wpa-killed',
    fault: 'kill -9 of wpa_supplicant; started again as its service would be',
    holds: "the host's wpa_cli ping answers within 1.5 s of the restart",
    withinMs: 1500,
    after: 'the restart',
    inject: (c) =>
      outage(
        () => process.kill(c.wpa.pid, 'SIGKILL'),
        async () => {
          await waitFor('wpa_supplicant gone', () => !isSameProcess(c.wpa), 5000, 10);
          // Killed outright, it leaves its control socket behind; its service starts it afresh.
          rmSync(c.lab.guestPath(`${c.lab.controlDir}/wlan0`), { force: true });
        },
        async () => (c.wpa = await c.lab.startWirelessDaemon()),
      ),
  },
  {
    id: 'wlan0-reset',
    fault: 'wlan0 deleted and created again (a card reset)',
    holds:
      "dhcpcd waits for it and starts at once when it is back; the host's traffic flows again (the benchmark measures the 1 s target; " +
      'the bound here allows one lost DHCP request, which dhcpcd sends again after 4 ± 1 s)',
    withinMs: 6000,
    after: 'wlan0 is back',
    async inject(c) {
      const faultAt = Date.now();
      await c.lab.unplugWlan();
      await waitFor('dhcpcd to wait for wlan0', async () => (await daemonStatus(c.lab, 'dhcpcd')).state === 'waiting', 10_000, 20);
      await c.lab.plugWlan();
      return { faultAt, restoredAt: Date.now() };
    },
  },
  {
    id: 'eth0-flap',
    fault: 'eth0 down for 1 s, then up',
    holds: 'the passthrough and the NAT serve the host again',
    withinMs: 2000,
    after: 'eth0 is up',
    async inject(c) {
      const faultAt = Date.now();
      await c.lab.guest(['ip', 'link', 'set', 'eth0', 'down']);
      await sleep(1000);
      await c.lab.guest(['ip', 'link', 'set', 'eth0', 'up']);
      return { faultAt, restoredAt: Date.now() };
    },
  },
  {
    id: 'host-socat-restarted',
    fault: "the host's socat half stopped and started again",
    holds: "every client's next request is answered, by its own reply",
    withinMs: 2000,
    after: 'the host socat is back',
    inject: (c) =>
      outage(
        () => c.lab.stop(c.bridge.proc),
        () => sleep(500),
        async () => (c.bridge = await c.lab.startHostBridge(1200, 'wlan0', 3600)),
      ),
  },
  {
    id: 'wireless-dhcp-gone',
    fault: 'the wireless DHCP server gone for 3 s while dhcpcd renews, then back',
    holds: 'the guest keeps its lease meanwhile: the host never loses the wireless network for more than 1 s',
    withinMs: 2000,
    after: 'the server is back',
    inject: (c) =>
      outage(
        async () => {
          await c.lab.stop(c.air.dhcp);
          await c.lab.guest(['dhcpcd', '-n', 'wlan0']);
        },
        () => sleep(3000),
        async () => {
          c.air.dhcp = c.lab.startWirelessDhcp(WIRELESS_DNS, WIRELESS_DOMAIN, 120);
          await c.lab.guest(['dhcpcd', '-n', 'wlan0']);
        },
      ),
  },
];

export function daemonFault(id: string): Fault {
  const f = DAEMON_FAULTS.find((x) => x.id === id);
  if (!f) throw new Error(`no daemon fault '${id}' (there are ${DAEMON_FAULTS.map((x) => x.id).join(', ')})`);
  return f;
}
