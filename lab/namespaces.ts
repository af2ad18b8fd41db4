// The lab's network namespaces and the links between them:
//
//   host ns (wifibox0) ──veth── guest ns (eth0 | wlan0) ──veth── air ns (ap0-port in bridge ap0)
//
// The wireless side is a bridge, so the guest's wlan0 can vanish and come back (a card reset)
// while the wireless network's servers, bound to the bridge, stay as they are.
// Nothing here touches the machine's own network namespace.
import { must, run } from './proc';

export type Flavor = 'wpa_supplicant' | 'hostapd';

/** Per-flavor addresses, matching the upstream samples (interfaces.conf, uds_passthru.conf). */
export const ADDRESSES = {
  wpa_supplicant: { guestEth0: '10.0.0.1', hostWifibox0: '10.0.0.2', guestWlan0: '192.168.77.2', air: '192.168.77.1' },
  hostapd: { guestEth0: '10.0.0.2', hostWifibox0: '10.0.0.1', guestWlan0: '192.168.0.1', air: '192.168.0.2' },
} as const;

export type Addresses = (typeof ADDRESSES)[Flavor];

/** wlan0's MAC address (locally administered), in every lab. */
export const WLAN0_MAC = '02:77:00:00:00:02';

export interface Namespaces {
  guest: string;
  host: string;
  air: string;
}

export function namespacesOf(tag: string): Namespaces {
  return { guest: `wbx-${tag}-guest`, host: `wbx-${tag}-host`, air: `wbx-${tag}-air` };
}

/** What decides the links and addresses (LabOptions explains each). */
interface NetworkPlan {
  flavor: Flavor;
  addr: Addresses;
  configureGuest: boolean;
  hostDhcp: boolean;
  lateWlan: boolean;
}

/** Above any index the guest's own links get (lo, eth0, wlan0 and its comebacks count up from 1). */
const HOST_WIFIBOX0_INDEX = 1000;
/**
 * wlan0's peer on the wireless side's bridge, for the same reason: made anew at each comeback in
 * both namespaces, the two ends would otherwise get the same index each time (each namespace
 * counts up), and the kernel would apply wlan0's carrier up to 1 s late.
 */
const AIR_PORT_INDEX = 2000;

/** Creates the namespaces (`created` is told each one as soon as it exists), the links and the static addresses. */
export async function buildNetwork(ns: Namespaces, plan: NetworkPlan, created: (name: string) => void): Promise<void> {
  for (const n of Object.values(ns)) {
    await must(['ip', 'netns', 'add', n]);
    created(n);
    await must(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }
  // veth pairs are created straight inside the namespaces: no name ever exists in the root namespace.
  // wifibox0 gets an interface index eth0 cannot have: the kernel applies the carrier of a veth
  // whose peer has its own index up to 1 s late (linkwatch), and the host's real wifibox0 (a bridge
  // with bhyve's tap) passes traffic the moment the guest's eth0 is up.
  await must([
    'ip',
    'link',
    'add',
    'wifibox0',
    'index',
    String(HOST_WIFIBOX0_INDEX),
    'netns',
    ns.host,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    ns.guest,
  ]);
  if (!plan.lateWlan) await plugWlan(ns, plan);
  if (!plan.hostDhcp) {
    await must(['ip', '-n', ns.host, 'addr', 'add', `${plan.addr.hostWifibox0}/24`, 'dev', 'wifibox0']);
  }
  await must(['ip', '-n', ns.host, 'link', 'set', 'wifibox0', 'up']);
  if (!plan.hostDhcp && plan.flavor === 'wpa_supplicant') {
    await must(['ip', '-n', ns.host, 'route', 'add', 'default', 'via', plan.addr.guestEth0]);
  }

  if (plan.configureGuest) {
    await must(['ip', '-n', ns.guest, 'addr', 'add', `${plan.addr.guestEth0}/24`, 'dev', 'eth0']);
    await must(['ip', '-n', ns.guest, 'addr', 'add', `${plan.addr.guestWlan0}/24`, 'dev', 'wlan0']);
    await must(['ip', '-n', ns.guest, 'link', 'set', 'eth0', 'up']);
    await must(['ip', '-n', ns.guest, 'link', 'set', 'wlan0', 'up']);
  }
}

/**
 * Creates wlan0 in the guest, as a driver loading would, with its peer a port of the wireless
 * side's bridge ap0 (made, with its address and route, the first time).
 */
export async function plugWlan(ns: Namespaces, plan: Pick<NetworkPlan, 'flavor' | 'addr' | 'configureGuest'>): Promise<void> {
  const bridge = (await run(['ip', '-n', ns.air, 'link', 'show', 'ap0'])).code === 0;
  if (!bridge) {
    await must(['ip', '-n', ns.air, 'link', 'add', 'ap0', 'type', 'bridge']);
    // In the access-point flavor run by the orchestrator, the wireless side is a client that
    // gets its address from the guest's udhcpd; otherwise it has its own.
    if (plan.flavor === 'wpa_supplicant' || plan.configureGuest) {
      await must(['ip', '-n', ns.air, 'addr', 'add', `${plan.addr.air}/24`, 'dev', 'ap0']);
    }
    await must(['ip', '-n', ns.air, 'link', 'set', 'ap0', 'up']);
  }
  // The card's own MAC address, the same each time it comes back: the wireless DHCP server
  // knows it, as a real network knows a card after a reset. The pair is made on the wireless side
  // and its bridge port is up before wlan0 enters the guest: a card's link is whole when its
  // interface appears, and a dhcpcd started the moment it does must not send into a port that is
  // not on the bridge yet (its first request lost: it asks again 4 ± 1 s later).
  await must(['ip', '-n', ns.air, 'link', 'add', 'ap0-port', 'index', String(AIR_PORT_INDEX), 'type', 'veth', 'peer', 'name', 'wlan0', 'address', WLAN0_MAC]);
  await must(['ip', '-n', ns.air, 'link', 'set', 'ap0-port', 'master', 'ap0', 'up']);
  await must(['ip', '-n', ns.air, 'link', 'set', 'wlan0', 'netns', ns.guest]);
  if (!bridge && plan.flavor === 'wpa_supplicant') {
    // The wireless side knows a route to the guest's eth0 network, so "unreachable from the
    // wireless side" is tested against packets that really arrive at the guest.
    await must(['ip', '-n', ns.air, 'route', 'add', '10.0.0.0/24', 'via', plan.addr.guestWlan0]);
  }
}

/** wlan0 vanishes from the guest (a card reset): its link to the bridge goes with it. */
export async function unplugWlan(ns: Namespaces): Promise<void> {
  await must(['ip', '-n', ns.guest, 'link', 'del', 'wlan0']);
}

/** The PIDs of the processes in a lab network namespace. */
export async function pidsIn(ns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', ns]);
  return r.code === 0 ? r.stdout.split(/\s+/).filter(Boolean).map(Number) : [];
}

/**
 * Deletes the namespaces. Anything still inside them was started by the lab or by what it
 * started (e.g. a daemon's helpers): found by namespace, stopped by PID, so none outlives the lab.
 */
export async function removeNamespaces(namespaces: readonly string[]): Promise<void> {
  for (const n of namespaces) {
    for (const pid of await pidsIn(n)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const n of namespaces) {
    await run(['ip', 'netns', 'del', n]);
  }
}
