// Passthru agent lifecycle in the lab: daemon late and restarted, bad config, reload, SIGTERM.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_PATHS } from '../../agents/common/paths';
import type { Lab } from '../../lab/lab';
import { clientSsid } from '../../lab/guest-files';
import { childrenOf, isSameProcess, sleep, waitFor, type LabProcess } from '../../lab/proc';
import { passthruStatus, portOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;
let mainAgent: LabProcess;
let wpa: LabProcess;
const count = (text: string, needle: string) => text.split(needle).length - 1;

const { client } = labForFile({ flavor: 'wpa_supplicant' }, (l) => {
  lab = l;
});

describe('passthru lifecycle', () => {
  it('6. wpa_supplicant started after the agent, then restarted under it: no agent restart needed', async () => {
    const agent = (mainAgent = await lab.startPassthru());
    const status = () => passthruStatus(lab);
    const bridge = await lab.startHostBridge(1200, 'wlan0', 3600, join(lab.dir, 'host', 'late'));
    expect(portOf(await status(), 1200).daemon).toBe('down');
    // No daemon: the agent closes the connection rather than inventing a reply.
    expect(await client(bridge.path).request('PING', 1000)).toBeNull();

    wpa = await lab.startWirelessDaemon();
    await waitFor('the agent to see the daemon', async () => portOf(await status(), 1200).daemon === 'up', 3000);
    expect(await client(bridge.path).request('PING')).toBe('PONG\n');

    const monitor = client(bridge.path);
    expect(await monitor.request('ATTACH')).toBe('OK\n');
    expect(portOf(await status(), 1200).monitors).toBe(1);

    await lab.stop(wpa);
    wpa = await lab.startWirelessDaemon('wpa_supplicant-2');
    // The old daemon's monitors are gone with it: their connections are closed so clients reconnect.
    await waitFor('the old monitor to be closed', async () => portOf(await status(), 1200).monitors === 0, 3000);
    expect(await client(bridge.path).request('PING')).toBe('PONG\n');
    const again = client(bridge.path);
    expect(await again.request('ATTACH')).toBe('OK\n');
    expect(await client(bridge.path).request('REASSOCIATE')).toBe('OK\n');
    expect(await again.waitEvent(/CTRL-EVENT-CONNECTED/, 5000)).not.toBeNull();
    expect(monitor.events.filter((e) => e.includes('CTRL-EVENT-CONNECTED'))).toEqual([]);
    expect(isSameProcess(agent)).toBe(true);
  });

  it('8. a malformed uds_passthru.conf: file:line errors, and the valid sockets are still served', async () => {
    const bad = [
      '# lab: one good socket and every way to get one wrong',
      'network=10.0.0.300:255.255.255.0',
      '_sockdir=/var/run/wpa_supplicant',
      'sockets="path=${_sockdir}/wlan0,port=1210',
      'path=${_sockdir}/wlan0,port=99999',
      'path=${_sockdir}/wlan0',
      'path=${_sockdir}/wlan0,port=1210',
      'path=${_sokdir}/wlan0,port=1211',
      'path=wlan0,port=1212"',
      'broken="unterminated',
      '',
    ].join('\n');
    writeFileSync(lab.guestPath('/run/bad.conf'), bad);
    const agent = lab.startInGuest('passthru-bad', [
      process.execPath,
      join(lab.opts.distDir, 'wifibox-passthru.js'),
      '--config',
      '/run/bad.conf',
      '--runtime-dir',
      '/run/bad-rt',
      '--status-socket',
      '/run/bad.sock',
      '--loglevel',
      'info',
    ]);
    const status = () => passthruStatus(lab, undefined, '/run/bad.sock');
    await waitFor('the bad-config agent to serve 1210', async () => portOf(await status(), 1210).listening, 5000);
    const log = agent.output();
    for (const [line, what] of [
      [2, /10\.0\.0\.300/],
      [5, /99999/],
      [6, /port/],
      [7, /1210/],
      [8, /_sokdir/],
      [9, /absolute/],
      [10, /unterminated|quote/i],
    ] as const) {
      const re = new RegExp(`/run/bad\\.conf:${line}: error: [^"]*`);
      const m = log.match(re);
      expect(m, `line ${line} in:\n${log}`).not.toBeNull();
      expect(m![0]).toMatch(what);
    }
    const st = await status();
    expect(st.ports.map((p) => p.port)).toEqual([1210]);
    // network= was unusable: it fell back to eth0's own address and network.
    expect(st.network).toBe(`${lab.addr.guestEth0}/24`);
    const bridge = await lab.startHostBridge(1210, 'wlan0', undefined, join(lab.dir, 'host', 'bad'));
    expect(await client(bridge.path).request('GET_NETWORK 3 ssid')).toBe(`"${clientSsid(2)}"`);

    // SIGHUP: a new port appears; the unchanged port keeps its connections (a monitor here).
    const long = await lab.startHostBridge(1210, 'wlan0', 3600, join(lab.dir, 'host', 'bad-long'));
    const monitor = client(long.path);
    expect(await monitor.request('ATTACH')).toBe('OK\n');
    writeFileSync(lab.guestPath('/run/bad.conf'), bad.replace('broken="unterminated', 'sockets="${sockets}\npath=/var/run/wpa_supplicant/wlan0,port=1213"'));
    process.kill(agent.pid, 'SIGHUP');
    await waitFor('port 1213 after SIGHUP', async () => portOf(await status(), 1213).listening, 5000);
    expect(portOf(await status(), 1210).monitors).toBe(1);
    expect(await client(long.path).request('REASSOCIATE')).toBe('OK\n');
    expect(await monitor.waitEvent(/CTRL-EVENT-CONNECTED/, 5000)).not.toBeNull();
    await lab.stop(agent);
  });

  it('9. SIGTERM under load: exit 0 within 1 s, no socket files, no children, no stale monitor', async () => {
    const status = () => passthruStatus(lab);
    const agent = mainAgent.pid;
    expect((await status()).pid).toBe(agent);
    const bridge = await lab.startHostBridge(1200, 'wlan0', 3600, join(lab.dir, 'host', 'term'));
    const MONITORS = 8;
    const monitors = Array.from({ length: MONITORS }, () => client(bridge.path));
    for (const m of monitors) expect(await m.request('ATTACH')).toBe('OK\n');
    let stop = false;
    const load = Array.from({ length: 32 }, async (_, i) => {
      const c = client(bridge.path);
      while (!stop) await c.request(`GET_NETWORK ${i + 1} ssid`, 500);
    });
    await sleep(500);
    const st = await status();
    // The monitors, and some of the load's connections.
    expect(portOf(st, 1200).active).toBeGreaterThan(MONITORS);
    const t0 = Date.now();
    process.kill(agent, 'SIGTERM');
    await waitFor('the agent to exit', () => !existsSync(`/proc/${agent}`) || readFileSync(`/proc/${agent}/stat`, 'utf8').includes(') Z'), 2000, 5);
    const tookMs = Date.now() - t0;
    stop = true;
    await Promise.all(load);
    expect(tookMs).toBeLessThan(1000);
    expect(await mainAgent.exited).toBe(0);
    expect(existsSync(lab.guestPath(GUEST_PATHS.passthruRunDir))).toBe(false);
    expect(existsSync(lab.guestPath(GUEST_PATHS.passthruStatusSocket))).toBe(false);
    expect(childrenOf(agent)).toEqual([]);
    // Every monitor was DETACHed on the way out.
    const log = readFileSync(wpa.log, 'utf8');
    expect(count(log, 'CTRL_IFACE monitor attached')).toBeGreaterThanOrEqual(MONITORS);
    expect(count(log, 'CTRL_IFACE monitor detached')).toBe(count(log, 'CTRL_IFACE monitor attached'));
  });
});
