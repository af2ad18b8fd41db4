// Acceptance of the init orchestrator, station flavor, in the lab: upstream samples unchanged,
// real dhcpcd on wlan0 against the wireless network's DHCP server, busybox udhcpd serving the
// host, iptables MASQUERADE; the orchestrator is the bundle in dist/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../lab/lab';
import { LAB_PCI_DEVICE } from '../../lab/guest';
import { pidsIn } from '../../lab/namespaces';
import { waitFor, type LabProcess } from '../../lab/proc';
import { initStatus } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';
import { machineSnapshot } from '../helpers/machine';

let lab: Lab;
export let init: LabProcess;
export let air: { dhcp: LabProcess; web: LabProcess };
let hostDhcp: { proc: LabProcess; events: string };
export let machineBefore: Record<string, string>;

const status = () => initStatus(lab);
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
});

labForFile({ flavor: 'wpa_supplicant', configureGuest: false }, async (l) => {
  lab = l;
  air = await lab.startWirelessNetwork('192.168.77.53', 'wireless.lab');
  init = lab.startInit();
  hostDhcp = lab.startDhcpClient('host', 'wifibox0');
}, 60);

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
    expect(st.forwarding.v4).toBe(true);
    expect(['BOUND', 'RENEW', 'REBIND', 'REBOOT', 'ROUTERADVERT']).toContain(st.leaseEvent.reason);
  }, 120_000);

  it('2. the wireless network changes its DNS: the guest\'s next udhcpd config has it, and a host renewal gets it', async () => {
    await lab.stop(air.dhcp);
    air.dhcp = lab.startWirelessDhcp('192.168.77.54', 'wireless.lab', 120);
    // The guest's dhcpcd renews (here: at once, as on the lease's own renewal time).
    const r = await lab.guest(['dhcpcd', '-n', 'wlan0']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the new DNS in udhcpd.conf', () => readFileSync(lab.guestPath('/tmp/udhcpd.conf'), 'utf8').includes('192.168.77.54'), 20_000, 100);
    expect(readFileSync(lab.guestPath('/tmp/udhcpd.conf'), 'utf8')).not.toContain('192.168.77.53');
    process.kill(hostDhcp.proc.pid, 'SIGUSR1'); // the host renews
    await waitFor('the host to get the new DNS', () => (lastLease()?.dns ?? '').split(' ').includes('192.168.77.54'), 10_000);
    expect((await status()).dns.dns).toEqual(['192.168.77.54']);
  }, 60_000);

  it('6. kill -9 of dhcpcd or udhcpd: back within 3 s, and udhcpd\'s leases survive', async () => {
    const hostIp = lastLease().ip as string;
    const leases = async () => (await lab.guest(['/run/lab-bin/dumpleases', '-f', '/var/lib/misc/udhcpd.leases'])).stdout;
    await waitFor('the host\'s lease in udhcpd\'s lease file', async () => (await leases()).includes(hostIp), 15_000, 200);
    for (const name of ['udhcpd', 'dhcpcd']) {
      const before = (await status()).daemons.find((d: any) => d.name === name);
      expect(before.state).toBe('running');
      const t0 = Date.now();
      process.kill(before.pid, 'SIGKILL');
      const after = await waitFor(`${name} to be back`, async () => {
        const d = (await status()).daemons.find((x: any) => x.name === name);
        return d.state === 'running' && d.pid !== before.pid ? d : null;
      }, 3000, 20);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(after.restarts).toBe(before.restarts + 1);
    }
    expect(await leases()).toContain(hostIp);
    // The killed dhcpcd's helpers went with it: every dhcpcd in the guest belongs to the new one.
    const dhcpcd = (await status()).daemons.find((d: any) => d.name === 'dhcpcd').pid as number;
    for (const pid of await pidsIn(lab.ns.guest)) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [comm, pgid] = [stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])];
      if (comm === 'dhcpcd') expect(pgid).toBe(dhcpcd);
    }
    const n = events().length;
    process.kill(hostDhcp.proc.pid, 'SIGUSR1');
    const renewed = await waitFor('the host\'s renewal', () => events().slice(n).find((e) => e.event === 'renew' || e.event === 'bound'), 10_000);
    expect(renewed.ip).toBe(hostIp);
    // dhcpcd is back to its lease too.
    await waitFor('the guest\'s wireless lease again', async () => (await status()).lease?.address === lab.addr.guestWlan0, 20_000, 200);
  }, 60_000);

  it('7. SIGTERM: daemons stopped, addresses removed, NAT flushed, forwarding off, the wireless device released', async () => {
    const st = await status();
    const daemonPids = st.daemons.map((d: any) => d.pid).filter(Boolean) as number[];
    expect(await lab.guestSysctl('net.ipv4.ip_forward')).toBe('1');
    expect(daemonPids.length).toBe(2);
    // As OpenRC's stop at shutdown does (RC_GOINGDOWN): only then is the wireless card released.
    writeFileSync(lab.guestPath('/run/wifibox-init/release-wireless'), '');
    process.kill(init.pid, 'SIGTERM');
    expect(await init.exited).toBe(0);
    for (const pid of daemonPids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    const addrs = (await lab.guest(['ip', '-4', '-o', 'addr', 'show'])).stdout;
    expect(addrs).not.toContain('10.0.0.1/');
    expect(addrs).not.toContain(`${lab.addr.guestWlan0}/`);
    const nat = (await lab.guest(['iptables', '-t', 'nat', '-S'])).stdout;
    expect(nat).not.toMatch(/MASQUERADE/);
    expect(nat).toMatch(/-P POSTROUTING ACCEPT/);
    expect(await lab.guestSysctl('net.ipv4.ip_forward')).toBe('0');
    expect(readFileSync(lab.guestPath(`${LAB_PCI_DEVICE}/remove`), 'utf8').trim()).toBe('1');
    expect(existsSync(lab.guestPath('/run/wifibox-init.sock'))).toBe(false);
    // Nothing of ours left running in the guest: only the lab's anchor process.
    await waitFor('the guest to be empty', async () => (await pidsIn(lab.ns.guest)).length === 1, 3000);
    expect(await pidsIn(lab.ns.guest)).toEqual([lab.guestPid]);
  }, 30_000);

  it('9. this machine\'s own sysctls, routes, firewall and /etc are as they were', async () => {
    if (process.env.WIFIBOX_LAB_DEBUG) console.log(lab.logTails(60));
    await lab.down();
    expect(await machineSnapshot()).toEqual(machineBefore);
  });
});
