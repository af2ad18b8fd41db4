// 10. The access-point flavor: hostapd (wired driver) behind the same passthrough on port 1200,
// with the upstream hostapd appliance samples unchanged (network=10.0.0.2, /var/run/hostapd).
import { describe, expect, it } from 'vitest';
import type { Lab } from '../../lab/lab';
import { passthruStatus, portOf } from '../../lab/status';
import { labForFile, pingAndStatus } from '../helpers/lab-file';

let lab: Lab;
let bridge: { path: string; dir: string };

const { client } = labForFile({ flavor: 'hostapd' }, async (l) => {
  lab = l;
  await lab.startWirelessDaemon();
  await lab.startPassthru();
  bridge = await lab.startHostBridge(1200, 'wlan0');
});

describe('hostapd flavor', () => {
  it('10. hostapd_cli ping and status through the host socat half', async () => {
    const cli = await pingAndStatus(lab, bridge.dir);
    expect(cli.ping).toBe('PONG');
    expect(cli.status).toMatch(/^state=ENABLED$/m);
    const status = await passthruStatus(lab);
    expect(status.address).toBe('10.0.0.2');
    expect(status.ports.map((p) => [p.port, p.path, p.daemon])).toEqual([[1200, '/var/run/hostapd/wlan0', 'up']]);
  });

  it("10b. a monitor on hostapd gets its events; requests over hostapd's 4096-byte limit are refused", async () => {
    const c = client(bridge.path);
    expect(await c.request('PING')).toBe('PONG\n');
    const monitor = client(bridge.path);
    expect(await monitor.request('ATTACH')).toBe('OK\n');
    expect(await c.request('DISABLE')).toBe('OK\n');
    expect(await monitor.waitEvent(/AP-DISABLED/, 3000)).toMatch(/^<[0-9]>AP-DISABLED/);
    expect(await c.request('ENABLE')).toBe('OK\n');
    const big = await lab.host(['socat', '-t', '2', '-', `TCP4:${lab.addr.guestEth0}:1200`], { input: `SET ${'x'.repeat(5000)}`, timeoutMs: 10_000 });
    expect(big.stdout).toBe('FAIL\n');
    const status = await passthruStatus(lab);
    expect(portOf(status, 1200).counters.oversized).toBe(1);
  });
});
