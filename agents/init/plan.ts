// The plan: what the guest's network needs, as steps with dependencies, derived from the
// validated config alone. Nothing here touches the system; `--dry-run` prints it, tests check it.
import { posix } from 'node:path';
import type { GuestConfig } from './config';
import type { IfaceConfig } from './config/interfaces';
import type { SysctlEntry } from './config/sysctl';

export type Action =
  | { kind: 'hostname'; name: string }
  | { kind: 'sysctl'; entries: SysctlEntry[] }
  | { kind: 'firewall'; family: 4 | 6; file: string; text: string }
  | { kind: 'link-up'; iface: string }
  | { kind: 'wait-device'; iface: string }
  | { kind: 'iface'; iface: IfaceConfig }
  | { kind: 'forwarding'; family: 4 | 6; entries: SysctlEntry[] }
  | { kind: 'service'; service: ServiceName; iface: string };

/** What wifibox-init runs and follows: the daemons, and its own DNS relay. */
type ServiceName = 'udhcpd' | 'dhcpcd' | 'radvd' | 'dns-relay';

export interface Step {
  id: string;
  after: string[];
  what: string;
  action: Action;
}

export interface Plan {
  flavor: GuestConfig['flavor'];
  lan: string;
  wlan: string;
  steps: Step[];
}

interface PlanOptions {
  lanInterface: string;
  wirelessInterface: string;
}

/** Forwarding is switched on only once the NAT the user asked for is in place. */
export function isForwardingKey(key: string): 4 | 6 | null {
  if (key === 'net.ipv4.ip_forward' || /^net\.ipv4\.conf\.[^.]+\.forwarding$/.test(key)) return 4;
  if (/^net\.ipv6\.conf\.[^.]+\.forwarding$/.test(key)) return 6;
  return null;
}

/** The plan's steps as they are added; a later step finds the earlier ones it waits for. */
class Steps {
  readonly list: Step[] = [];
  add(id: string, after: string[], what: string, action: Action): void {
    this.list.push({ id, after, what, action });
  }
  has(id: string): boolean {
    return this.list.some((s) => s.id === id);
  }
}

const ifaceStep = (name: string) => `iface:${name}`;

export function makePlan(cfg: GuestConfig, opts: PlanOptions): Plan {
  const steps = new Steps();
  kernelSteps(cfg, steps);
  interfaceSteps(cfg, opts, steps);
  serviceSteps(cfg, opts, steps);
  return { flavor: cfg.flavor, lan: opts.lanInterface, wlan: opts.wirelessInterface, steps: steps.list };
}

/** The hostname, sysctl values, firewall rules, and forwarding once the rules are in. */
function kernelSteps(cfg: GuestConfig, steps: Steps): void {
  const add = steps.add.bind(steps);
  if (cfg.hostname) add('hostname', [], `set the hostname to ${cfg.hostname}`, { kind: 'hostname', name: cfg.hostname });

  const plain = cfg.sysctl.filter((e) => isForwardingKey(e.key) === null);
  if (plain.length) add('sysctl', [], `write ${plain.length} sysctl values`, { kind: 'sysctl', entries: plain });

  // A rules file that is there but malformed still gets its step: it fails, and so forwarding
  // stays off (no routing without the NAT the user asked for).
  for (const [family, name, id, rules] of [
    [4, 'iptables', 'firewall', cfg.iptables],
    [6, 'ip6tables', 'firewall6', cfg.ip6tables],
  ] as const) {
    const file = rules?.file ?? posix.join(cfg.dir, name);
    const broken = cfg.problems.some((p) => p.file === file && p.severity === 'error');
    if (rules || broken) add(id, [], `load ${file} with ${name}-restore`, { kind: 'firewall', family, file, text: rules?.text ?? '' });
  }

  for (const family of [4, 6] as const) {
    const fw = family === 4 ? 'firewall' : 'firewall6';
    const after = steps.has(fw) ? [fw] : [];
    const entries = cfg.sysctl.filter((e) => isForwardingKey(e.key) === family);
    // The old iptables/ip6tables services (IPFORWARD="yes" in their conf.d) switched forwarding
    // on once the rules were loaded; the IPv6 overlay relies on it, its sysctl files do not set it.
    const key = family === 4 ? 'net.ipv4.ip_forward' : 'net.ipv6.conf.all.forwarding';
    if (after.length && !entries.some((e) => e.key === key)) {
      entries.push({ key, value: '1', file: `${fw} (as IPFORWARD="yes" did)`, line: 0, ignoreErrors: false });
    }
    if (!entries.length) continue;
    add(family === 4 ? 'forwarding' : 'forwarding6', after, `turn IPv${family} forwarding on${after.length ? ` once ${fw} is loaded` : ''}`, {
      kind: 'forwarding',
      family,
      entries,
    });
  }
}

