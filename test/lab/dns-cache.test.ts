// The DNS relay's cache in the lab: the wireless network's DNS is 30 ms away (lab/dns-delay.cjs in
// front of a dnsmasq that gives each name its TTL); the host asks the guest. What reaches the far
// server is counted there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INIT_SETTINGS } from '../../agents/init/settings';
import type { Lab } from '../../lab/lab';
import { repoRoot } from '../../lab/paths';
import { waitFor, type LabProcess } from '../../lab/proc';
import { initStatus, relayOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;
let far: LabProcess;
let air: { dhcp: LabProcess; web: LabProcess; dns: LabProcess };

const LONG = 'long.wireless.lab';
const SHORT = 'short.wireless.lab';
const FAR_DNS = '192.168.77.55';
const FAR_DELAY_MS = 30;
const SHORT_TTL_S = 2;
/** The latency probe's timed rounds, and the untimed ones bench/init-probe.cjs asks first (its WARMUP_ROUNDS). */
const ROUNDS = 20;
const PROBE_WARMUP_ROUNDS = 20;
const ASKED = ROUNDS + PROBE_WARMUP_ROUNDS;

/** Each question the far server passed on: {name, at}. */
const farAsked = (name: string): number[] =>
  far
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; name: string; at: number })
    .filter((e) => e.event === 'asked' && e.name === name)
    .map((e) => e.at);
const relay = async () => relayOf(await initStatus(lab));

labForFile({ flavor: 'wpa_supplicant', configureGuest: false }, async (l) => {
  lab = l;
  air = await lab.startWirelessNetwork('192.168.77.53', 'wireless.lab');
  await lab.startWirelessDns('192.168.77.54', { [LONG]: '192.168.77.201,3600', [SHORT]: `192.168.77.202,${SHORT_TTL_S}` });
  far = await lab.startFarWirelessDns(FAR_DNS, '192.168.77.54', FAR_DELAY_MS);
  await lab.stop(air.dhcp);
  air.dhcp = lab.startWirelessDhcp(FAR_DNS, 'wireless.lab', 120);
  lab.startInit();
  const host = lab.startDhcpClient('host', 'wifibox0');
  await waitFor("the host's lease", () => readFileSync(host.events, 'utf8').includes('"bound"') || null, 30_000, 50);
  await waitFor('the far DNS at the relay', async () => (await relay().catch(() => null))?.servers.join(' ') === FAR_DNS, 30_000, 50);
});

describe("the DNS relay's cache, the wireless DNS 30 ms away", () => {
  it(`a name asked ${ASKED} times in a row from the host reaches the far server once; the rest are answered from the guest`, async () => {
    const probe = join(repoRoot(), 'bench', 'init-probe.cjs');
    const r = await lab.host([process.execPath, probe, 'latency', LONG, String(ROUNDS), lab.addr.guestEth0], { timeoutMs: 60_000 });
    const line = r.stdout
      .split('\n')
      .filter((x) => x.includes('"event":"latency"'))
      .map((x) => JSON.parse(x) as { times: number[][]; failures: number })[0];
    expect(line, r.stderr).toBeDefined();
    expect(line!.failures).toBe(0);
    expect(line!.times).toHaveLength(ROUNDS);
    expect(farAsked(LONG)).toHaveLength(1);
    // The cache has its default size; only the first question missed it.
    expect((await relay()).cache).toMatchObject({ capacity: INIT_SETTINGS.cache.default, hits: ASKED - 1 });
  }, 90_000);

  it(`an answer with a ${SHORT_TTL_S} s TTL is asked again once it runs out, not before`, async () => {
    expect(await lab.lookup('host', SHORT, lab.addr.guestEth0)).toBe('192.168.77.202');
    const [first] = farAsked(SHORT);
    expect(first).toBeDefined();
    const asked = await waitFor(
      'the far server asked again',
      async () => {
        expect(await lab.lookup('host', SHORT, lab.addr.guestEth0)).toBe('192.168.77.202');
        const all = farAsked(SHORT);
        return all.length > 1 ? all : null;
      },
      20_000,
      100,
    );
    // Both times as the far server saw them, each 30 ms after the relay asked: the TTL counts from
    // the answer's arrival, a moment after the first.
    expect(asked[1]! - first!).toBeGreaterThanOrEqual(SHORT_TTL_S * 1000 - FAR_DELAY_MS);
  }, 60_000);

  it('a renewal hands out another DNS server: the next answer comes from the new network, not from the cache', async () => {
    expect(await lab.lookup('host', LONG, lab.addr.guestEth0)).toBe('192.168.77.201');
    const before = (await relay()).cache;
    await lab.startWirelessDns('192.168.77.56', { [LONG]: '192.168.77.211,3600' });
    await lab.stop(air.dhcp);
    air.dhcp = lab.startWirelessDhcp('192.168.77.56', 'wireless.lab', 120);
    const r = await lab.guest(['dhcpcd', '-n', 'wlan0']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the new wireless DNS at the relay', async () => (await relay()).servers.join(' ') === '192.168.77.56', 20_000, 50);
    expect(await lab.lookup('host', LONG, lab.addr.guestEth0)).toBe('192.168.77.211');
    const after = (await relay()).cache;
    expect(after.flushes).toBeGreaterThan(before.flushes);
    expect(after.hits).toBe(before.hits);
  }, 60_000);

  it("forged answers (from another address, another port, with another ID, for another question) are never kept: what the host gets, then and from the cache, is the server's", async () => {
    const forging = await lab.startFarWirelessDns('192.168.77.57', '192.168.77.54', FAR_DELAY_MS, '192.168.77.58');
    await lab.stop(air.dhcp);
    air.dhcp = lab.startWirelessDhcp('192.168.77.57', 'wireless.lab', 120);
    const r = await lab.guest(['dhcpcd', '-n', 'wlan0']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the forging server at the relay', async () => (await relay()).servers.join(' ') === '192.168.77.57', 20_000, 50);
    const before = (await relay()).cache;
    const lookups = 3;
    for (let i = 0; i < lookups; i++) expect(await lab.lookup('host', LONG, lab.addr.guestEth0)).toBe('192.168.77.201');
    const asked = forging
      .output()
      .split('\n')
      .filter((l) => l.includes('"asked"') && l.includes(LONG));
    expect(asked).toHaveLength(1);
    // The forger did its part: four forged answers came before the real one.
    expect(
      forging
        .output()
        .split('\n')
        .filter((l) => l.includes('"forged"'))
        .map((l) => (JSON.parse(l) as { forgedRecords: number }).forgedRecords),
    ).toEqual([4]);
    // The first went to the server (and was kept), the others came from the cache.
    expect((await relay()).cache.hits - before.hits).toBe(lookups - 1);
  }, 60_000);
});
