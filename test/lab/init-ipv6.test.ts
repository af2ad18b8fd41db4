// Acceptance of the init orchestrator with the upstream IPv6 overlay (station flavor), in the lab:
// the overlay's samples unchanged over the station samples, real dhcpcd soliciting router
// advertisements on wlan0, a wireless network whose radvd advertises a prefix and an IPv6 DNS
// server (RDNSS), and the guest's own radvd on eth0, run by the orchestrator from the bundle.
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { missingTools, type Lab } from '../../lab/lab';
import { WIRELESS_NAME } from '../../lab/wireless';
import { waitFor, type LabProcess } from '../../lab/proc';
import { daemonOf, initStatus, pidOf, relayOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';
import { machineSnapshot } from '../helpers/machine';

const OVERLAY = 'optional/ipv6/wpa_supplicant/appliance';
// Documentation addresses (RFC 3849) for the wireless network's IPv6 side.
const AIR_PREFIX = '2001:db8:77::/64';
const AIR_ADDRESS = '2001:db8:77::1';
const AIR_DNS6 = '2001:db8:77::53';
const AIR_DNS6_NEXT = '2001:db8:77::54';
// From the overlay's samples: interfaces.conf (eth0 inet6), ip6tables, radvd.conf (RDNSS line).
const ETH0_INET6 = 'fd00::ffff';
const SAMPLE_RDNSS = '2001:4860:4860::8888 2001:4860:4860::8844';

let lab: Lab;
let init: LabProcess;
let airRa: LabProcess;
let machineBefore: Record<string, string>;

const status = () => initStatus(lab);
const radvdConf = () => readFileSync(lab.guestPath('/tmp/radvd.conf'), 'utf8');
const radvdOf = async () => daemonOf(await status(), 'radvd');
const inet6 = async (iface: string) => (await lab.guest(['ip', '-6', '-o', 'addr', 'show', 'dev', iface])).stdout;
const globalOn = (out: string, prefix: string) =>
  [...out.matchAll(/inet6 ([0-9a-f:]+)\/(\d+) scope global/g)].map((m) => `${m[1]}/${m[2]}`).filter((a) => a.startsWith(prefix));
/** What the host receives when it solicits a router advertisement on wifibox0 (rdisc6, from ndisc6). */
const hostRa = async () => {
  const r = await lab.host(['rdisc6', '-1', '-n', '-r', '3', '-w', '1000', 'wifibox0'], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout : '';
};

beforeAll(async () => {
  const missing = missingTools(['radvd', 'rdisc6', 'ndisc6']);
  if (missing.length) throw new Error(`this suite needs ${missing.join(', ')} on PATH: apt-get install radvd ndisc6`);
  machineBefore = await machineSnapshot();
});

labForFile(
  { flavor: 'wpa_supplicant', configureGuest: false, overlays: [OVERLAY] },
  async (l) => {
    lab = l;
    await lab.startWirelessNetwork('192.168.77.53', 'wireless.lab');
    airRa = await lab.startWirelessRa(AIR_DNS6, AIR_PREFIX, AIR_ADDRESS);
    init = lab.startInit();
  },
  60,
);

describe('wifibox-init, station flavor with the IPv6 overlay', () => {
  it("5a. every step comes up; eth0 has the sample's inet6 address, wlan0 one of the wireless prefix (SLAAC by dhcpcd)", async () => {
    await waitFor('every step to be done', async () => (await status()).steps.every((s) => s.state !== 'pending' && s.state !== 'running'), 20_000, 100);
    const st = await status();
    expect(st.problems).toEqual([]);
    expect(st.steps.filter((s) => s.state !== 'ok')).toEqual([]);
    expect(st.steps.map((s) => s.id)).toEqual(expect.arrayContaining(['firewall6', 'forwarding6', 'iface:eth0', 'iface:wlan0', 'dhcpcd', 'radvd']));
    // As the old ip6tables service did (IPFORWARD="yes"): routing once the IPv6 NAT is loaded.
    expect(await lab.guestSysctl('net.ipv6.conf.all.forwarding')).toBe('1');
    expect(await inet6('eth0')).toContain(`inet6 ${ETH0_INET6}/64 scope global`);
    // The station overlay has no inet6 stanza for wlan0: its address comes from the wireless
    // network's router advertisement (dhcpcd.conf: ipv6rs on wlan0).
    const slaac = await waitFor(
      'a wireless-prefix address on wlan0',
      async () => globalOn(await inet6('wlan0'), '2001:db8:77:').length > 0 && inet6('wlan0'),
      20_000,
      200,
    );
    expect(globalOn(slaac, '2001:db8:77:')[0]).toMatch(/\/64$/);
    expect(globalOn(slaac, 'fd00:')).toEqual([]);
    // IPv6 reaches the wireless network: its router answers neighbour discovery from wlan0.
    const nd = await lab.guest(['ndisc6', '-1', '-n', '-r', '3', '-w', '1000', AIR_ADDRESS, 'wlan0'], { timeoutMs: 10_000 });
    expect(nd.code, nd.stderr + nd.stdout).toBe(0);
  }, 60_000);

  it("5b. ip6tables: the sample's NAT rule is loaded", async () => {
    const nat = await lab.guest(['ip6tables', '-w', '5', '-t', 'nat', '-S']);
    expect(nat.code, nat.stderr).toBe(0);
    expect(nat.stdout).toContain('-A POSTROUTING -o wlan0 -j MASQUERADE');
  });

  it("5c. radvd runs on eth0 and advertises the guest's own inet6 address (the DNS relay) with the sample's own; the relay asks the wireless IPv6 DNS too", async () => {
    const st = await waitFor(
      'the wireless IPv6 DNS in the status',
      async () => {
        const s = await status();
        return s.dns.dns6.includes(AIR_DNS6) ? s : null;
      },
      30_000,
      200,
    );
    expect(st.dns.dns6).toEqual([AIR_DNS6]);
    await waitFor('the relay to ask the wireless IPv6 DNS', async () => relayOf(await status()).servers.includes(AIR_DNS6), 10_000, 100);
    expect(relayOf(await status())).toMatchObject({ listening: ['10.0.0.1', ETH0_INET6], servers: ['192.168.77.53', AIR_DNS6], source: 'wireless' });
    expect(radvdConf()).toContain(`RDNSS ${ETH0_INET6} ${SAMPLE_RDNSS} {`);
    // The sample's comment names the placeholder; no setting keeps it.
    expect(
      radvdConf()
        .split('\n')
        .filter((l) => !/^\s*#/.test(l))
        .join('\n'),
    ).not.toContain('%%');
    const radvd = await waitFor('radvd running', async () => ((await radvdOf()).state === 'running' ? radvdOf() : null), 5000, 50);
    expect(radvd.pid).toBeGreaterThan(0);
    // The host solicits a router advertisement on wifibox0: the guest's radvd answers with the
    // eth0 prefix and the guest's own address as its DNS.
    const ra = await waitFor(
      'an RA on the host with the guest as its IPv6 DNS',
      async () => {
        const out = await hostRa();
        return out.includes(ETH0_INET6) ? out : null;
      },
      20_000,
      500,
    );
    if (process.env.WIFIBOX_LAB_DEBUG) console.log(`rdisc6 on the host:\n${ra}`);
    expect(ra).toMatch(/Prefix\s*:\s*fd00::\/64/);
    for (const s of [ETH0_INET6, ...SAMPLE_RDNSS.split(' ')]) expect(ra).toMatch(new RegExp(`Recursive DNS server\\s*:\\s*${s.replace(/\./g, '\\.')}\\b`));
    // The relay answers on that address as on eth0's IPv4 one.
    expect(await waitFor(`${WIRELESS_NAME} over IPv6 from the host`, () => lab.lookup('host', WIRELESS_NAME, ETH0_INET6), 10_000, 200)).toBe(lab.addr.air);
  }, 60_000);

  it('5d. the wireless network changes its IPv6 DNS: the relay asks the new server; radvd is left alone', async () => {
    const before = await radvdOf();
    const conf = radvdConf();
    await lab.stop(airRa);
    airRa = await lab.startWirelessRa(AIR_DNS6_NEXT, AIR_PREFIX, AIR_ADDRESS);
    await waitFor('the new IPv6 DNS in the status', async () => (await status()).dns.dns6.includes(AIR_DNS6_NEXT), 30_000, 200);
    expect((await status()).dns.dns6).toEqual([AIR_DNS6_NEXT]);
    await waitFor('the relay to ask the new IPv6 DNS', async () => relayOf(await status()).servers.includes(AIR_DNS6_NEXT), 10_000, 100);
    expect(radvdConf()).toBe(conf);
    expect(await radvdOf()).toMatchObject({ state: 'running', pid: before.pid, restarts: before.restarts });
  }, 60_000);

  it('5e. kill -9 of radvd: back within 3 s with a new pid, counted as a restart', async () => {
    const before = await radvdOf();
    expect(before.state).toBe('running');
    process.kill(pidOf(before), 'SIGKILL');
    // waitFor fails past its 3 s: the bound is kept there, not checked twice.
    const after = await waitFor(
      'radvd to be back',
      async () => {
        const d = await radvdOf();
        return d.state === 'running' && d.pid !== before.pid ? d : null;
      },
      3000,
      20,
    );
    expect(after.restarts).toBe(before.restarts + 1);
    expect(existsSync(`/proc/${after.pid}`)).toBe(true);
    // It advertises again, from the same rendered config.
    await waitFor('an RA on the host after the restart', async () => (await hostRa()).includes(ETH0_INET6), 20_000, 500);
  }, 30_000);

  it('5f. SIGTERM: radvd stopped, inet6 address removed, ip6tables NAT flushed', async () => {
    const st = await status();
    const pids = st.daemons.map(pidOf);
    expect(pids.length).toBe(3);
    process.kill(init.pid, 'SIGTERM');
    expect(await init.exited).toBe(0);
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(await inet6('eth0')).not.toContain(ETH0_INET6);
    const nat = (await lab.guest(['ip6tables', '-w', '5', '-t', 'nat', '-S'])).stdout;
    expect(nat).not.toMatch(/MASQUERADE/);
    expect(nat).toMatch(/-P POSTROUTING ACCEPT/);
  }, 30_000);

  it("9. this machine's own sysctls, routes, firewall and /etc are as they were", async () => {
    if (process.env.WIFIBOX_LAB_DEBUG) console.log(lab.logTails(60));
    await lab.down();
    expect(await machineSnapshot()).toEqual(machineBefore);
  });
});