/** lo, then every interface in interfaces.conf. */
function interfaceSteps(cfg: GuestConfig, opts: PlanOptions, steps: Steps): void {
  const add = steps.add.bind(steps);
  add('link:lo', [], 'bring lo up', { kind: 'link-up', iface: 'lo' });

  // Every interface in interfaces.conf: the LAN side at once, the wireless side once its device exists.
  for (const iface of cfg.interfaces) {
    const after: string[] = [];
    if (iface.name === opts.wirelessInterface) {
      add(`wait:${iface.name}`, [], `wait for ${iface.name} to appear (the driver may load late)`, { kind: 'wait-device', iface: iface.name });
      after.push(`wait:${iface.name}`);
    }
    const how = [
      iface.inet?.method === 'static' ? `${iface.inet.address}/${iface.inet.prefixLength}${iface.inet.gateway ? ` via ${iface.inet.gateway}` : ''}` : null,
      iface.inet?.method === 'dhcp' ? 'DHCP' : null,
      iface.inet6 ? `${iface.inet6.address}/${iface.inet6.prefixLength}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    add(ifaceStep(iface.name), after, `configure ${iface.name}${how ? ` (${how})` : ''}`, { kind: 'iface', iface });
  }
}

/** The daemons, each after the interface it serves. */
function serviceSteps(cfg: GuestConfig, opts: PlanOptions, steps: Steps): void {
  const add = steps.add.bind(steps);
  const known = (name: string) => steps.has(ifaceStep(name));
  if (cfg.udhcpd?.interface) {
    const i = cfg.udhcpd.interface;
    add('udhcpd', known(i) ? [ifaceStep(i)] : [], `serve DHCP on ${i} (udhcpd)`, { kind: 'service', service: 'udhcpd', iface: i });
  }
  const wlan = cfg.interfaces.find((i) => i.name === opts.wirelessInterface);
  if (wlan?.inet?.method === 'dhcp') {
    add('dhcpcd', [ifaceStep(wlan.name)], `get ${wlan.name}'s address by DHCP (dhcpcd)`, { kind: 'service', service: 'dhcpcd', iface: wlan.name });
    // Only where a wireless network gives DNS servers to follow: the station flavor.
    if (cfg.settings.relay && known(opts.lanInterface)) {
      add('dns-relay', [ifaceStep(opts.lanInterface)], `answer DNS on ${opts.lanInterface} with the wireless network's servers`, {
        kind: 'service',
        service: 'dns-relay',
        iface: opts.lanInterface,
      });
    }
  }
  if (cfg.radvd) {
    const on = cfg.radvd.interfaces.filter(known).map(ifaceStep);
    add('radvd', on, `advertise IPv6 routes on ${cfg.radvd.interfaces.join(', ')} (radvd)`, {
      kind: 'service',
      service: 'radvd',
      iface: cfg.radvd.interfaces[0] ?? '',
    });
  }
}

/** The plan as a person reads it: one line per step, with what it waits for. */
export function formatPlan(plan: Plan): string {
  const lines = [`flavor: ${plan.flavor}`];
  for (const s of plan.steps) lines.push(`${s.id.padEnd(16)} ${s.what}${s.after.length ? `  [after ${s.after.join(', ')}]` : ''}`);
  return lines.join('\n') + '\n';
}
