// The passthrough's plan, pure: where its ports listen, and which it opens, closes or keeps
// against those running, from the config and the interfaces' addresses alone.
import { describe, expect, it } from 'vitest';
import { parsePassthruConfig, type PassthruNetwork } from '../../agents/passthru/config';
import { formatPassthruPlan, planPassthru, type RunningPorts } from '../../agents/passthru/plan';
import type { InterfaceAddress } from '../../agents/passthru/system';

const ETH0: InterfaceAddress = { iface: 'eth0', address: '10.0.0.1', netmask: '255.255.255.0' };
const NET: PassthruNetwork = { address: '10.0.0.1', mask: '255.255.255.0', prefixLength: 24 };
const WLAN0 = '/var/run/wpa_supplicant/wlan0';
const P2P = '/var/run/wpa_supplicant/p2p-dev-wlan0';

function config(network: string, sockets: string[]) {
  const c = parsePassthruConfig(`network=${network}\nsockets="${sockets.join('\n')}"\n`, 'uds_passthru.conf');
  expect(c.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return c;
}

const both = config('', [`path=${WLAN0},port=1200`, `path=${P2P},port=1201`]);
const ports = (plan: { listen: { port: number }[] }) => plan.listen.map((s) => s.port);
const running = (network: PassthruNetwork | null, entries: [number, string][]): RunningPorts => ({ network, ports: new Map(entries) });

describe('passthru plan: where it listens', () => {
  it("with network= empty, on eth0's address and network; waiting, every socket for later, while eth0 has none", () => {
    const plan = planPassthru(both, [{ iface: 'lo', address: '127.0.0.1', netmask: '255.0.0.0' }, ETH0], 'eth0');
    expect(plan).toMatchObject({ network: NET, waiting: null, close: [], keep: [], later: [] });
    expect(ports(plan)).toEqual([1200, 1201]);

    const waiting = planPassthru(both, [{ iface: 'wlan0', address: '192.168.1.5', netmask: '255.255.255.0' }], 'eth0');
    expect(waiting).toMatchObject({ network: null, waiting: 'no IPv4 address on eth0 yet; waiting for one', listen: [], close: [] });
    expect(waiting.later.map((s) => s.port)).toEqual([1200, 1201]);
  });

  it("with network= set, on that address once it is eth0's own, never on the wireless side's", () => {
    const c = config('10.0.0.1:255.255.255.0', [`path=${WLAN0},port=1200`]);
    expect(planPassthru(c, [ETH0], 'eth0')).toMatchObject({ network: NET, waiting: null });
    expect(planPassthru(c, [], 'eth0')).toMatchObject({
      network: null,
      waiting: '10.0.0.1 (network=) is on no interface yet; waiting for it on eth0',
      listen: [],
    });
    const onWlan = planPassthru(c, [{ ...ETH0, iface: 'wlan0' }], 'eth0');
    expect(onWlan).toMatchObject({ network: null, listen: [] });
    expect(onWlan.waiting).toMatch(/an address of wlan0, not of eth0: refusing to listen there/);
    // Another LAN interface, given as an option, is the one that counts.
    expect(planPassthru(c, [ETH0], 'eth1')).toMatchObject({ network: null, listen: [] });
  });

  it('never on 0.0.0.0, a multicast address or a /0 network, whatever the interfaces have', () => {
    for (const network of ['0.0.0.0:0.0.0.0', '224.0.0.1:255.255.255.0', '10.0.0.1:0.0.0.0']) {
      const c = parsePassthruConfig(`network=${network}\nsockets="path=${WLAN0},port=1200"\n`, 'uds_passthru.conf');
      const addresses = [ETH0, { iface: 'eth0', address: network.split(':')[0]!, netmask: '0.0.0.0' }];
      const plan = planPassthru(c, addresses, 'eth0');
      expect(plan.listen, network).toEqual([]);
      expect(plan.waiting, network).toMatch(/expected the guest's own unicast address on eth0 and its network: refusing to listen/);
    }
  });

  it("not while eth0's netmask is not contiguous (a peer check would mean nothing)", () => {
    const plan = planPassthru(both, [{ ...ETH0, netmask: '255.0.255.0' }], 'eth0');
    expect(plan).toMatchObject({ network: null, listen: [] });
    expect(plan.waiting).toMatch(/netmask 255\.0\.255\.0 is not a contiguous IPv4 mask/);
  });

  it('without sockets: nowhere, and it waits for nothing', () => {
    for (const c of [null, config('', [])]) {
      expect(planPassthru(c, [], 'eth0')).toEqual({ network: null, waiting: null, listen: [], close: [], keep: [], later: [] });
    }
  });
});

describe('passthru plan: against the ports running now', () => {
  it('keeps a port whose socket and address are unchanged, closes one whose socket changed or went, opens the new', () => {
    const c = config('', [`path=${WLAN0},port=1200`, `path=/var/run/hostapd/wlan0,port=1201`, `path=${P2P},port=1202`]);
    const plan = planPassthru(
      c,
      [ETH0],
      'eth0',
      running(NET, [
        [1200, WLAN0],
        [1201, P2P],
        [1203, P2P],
      ]),
    );
    expect(plan.keep.map((s) => s.port)).toEqual([1200]);
    expect(plan.close).toEqual([1201, 1203]);
    expect(ports(plan)).toEqual([1201, 1202]);
  });

  it('closes every port when the address moves, and listens again at the new one', () => {
    const renumbered = { ...ETH0, address: '10.0.0.7' };
    const plan = planPassthru(
      both,
      [renumbered],
      'eth0',
      running(NET, [
        [1200, WLAN0],
        [1201, P2P],
      ]),
    );
    expect(plan.network).toEqual({ ...NET, address: '10.0.0.7' });
    expect(plan.close).toEqual([1200, 1201]);
    expect(plan.keep).toEqual([]);
    expect(ports(plan)).toEqual([1200, 1201]);
    // A wider network on the same address moves too: peers are checked against it.
    expect(planPassthru(both, [{ ...ETH0, netmask: '255.255.0.0' }], 'eth0', running(NET, [[1200, WLAN0]])).close).toEqual([1200]);
  });

  it('closes every port when the address goes, and holds the sockets for later', () => {
    const plan = planPassthru(
      both,
      [],
      'eth0',
      running(NET, [
        [1200, WLAN0],
        [1201, P2P],
      ]),
    );
    expect(plan).toMatchObject({ network: null, listen: [], keep: [], close: [1200, 1201] });
    expect(plan.later.map((s) => s.port)).toEqual([1200, 1201]);
  });

  it('closes every port when the config has no socket left', () => {
    expect(planPassthru(config('', []), [ETH0], 'eth0', running(NET, [[1200, WLAN0]]))).toEqual({
      network: null,
      waiting: null,
      listen: [],
      close: [1200],
      keep: [],
      later: [],
    });
  });
});

describe('passthru plan as printed', () => {
  it('one line per port, with the address, the daemon socket and the config line', () => {
    expect(formatPassthruPlan(planPassthru(both, [ETH0], 'eth0'))).toBe(
      'network  10.0.0.1/24: peers outside it are refused\n' + `listen   10.0.0.1:1200 → ${WLAN0}  (line 2)\n` + `listen   10.0.0.1:1201 → ${P2P}  (line 3)\n`,
    );
    expect(formatPassthruPlan(planPassthru(both, [], 'eth0'))).toBe(
      'waiting  no IPv4 address on eth0 yet; waiting for one\n' + `later    port 1200 → ${WLAN0}  (line 2)\n` + `later    port 1201 → ${P2P}  (line 3)\n`,
    );
    expect(
      formatPassthruPlan(
        planPassthru(
          both,
          [ETH0],
          'eth0',
          running(NET, [
            [1200, WLAN0],
            [1205, P2P],
          ]),
        ),
      ),
    ).toBe(
      'network  10.0.0.1/24: peers outside it are refused\n' +
        'close    port 1205\n' +
        `keep     10.0.0.1:1200 → ${WLAN0}  (line 2)\n` +
        `listen   10.0.0.1:1201 → ${P2P}  (line 3)\n`,
    );
    expect(formatPassthruPlan(planPassthru(null, [ETH0], 'eth0'))).toBe('none     no socket in the configuration: nothing listens\n');
  });
});
