// 10. The access-point flavor: hostapd (wired driver) behind the same passthrough on port 1200,
// with the upstream hostapd appliance samples unchanged (network=10.0.0.2, /var/run/hostapd).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../lab/lab';
import { passthruStatus } from '../../lab/status';
import { HostClient } from '../helpers/host-client';

let lab: Lab;
let bridge: { path: string; dir: string };
const clients: HostClient[] = [];

beforeAll(async () => {
  lab = await Lab.up({ flavor: 'hostapd' });
  await lab.startWirelessDaemon();
  await lab.startPassthru();
  bridge = await lab.startHostBridge(1200, 'wlan0');
});

afterAll(async () => {
  for (const c of clients) c.close();
  if (lab) await lab.down();
});

describe('hostapd flavor', () => {
  it('10. hostapd_cli ping and status through the host socat half', async () => {
    const ping = await lab.hostCli(['ping'], { timeoutMs: 15_000 }, bridge.dir);
    expect(ping.stdout.trim()).toBe('PONG');
    const st = await lab.hostCli(['status'], { timeoutMs: 15_000 }, bridge.dir);
    expect(st.stdout).toMatch(/^state=ENABLED$/m);
    const status = await passthruStatus(lab);
    expect(status.address).toBe('10.0.0.2');
    expect(status.ports.map((p: any) => [p.port, p.path, p.daemon])).toEqual([[1200, '/var/run/hostapd/wlan0', 'up']]);
  });

  it('10b. a monitor on hostapd gets its events; requests over hostapd\'s 4096-byte limit are refused', async () => {
    const c = new HostClient(join(lab.dir, 'clients'), bridge.path);
    clients.push(c);
    expect(await c.request('PING')).toBe('PONG\n');
    const monitor = new HostClient(join(lab.dir, 'clients'), bridge.path);
    clients.push(monitor);
    expect(await monitor.request('ATTACH')).toBe('OK\n');
    expect(await c.request('DISABLE')).toBe('OK\n');
    expect(await monitor.waitEvent(/AP-DISABLED/, 3000)).toMatch(/^<[0-9]>AP-DISABLED/);
    expect(await c.request('ENABLE')).toBe('OK\n');
    const big = await lab.host(['socat', '-t', '2', '-', `TCP4:${lab.addr.guestEth0}:1200`], { input: `SET ${'x'.repeat(5000)}`, timeoutMs: 10_000 });
    expect(big.stdout).toBe('FAIL\n');
    const status = await passthruStatus(lab);
    expect(status.ports[0].counters.oversized).toBe(1);
  });
});
