// Acceptance of the init orchestrator, station flavor, in the lab: upstream samples unchanged,
// real dhcpcd on wlan0 against the wireless network's DHCP server, busybox udhcpd serving the
// host, iptables MASQUERADE; the orchestrator is the bundle in dist/.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabProcess } from '../lab/lab';
import { waitFor } from '../lab/proc';
import { readStatus } from './helpers/host-client';
import { machineSnapshot } from './helpers/machine';

let lab: Lab;
export let init: LabProcess;
export let air: { dhcp: LabProcess; web: LabProcess };
let hostDhcp: { proc: LabProcess; events: string };
export let machineBefore: Record<string, string>;

const status = () => readStatus(lab.guestPath('/run/wifibox-init.sock'));
const events = (): any[] => {
  try {
    return readFileSync(hostDhcp.events, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
};
const lastLease = () => [...events()].reverse().find((e) => e.event === 'bound' || e.event === 'renew');
const fetchFromHost = (url: string) => lab.httpGet('host', url);

beforeAll(async () => {
  machineBefore = await machineSnapshot();
  lab = await Lab.up({ flavor: 'wpa_supplicant', configureGuest: false });
  air = await lab.startWirelessNetwork('192.168.77.53', 'wireless.lab');
  init = lab.startInit();
  hostDhcp = lab.startDhcpClient('host', 'wifibox0');
});

afterAll(async () => {
  if (lab) {
    if (process.env.WIFIBOX_LAB_DEBUG) console.log(lab.logTails(60));
    await lab.down();
  }
});

describe('wifibox-init, station flavor', () => {
  it('1. the host gets a lease from the guest, reaches the wireless network through NAT, then gets the wireless DNS', async () => {
    const lease = await waitFor('the host\'s first lease', () => lastLease(), 15_000);
    expect(lease.ip).toMatch(/^10\.0\.0\.\d+$/);
    expect(lease.router).toBe('10.0.0.1');
    await waitFor('the guest\'s wireless lease', async () => (await status()).lease?.address, 20_000);
    // The web server on the wireless network sees the guest's wlan0 address: MASQUERADE works.
    expect(await waitFor('the web server', () => fetchFromHost(`http://${lab.addr.air}:8080/`), 10_000)).toBe(lab.addr.guestWlan0);
    const withDns = await waitFor('a host lease with the wireless DNS', () => {
      const l = lastLease();
      return l && (l.dns ?? '').split(' ').includes('192.168.77.53') && l.domain === 'wireless.lab' ? l : null;
    }, 60_000, 200);
    expect(withDns.dns).toContain('192.168.77.53');
    const st = await status();
    expect(st.steps.filter((s: any) => s.state !== 'ok')).toEqual([]);
    expect(st.udhcpd).toMatchObject({ dnsKnown: true, leaseSeconds: 864000 });
  }, 120_000);
});
