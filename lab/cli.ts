// npm run lab [-- up|down|preflight] [--flavor wpa_supplicant|hostapd]
// Brings the simulated guest up with the real agents and shows a wpa_cli round trip from the
// host namespace; `down` removes every lab; `preflight` is what `npm test` checks first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cleanStale, downAll, Lab, missingTools, type Flavor } from './lab';

function needRoot(argv: string[], canSudo: boolean): void {
  if (process.getuid?.() === 0) return;
  const sudo = ['/usr/bin/sudo', '/bin/sudo'].find((p) => existsSync(p));
  if (canSudo && sudo && !process.env.WIFIBOX_LAB_SUDO) {
    console.error('lab: needs root (it creates network namespaces); re-running under sudo');
    const r = spawnSync(sudo, ['-E', 'env', `PATH=${process.env.PATH}`, 'WIFIBOX_LAB_SUDO=1', process.execPath, ...process.argv.slice(1, 2), ...argv], { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  console.error('lab: needs root: it creates network namespaces, veth links and mounts. Run it as root (e.g. `sudo npm run lab`, `sudo npm test`).');
  process.exit(1);
}

async function up(flavor: Flavor): Promise<void> {
  const lab = await Lab.up({ flavor, persistent: true });
  try {
    await lab.startWirelessDaemon();
    await lab.startPassthru(['--loglevel', 'info']);
    const bridge = await lab.startHostBridge(1200, 'wlan0');
    console.log(`lab ${lab.tag} is up (${flavor} flavor)\n`);
    console.log(`host  $ socat UNIX-RECVFROM:${bridge.path},fork,user=root,group=0,mode=770 TCP4:${lab.addr.guestEth0}:1200   (running)`);
    for (const cmd of [['ping'], ['status']]) {
      const r = await lab.hostCli(cmd, { timeoutMs: 15_000 });
      const cli = flavor === 'wpa_supplicant' ? 'wpa_cli' : 'hostapd_cli';
      console.log(`host  $ ${cli} -p ${lab.hostSockDir} -i wlan0 ${cmd.join(' ')}`);
      console.log(r.stdout.trimEnd().split('\n').map((l) => `        ${l}`).join('\n'));
      if (r.code !== 0) throw new Error(`${cli} ${cmd.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
    }
    console.log(`
Run commands in each namespace (as root):
  guest:    nsenter -t ${lab.guestPid} -n -m -- sh      (its own /media/etc, /run, /tmp)
  host:     ip netns exec ${lab.ns.host} sh
  wireless: ip netns exec ${lab.ns.air} sh
Agent status: nsenter -t ${lab.guestPid} -n -m -- socat - UNIX-CONNECT:/run/wifibox-passthru.sock
Logs: ${lab.dir}/logs/
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
  // `npm test`'s preflight cannot lend root to the vitest run after it: it only says so.
  needRoot(argv, cmd !== 'preflight');
  if (cmd === 'down') {
    const removed = await downAll();
    console.log(removed.length ? `lab: removed ${removed.join(', ')}` : 'lab: nothing to remove');
    return;
  }
  if (cmd === 'preflight') {
    const missing = missingTools();
    if (missing.length) throw new Error(`lab: missing tools: ${missing.join(', ')} (apt-get install socat wpasupplicant hostapd iproute2 util-linux; see .ci/run)`);
    const removed = await cleanStale();
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
