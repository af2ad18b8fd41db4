// Acceptance 4 of the init orchestrator: the access-point flavor (hostapd samples unchanged,
// hostapd with its wired driver on wlan0): a wireless client gets its lease from the guest and
// reaches the host through NAT out of eth0.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { dhcpEvents, type Lab } from '../../lab/lab';
import { repoRoot } from '../../lab/paths';
import { waitFor } from '../../lab/proc';
import { initStatus, stepOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;

labForFile({ flavor: 'hostapd', configureGuest: false }, async (l) => {
  lab = l;
  lab.startInit();
  // Until wifibox-init answers, and has the step, waitFor asks again.
  await waitFor('wlan0 configured', async () => stepOf(await initStatus(lab), 'iface:wlan0').state === 'ok', 10_000);
  await lab.startWirelessDaemon();
  lab.startInHost('host-web', [process.execPath, join(repoRoot(), 'lab', 'web-server.cjs'), lab.addr.hostWifibox0, '8080']);
});

describe('wifibox-init, access-point flavor', () => {
  it('4. a wireless client gets a lease from the guest on wlan0 and reaches the host via NAT out of eth0', async () => {
    const client = lab.startDhcpClient('air', 'ap0');
    const lease = await waitFor("the wireless client's lease", () => dhcpEvents(client.events).find((e) => e.event === 'bound'), 15_000);
    expect(lease.ip).toMatch(/^192\.168\.0\.\d+$/);
    expect(lease.router).toBe('192.168.0.1');
    // The host's web server sees the guest's eth0 address: MASQUERADE out of eth0.
    const seen = await waitFor("the host's web server", () => lab.httpGet('air', `http://${lab.addr.hostWifibox0}:8080/`), 10_000);
    expect(seen).toBe(lab.addr.guestEth0);
    const st = await initStatus(lab);
    expect(st.flavor).toBe('access-point');
    expect(st.steps.filter((s) => s.state !== 'ok')).toEqual([]);
    expect(st.daemons.map((d) => [d.name, d.state])).toEqual([['udhcpd', 'running']]);
    const hostapd = await lab.guest(['hostapd_cli', '-p', '/var/run/hostapd', '-i', 'wlan0', 'ping']);
    expect(hostapd.stdout.trim()).toBe('PONG');
  }, 60_000);
});
