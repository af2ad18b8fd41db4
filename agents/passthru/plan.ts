// The passthrough's plan: where its ports listen and which of them to open, close or keep, from
// the validated config, the interfaces' addresses and what runs now. Pure: nothing here listens;
// the agent applies the plan, `--dry-run` prints it, tests check it.
import { prefixOfDottedMask } from '../common/ipv4';
import type { PassthruConfig, PassthruNetwork, PassthruSocket } from './config';
import type { InterfaceAddress } from './system';

/** Where the ports listen: the network served (its address the one listened on), or why not yet. */
type ListenNetwork = { network: PassthruNetwork; waiting: null } | { network: null; waiting: string };

/** The ports that run now: the network they listen on, and each one's daemon socket path. */
export interface RunningPorts {
  network: PassthruNetwork | null;
  ports: ReadonlyMap<number, string>;
}

interface PassthruPlan {
  /** The network served, its address the one every port listens on; null while none may be. */
  network: PassthruNetwork | null;
  /** Why nothing listens yet; null when the ports listen, or when there are none. */
  waiting: string | null;
  /** Sockets to start listening for. */
  listen: PassthruSocket[];
  /** Running ports to close: their socket is gone or changed, or the address moved. */
  close: number[];
  /** Running ports left as they are, with their connections and counters. */
  keep: PassthruSocket[];
  /** Sockets that listen once there is an address to listen on. */
  later: PassthruSocket[];
}

const NOTHING_RUNNING: RunningPorts = { network: null, ports: new Map() };

/**
 * Works out where to listen: `network=` when it is set, or the LAN interface's address when it is
 * empty; never on 0.0.0.0 or another address that is not the guest's own unicast one, and never
 * on an address of another interface (the wireless side's DHCP may hand it that address later).
 */
export function listenNetwork(configured: PassthruNetwork | null, addresses: readonly InterfaceAddress[], lanInterface: string): ListenNetwork {
  const wait = (waiting: string): ListenNetwork => ({ network: null, waiting });
  if (configured) {
    const n = configured;
    const first = Number(n.address.split('.')[0]);
    if (n.address === '0.0.0.0' || first === 0 || first >= 224 || n.prefixLength === 0) {
      return wait(
        `network= names ${n.address}/${n.prefixLength}; expected the guest's own unicast address on ${lanInterface} and its network: refusing to listen`,
      );
    }
    const owner = addresses.find((a) => a.address === n.address);
    if (!owner) return wait(`${n.address} (network=) is on no interface yet; waiting for it on ${lanInterface}`);
    if (owner.iface !== lanInterface) {
      return wait(`network= names ${n.address}, an address of ${owner.iface}, not of ${lanInterface}: refusing to listen there`);
    }
    return { network: n, waiting: null };
  }
  const lan = addresses.find((a) => a.iface === lanInterface);
  if (!lan) return wait(`no IPv4 address on ${lanInterface} yet; waiting for one`);
  // The kernel's masks are contiguous; anything else would make peer checks meaningless.
  const prefixLength = prefixOfDottedMask(lan.netmask);
  if (prefixLength === null) return wait(`${lanInterface}'s netmask ${lan.netmask} is not a contiguous IPv4 mask; waiting for a usable address`);
  return { network: { address: lan.address, mask: lan.netmask, prefixLength }, waiting: null };
}

export function sameNetwork(a: PassthruNetwork | null, b: PassthruNetwork | null): boolean {
  return a !== null && b !== null && a.address === b.address && a.prefixLength === b.prefixLength;
}

/**
 * Pure: the config's sockets against the ports running now. A port whose socket path and
 * network are unchanged is kept (its connections go on); one whose socket changed or went is
 * closed, and every port closes when the address moves or goes.
 */
export function planPassthru(
  config: Pick<PassthruConfig, 'network' | 'sockets'> | null,
  addresses: readonly InterfaceAddress[],
  lanInterface: string,
  running: RunningPorts = NOTHING_RUNNING,
): PassthruPlan {
  // One socket per port, the first (the parser already skips a port given twice).
  const byPort = new Map<number, PassthruSocket>();
  for (const s of config?.sockets ?? []) if (!byPort.has(s.port)) byPort.set(s.port, s);
  const wanted = [...byPort.values()];
  const where: ListenNetwork | null = wanted.length ? listenNetwork(config?.network ?? null, addresses, lanInterface) : null;
  const network = where?.network ?? null;
  const moved = !sameNetwork(network, running.network);
  const close = [...running.ports].filter(([port, path]) => moved || byPort.get(port)?.path !== path).map(([port]) => port);
  const stays = (s: PassthruSocket) => running.ports.has(s.port) && !close.includes(s.port);
  return {
    network,
    waiting: where?.waiting ?? null,
    listen: network ? wanted.filter((s) => !stays(s)) : [],
    close,
    keep: wanted.filter(stays),
    later: network ? [] : wanted,
  };
}

/** The plan as a person reads it: one line per port. */
export function formatPassthruPlan(plan: PassthruPlan): string {
  const lines: string[] = [];
  const row = (what: string, text: string) => lines.push(`${what.padEnd(8)} ${text}`);
  const at = plan.network ? `${plan.network.address}:` : 'port ';
  const bridge = (s: PassthruSocket) => `${at}${s.port} → ${s.path}  (line ${s.line})`;
  if (plan.network) row('network', `${plan.network.address}/${plan.network.prefixLength}: peers outside it are refused`);
  if (plan.waiting) row('waiting', plan.waiting);
  for (const port of plan.close) row('close', `port ${port}`);
  for (const s of plan.keep) row('keep', bridge(s));
  for (const s of plan.listen) row('listen', bridge(s));
  for (const s of plan.later) row('later', bridge(s));
  if (!plan.keep.length && !plan.listen.length && !plan.later.length) row('none', 'no socket in the configuration: nothing listens');
  return lines.join('\n') + '\n';
}
