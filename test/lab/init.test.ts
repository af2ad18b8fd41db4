// Acceptance of the init orchestrator, station flavor, in the lab: upstream samples unchanged,
// real dhcpcd on wlan0 against the wireless network's DHCP server, busybox udhcpd serving the
// host, iptables MASQUERADE; the orchestrator is the bundle in dist/.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GUEST_PATHS } from '../../agents/common/paths';
import type { Lab } from '../../lab/lab';
import { LAB_PCI_DEVICE } from '../../lab/guest';
import { pidsIn } from '../../lab/namespaces';
import { isSameProcess, waitFor } from '../../lab/proc';
import { WIRELESS_NAME } from '../../lab/wireless';
import { daemonOf, initStatus, pidOf, relayOf } from '../../lab/status';
import { stationLabForFile } from '../helpers/station-lab';
import { machineSnapshot } from '../helpers/machine';

let lab: Lab;
let machineBefore: Record<string, string>;

const fetchFromHost = (url: string) => lab.httpGet('host', url);
/** test/helpers/dns-load.cjs: bad packets (each third oversized, each tenth followed by a good query), then questions at once. */
const MALFORMED = 1000;
const AT_ONCE = 200;

beforeAll(async () => {
  machineBefore = await machineSnapshot();
});

const station = stationLabForFile((l) => (lab = l));
const status = () => initStatus(lab);
const events = () => station.hostEvents();
const lastLease = () => station.lastHostLease();

