// npm run lab [-- up|down|preflight] [--flavor wpa_supplicant|hostapd]
// Brings the simulated guest up with the real agents and shows a wpa_cli round trip from the
// host namespace; `down` removes every lab; `preflight` is what `npm test` checks first.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dhcpEvents, Lab, missingTools } from './lab';
import { LAB_SYS_BUS_PCI } from './guest';
import type { Flavor } from './namespaces';
import { removeLabs } from './stale';
import { sleep, waitFor } from './proc';
import { costAtRest, costText } from './cost';

/** How long `npm run lab` watches the guest at rest before it prints what the agents cost. */
const REST_WINDOW_MS = 60_000;
/** Left alone first: just after start V8 still collects and compiles; that is not the guest at rest. */
const SETTLE_MS = 30_000;

/** forwarding.conf's upstream sample with its two example lines made active, unchanged otherwise. */
function forwardingWithExamples(upstreamDir: string): string {
  const sample = readFileSync(join(upstreamDir, 'optional', 'forwarding', 'appliance', 'forwarding.conf.sample'), 'utf8');
  return sample.replace(/^# ((?:UDP|TCP)\S*:\d+\S* \S+)$/gm, '$1');
}

function needRoot(): void {
  if (process.getuid?.() === 0) return;
  console.error('lab: needs root: it creates network namespaces, veth links and mounts. Run it as root.');
  process.exit(1);
}

const indent = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n');

/**
 * The guest as it would boot with the agents: wifibox-init brings the network up from the
 * upstream samples, the wireless daemon and wifibox-passthru run, the host gets its lease and
 * talks to the daemon through the passthrough; then wifibox-diag says how it all looks.
 */
async function up(flavor: Flavor): Promise<void> {
  const lab = await Lab.up({ flavor, persistent: true, configureGuest: false });
  const station = flavor === 'wpa_supplicant';
  try {
    // A router's lease (an hour): a renewal is not what the guest at rest is measured on.
    if (station) await lab.startWirelessNetwork(undefined, undefined, 3600);
    // As the image's runlevel starts them: wifibox-init, the wireless daemon, the passthrough (a
    // part of wifibox-init's runtime, switched on as rc-service uds_passthru start does), forwarding.
    const init = lab.startInit(['--loglevel', 'info']);
    await lab.startWirelessDaemon();
    await lab.startPassthruPart(['--loglevel', 'info']);
    writeFileSync(join(lab.dir, 'appliance', 'forwarding.conf'), forwardingWithExamples(lab.opts.upstreamDir));
    const forward = lab.startForward();
    console.log(
      `lab ${lab.tag} is up (${flavor} flavor): wifibox-init (pid ${init.pid}: the network and the passthrough), ${flavor}, wifibox-forward (pid ${forward.pid}: the forwarding sample's two lines)\n`,
    );
    if (station) {
      const dhcp = lab.startDhcpClient('host', 'wifibox0');
      const lease = await waitFor("the host's lease from the guest", () => dhcpEvents(dhcp.events).find((e) => e.event === 'bound'), 20_000);
      console.log(`host  $ udhcpc -i wifibox0        → lease ${lease.ip} from ${lease.serverid ?? lease.router} (the guest's udhcpd)`);
      const seen = await waitFor('the wireless network through the guest', () => lab.httpGet('host', `http://${lab.addr.air}:8080/`), 30_000, 200);
      console.log(`host  $ GET http://${lab.addr.air}:8080/ → the wireless network's web server saw ${seen} (the guest's wlan0: NAT)`);
    }
    const bridge = await lab.startHostBridge(1200, 'wlan0');
    console.log(`host  $ socat UNIX-RECVFROM:${bridge.path},fork,user=root,group=0,mode=770 TCP4:${lab.addr.guestEth0}:1200   (running)`);
    const cli = station ? 'wpa_cli' : 'hostapd_cli';
    for (const cmd of [['ping'], ['status']]) {
      const r = await lab.hostCli(cmd, { timeoutMs: 15_000 });
      console.log(`host  $ ${cli} -p ${lab.hostSockDir} -i wlan0 ${cmd.join(' ')}`);
      console.log(indent(r.stdout));
      if (r.code !== 0) throw new Error(`${cli} ${cmd.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
    }
    const diag = await lab.guest([process.execPath, join(lab.opts.distDir, 'wifibox-diag.js'), '--sys-bus-pci', LAB_SYS_BUS_PCI]);
    console.log(`guest $ wifibox-diag              (exit ${diag.code})`);
    console.log(indent(diag.stdout.split('\n').slice(0, 24).join('\n')));
    console.log(
      `        … (the whole report: nsenter -t ${lab.guestPid} -n -m -- ${process.execPath} ${join(lab.opts.distDir, 'wifibox-diag.js')} --sys-bus-pci ${LAB_SYS_BUS_PCI})`,
    );
    console.log(`\nguest: left alone ${SETTLE_MS / 1000} s, then at rest for ${REST_WINDOW_MS / 1000} s, counting what its agents cost…`);
    await sleep(SETTLE_MS);
    const agents = { 'wifibox-init': init.pid, 'wifibox-forward': forward.pid };
    console.log(costText(await costAtRest(agents, REST_WINDOW_MS), REST_WINDOW_MS));
    console.log(`
Run commands in each namespace (as root):
  guest:    nsenter -t ${lab.guestPid} -n -m -- sh      (its own /media/etc, /run, /tmp)
  host:     ip netns exec ${lab.ns.host} sh
  wireless: ip netns exec ${lab.ns.air} sh
Status:   nsenter -t ${lab.guestPid} -n -m -- socat - UNIX-CONNECT:/run/wifibox-init.sock      (and /run/wifibox-passthru.sock)
Logs:     ${lab.dir}/logs/
Remove it all: npm run lab -- down`);
  } catch (err) {
    console.error(lab.logTails());
    await lab.down();
    throw err;
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { flavor: { type: 'string', default: 'wpa_supplicant' } } });
  const cmd = positionals[0] ?? 'up';
  if (!['up', 'down', 'preflight'].includes(cmd)) throw new Error(`lab: unknown command '${cmd}' (expected up, down or preflight)`);
  needRoot();
  if (cmd === 'down') {
    const removed = await removeLabs({ persistent: true });
    console.log(removed.length ? `lab: removed ${removed.join(', ')}` : 'lab: nothing to remove');
    return;
  }
  if (cmd === 'preflight') {
    const missing = missingTools();
    if (missing.length) throw new Error(`lab: missing tools: ${missing.join(', ')} (node bundle/setup.mjs lab installs them)`);
    const removed = await removeLabs();
    if (removed.length) console.log(`lab: removed stale labs ${removed.join(', ')}`);
    return;
  }
  const flavor = values.flavor as Flavor;
  if (flavor !== 'wpa_supplicant' && flavor !== 'hostapd') throw new Error(`lab: --flavor must be wpa_supplicant or hostapd, got '${flavor}'`);
  await up(flavor);
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
