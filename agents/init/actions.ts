// One executor per kind of plan action. Each does its part through InitSystem and records, as
// each effect happens, how to take it back (teardown.ts): nothing else knows what was applied.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { formatProblem } from '../common/problems';
import type { GuestConfig } from './config';
import type { IfaceConfig } from './config/interfaces';
import { sysctlPath, type SysctlEntry } from './config/sysctl';
import { flushFirewall, loadFirewall } from './firewall';
import type { InitOptions } from './options';
import type { Action } from './plan';
import type { InitSystem } from './system';
import type { Teardown } from './teardown';

export interface ActionContext {
  opts: InitOptions;
  cfg: GuestConfig;
  sys: InitSystem;
  log: Logger;
  teardown: Teardown;
  /** Starts one of the services (daemons) wifibox-init drives; resolves with how to stop it. */
  startService(action: ServiceAction): Promise<() => Promise<void>>;
  /** True once wifibox-init is being stopped: a step still waiting gives up. */
  stopping(): boolean;
  /** Calls `fn` once wifibox-init is being stopped; returns how to unregister. */
  whenStopping(fn: () => void): () => void;
}

export type ServiceAction = Extract<Action, { kind: 'service' }>;

type Executor<K extends Action['kind']> = (action: Extract<Action, { kind: K }>, ctx: ActionContext) => Promise<string[]>;

/** Warnings for each key the kernel refused (one missing key must not stop the others). */
function writeSysctl(ctx: ActionContext, entries: SysctlEntry[], value?: string): string[] {
  const warnings: string[] = [];
  for (const e of entries) {
    try {
      ctx.sys.write(join(ctx.opts.procSys, sysctlPath(e.key)), `${value ?? e.value}\n`);
    } catch (err) {
      if (!e.ignoreErrors) warnings.push(`${e.file}:${e.line}: cannot set ${e.key}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return warnings;
}

async function ip(ctx: ActionContext, args: string[]): Promise<void> {
  const r = await ctx.sys.run([ctx.opts.tools.ip, ...args]);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
}

/** Adds an address and records its removal. */
async function addAddress(ctx: ActionContext, iface: string, family: 4 | 6, cidr: string): Promise<void> {
  await ip(ctx, [`-${family}`, 'addr', 'replace', cidr, 'dev', iface, ...(family === 6 ? ['nodad'] : [])]);
  ctx.teardown.push(`remove ${cidr} from ${iface}`, () =>
    ctx.sys.run([ctx.opts.tools.ip, `-${family}`, 'addr', 'del', cidr, 'dev', iface]).then(() => undefined),
  );
}

async function addGateway(ctx: ActionContext, iface: string, family: 4 | 6, gateway: string | null): Promise<void> {
  if (gateway) await ip(ctx, [`-${family}`, 'route', 'replace', 'default', 'via', gateway, 'dev', iface]);
}

/**
 * The kernel announces the interface's IPv4 addresses (a gratuitous ARP) as its link comes up
 * (arp_notify). At a resume the host has been sending to the guest's address all along: its ARP
 * request goes unanswered while the guest boots and is asked again only a second later, so
 * without the announcement its traffic waits up to that second. A value the user's sysctl files
 * set for the interface is theirs.
 */
function announceOnUp(ctx: ActionContext, iface: string): string[] {
  const key = `net.ipv4.conf.${iface.replace(/\./g, '/')}.arp_notify`;
  if (ctx.cfg.sysctl.some((e) => e.key === key)) return [];
  return writeSysctl(ctx, [{ key, value: '1', file: '(wifibox-init)', line: 0, ignoreErrors: false }]);
}

async function configureIface(ctx: ActionContext, iface: IfaceConfig): Promise<string[]> {
  const v4 = iface.inet?.method === 'static' ? iface.inet : null;
  const warnings: string[] = [];
  // The address before the link comes up: then the kernel announces it (see announceOnUp).
  if (v4) {
    warnings.push(...announceOnUp(ctx, iface.name));
    await addAddress(ctx, iface.name, 4, `${v4.address}/${v4.prefixLength}`);
  }
  await ip(ctx, ['link', 'set', iface.name, 'up']);
  if (v4) await addGateway(ctx, iface.name, 4, v4.gateway);
  if (iface.inet?.method === 'dhcp') {
    // dhcpcd keeps the lease's address when it stops: a stopped guest keeps none.
    ctx.teardown.push(`flush ${iface.name}'s DHCP address`, async () => {
      if (ctx.sys.exists(join(ctx.opts.sysClassNet, iface.name))) await ctx.sys.run([ctx.opts.tools.ip, '-4', 'addr', 'flush', 'dev', iface.name]);
    });
  }
  if (iface.inet6) {
    await addAddress(ctx, iface.name, 6, `${iface.inet6.address}/${iface.inet6.prefixLength}`);
    await addGateway(ctx, iface.name, 6, iface.inet6.gateway);
  }
  return warnings;
}