describe('wifibox-init, station flavor', () => {
  it("1. the host's first lease is final (the guest as its DNS); it resolves a name only the wireless DNS knows, and reaches the wireless network through NAT", async () => {
    const lease = await waitFor("the host's first lease", () => lastLease(), 15_000);
    expect(lease.ip).toMatch(/^10\.0\.0\.\d+$/);
    expect(lease.router).toBe('10.0.0.1');
    const dns = lease.dns?.split(' ') ?? [];
    expect(dns).toEqual(['10.0.0.1', '8.8.8.8', '8.8.4.4']);
    expect(Number(lease.lease)).toBe(864000);
    await waitFor("the guest's wireless lease", async () => (await status()).lease?.address, 20_000);
    const address = await waitFor(`${WIRELESS_NAME} from the host`, () => lab.lookup('host', WIRELESS_NAME, dns[0]!), 10_000, 100);
    expect(address).toBe(lab.addr.air);
    // The web server on the wireless network sees the guest's wlan0 address: MASQUERADE works.
    expect(await waitFor('the web server', () => fetchFromHost(`http://${address}:8080/`), 10_000)).toBe(lab.addr.guestWlan0);
    const st = await status();
    expect(st.steps.filter((s) => s.state !== 'ok')).toEqual([]);
    expect(st.udhcpd).toMatchObject({ dnsKnown: true, leaseSeconds: 864000 });
    expect(st.forwarding.v4).toBe(true);
    expect(st.dnsRelay).toMatchObject({ listening: ['10.0.0.1'], servers: ['192.168.77.53'], source: 'wireless' });
    expect(relayOf(st).counters.answered).toBeGreaterThan(0);
    expect(['BOUND', 'RENEW', 'REBIND', 'REBOOT', 'ROUTERADVERT']).toContain(st.leaseEvent?.reason);
  }, 120_000);

  it("2. the wireless network hands out another DNS server: after dhcpcd renews, the host's next lookup (same lease) is answered by it", async () => {
    const leasesBefore = events().length;
    await lab.startWirelessDns('192.168.77.54', { [WIRELESS_NAME]: '192.168.77.154' });
    await lab.stop(station.air.dhcp);
    station.air.dhcp = lab.startWirelessDhcp('192.168.77.54', 'wireless.lab', 120);
    const r = await lab.guest(['dhcpcd', '-n', 'wlan0']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the new wireless DNS at the relay', async () => relayOf(await status()).servers.join(' ') === '192.168.77.54', 20_000, 50);
    // No waiting, no renewal of the host's lease: the very next question goes to the new server.
    expect(await lab.lookup('host', WIRELESS_NAME, '10.0.0.1')).toBe('192.168.77.154');
    expect(events().slice(leasesBefore)).toEqual([]);
    expect((await status()).dns.dns).toEqual(['192.168.77.54']);
    expect(readFileSync(lab.guestPath('/tmp/udhcpd.conf'), 'utf8')).toMatch(/^opt\s+dns\s+10\.0\.0\.1 /m);
  }, 60_000);

  it(`3. never an open resolver: from the wireless side no guest address answers; bad packets and ${AT_ONCE} questions at once from the host break nothing`, async () => {
    const before = relayOf(await status()).counters;
    for (const server of ['10.0.0.1', lab.addr.guestWlan0]) expect(await lab.lookup('air', WIRELESS_NAME, server, 15_000), server).toBeNull();
    const after = relayOf(await status()).counters;
    expect(after.droppedOutsidePeer).toBeGreaterThan(before.droppedOutsidePeer);
    expect(after.queries).toBe(before.queries);
    const r = await lab.host(
      [process.execPath, join(__dirname, '..', 'helpers', 'dns-load.cjs'), '10.0.0.1', WIRELESS_NAME, String(MALFORMED), String(AT_ONCE)],
      { timeoutMs: 120_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      malformedSent: MALFORMED,
      goodAnswered: MALFORMED / 10,
      replies: AT_ONCE,
      wrongQuestion: 0,
      wrongId: 0,
      noReply: 0,
    });
    const c = relayOf(await status()).counters;
    expect(c.droppedMalformed - after.droppedMalformed + (c.droppedOversized - after.droppedOversized)).toBe(MALFORMED);
    expect(c.droppedOversized - after.droppedOversized).toBe(Math.floor(MALFORMED / 3));
    expect(isSameProcess(station.init)).toBe(true);
  }, 180_000);

  it("4. wlan0 vanishes: dhcpcd waits, and says so; wlan0 back: dhcpcd at once, and the host's traffic flows again", async () => {
    await lab.unplugWlan();
    await waitFor('dhcpcd to wait for wlan0', async () => daemonOf(await status(), 'dhcpcd').state === 'waiting', 10_000, 50);
    await lab.plugWlan();
    await waitFor('the wireless network through the guest again', () => fetchFromHost(`http://${lab.addr.air}:8080/`), 20_000, 50);
    const d = daemonOf(await status(), 'dhcpcd');
    expect(d).toMatchObject({ state: 'running', restarts: 0 });
  }, 60_000);

  it("6. kill -9 of dhcpcd or udhcpd: back within 3 s, and udhcpd's leases survive", async () => {
    const hostIp = lastLease()?.ip;
    if (hostIp === undefined) throw new Error("no address in the host's lease");
    const leases = async () => (await lab.guest(['/run/lab-bin/dumpleases', '-f', GUEST_PATHS.udhcpdLeases])).stdout;
    await waitFor("the host's lease in udhcpd's lease file", async () => (await leases()).includes(hostIp), 15_000, 200);
    for (const name of ['udhcpd', 'dhcpcd']) {
      const before = daemonOf(await status(), name);
      expect(before.state).toBe('running');
      process.kill(pidOf(before), 'SIGKILL');
      // waitFor fails past its 3 s: the bound is kept there, not checked twice.
      const after = await waitFor(
        `${name} to be back`,
        async () => {
          const d = daemonOf(await status(), name);
          return d.state === 'running' && d.pid !== before.pid ? d : null;
        },
        3000,
        20,
      );
      expect(after.restarts).toBe(before.restarts + 1);
    }
    expect(await leases()).toContain(hostIp);
    // The killed dhcpcd's helpers went with it: every dhcpcd in the guest belongs to the new one.
    const dhcpcd = pidOf(daemonOf(await status(), 'dhcpcd'));
    for (const pid of await pidsIn(lab.ns.guest)) {
      // A process that ended between the listing and the read (a hook run, say) is not left over.
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const [comm, pgid] = [stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])];
      if (comm === 'dhcpcd') expect(pgid).toBe(dhcpcd);
    }
    const n = events().length;
    process.kill(station.hostDhcp.proc.pid, 'SIGUSR1');
    const renewed = await waitFor(
      "the host's renewal",
      () =>
        events()
          .slice(n)
          .find((e) => e.event === 'renew' || e.event === 'bound'),
      10_000,
    );
    expect(renewed.ip).toBe(hostIp);
    // dhcpcd is back to its lease too.
    await waitFor("the guest's wireless lease again", async () => (await status()).lease?.address === lab.addr.guestWlan0, 20_000, 200);
  }, 60_000);

  it('7. SIGTERM: daemons stopped, addresses removed, NAT flushed, forwarding off, the wireless device released', async () => {
    const st = await status();
    const daemonPids = st.daemons.map(pidOf);
    expect(await lab.guestSysctl('net.ipv4.ip_forward')).toBe('1');
    expect(daemonPids.length).toBe(2);
    // As OpenRC's stop at shutdown does (RC_GOINGDOWN): only then is the wireless card released.
    writeFileSync(lab.guestPath('/run/wifibox-init/release-wireless'), '');
    process.kill(station.init.pid, 'SIGTERM');
    expect(await station.init.exited).toBe(0);
    for (const pid of daemonPids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    const addrs = (await lab.guest(['ip', '-4', '-o', 'addr', 'show'])).stdout;
    expect(addrs).not.toContain('10.0.0.1/');
    expect(addrs).not.toContain(`${lab.addr.guestWlan0}/`);
    const nat = (await lab.guest(['iptables', '-t', 'nat', '-S'])).stdout;
    expect(nat).not.toMatch(/MASQUERADE/);
    expect(nat).toMatch(/-P POSTROUTING ACCEPT/);
    expect(await lab.guestSysctl('net.ipv4.ip_forward')).toBe('0');
    expect(readFileSync(lab.guestPath(`${LAB_PCI_DEVICE}/remove`), 'utf8').trim()).toBe('1');
    expect(existsSync(lab.guestPath(GUEST_PATHS.initStatusSocket))).toBe(false);
    // Nothing of ours left running in the guest: only the lab's anchor process.
    await waitFor('the guest to be empty', async () => (await pidsIn(lab.ns.guest)).length === 1, 3000);
    expect(await pidsIn(lab.ns.guest)).toEqual([lab.guestPid]);
  }, 30_000);

  it("9. this machine's own sysctls, routes, firewall and /etc are as they were", async () => {
    if (process.env.WIFIBOX_LAB_DEBUG) console.log(lab.logTails(60));
    await lab.down();
    expect(await machineSnapshot()).toEqual(machineBefore);
  });
});