/** Said once the device is this late: a driver that does not load is worth a line in the log. */
const DEVICE_LATE_MS = 1000;

/** Waits for the interface to appear, told by the kernel (rtnetlink): nothing is polled meanwhile. */
async function waitDevice(ctx: ActionContext, iface: string): Promise<string[]> {
  const present = () => ctx.sys.exists(join(ctx.opts.sysClassNet, iface));
  if (present()) return [];
  await new Promise<void>((resolve, reject) => {
    const late = ctx.sys.after(DEVICE_LATE_MS, () => ctx.log.warn({ iface }, `${iface} is not there yet; waiting for the driver`));
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      late.cancel();
      watch.close();
      unregister();
      if (err) reject(err);
      else resolve();
    };
    const watch = ctx.sys.watchLinks(() => {
      if (present()) end();
    });
    const unregister = ctx.whenStopping(() => end(new Error('stopped while waiting')));
    // It may have come between the first look and the watch.
    if (present()) end();
    else if (ctx.stopping()) end(new Error('stopped while waiting'));
  });
  return [];
}

const EXECUTORS: { [K in Action['kind']]: Executor<K> } = {
  async hostname(a, ctx) {
    ctx.sys.write(join(ctx.opts.procSys, 'kernel/hostname'), `${a.name}\n`);
    return [];
  },
  async sysctl(a, ctx) {
    return writeSysctl(ctx, a.entries);
  },
  async firewall(a, ctx) {
    const errors = ctx.cfg.problems.filter((p) => p.file === a.file && p.severity === 'error');
    if (errors.length) throw new Error(errors.map(formatProblem).join('; '));
    const tools =
      a.family === 4
        ? { restore: ctx.opts.tools.iptablesRestore, iptables: ctx.opts.tools.iptables }
        : { restore: ctx.opts.tools.ip6tablesRestore, iptables: ctx.opts.tools.ip6tables };
    // Recorded first: rules a failed restore half-applied (nft commits per table) are flushed too.
    ctx.teardown.push(`flush the IPv${a.family} firewall`, () => flushFirewall(ctx.sys, tools, a.text));
    await loadFirewall(ctx.sys, tools, a.file, a.text);
    return [];
  },
  async forwarding(a, ctx) {
    ctx.teardown.push(`turn IPv${a.family} forwarding off`, () => void writeSysctl(ctx, a.entries, '0'));
    return writeSysctl(ctx, a.entries);
  },
  async 'link-up'(a, ctx) {
    await ip(ctx, ['link', 'set', a.iface, 'up']);
    return [];
  },
  'wait-device': (a, ctx) => waitDevice(ctx, a.iface),
  iface: (a, ctx) => configureIface(ctx, a.iface),
  async service(a, ctx) {
    const stop = await ctx.startService(a);
    ctx.teardown.push(`stop ${a.service}`, stop);
    return [];
  },
};

/** Applies one action; resolves with its warnings, rejects with why it failed. */
export function applyAction(action: Action, ctx: ActionContext): Promise<string[]> {
  return (EXECUTORS[action.kind] as Executor<Action['kind']>)(action as never, ctx);
}
