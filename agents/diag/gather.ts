// Gathers every section at once (independent reads run in parallel; each one that fails says
// why in its section instead of stopping the others).
import { readForward, readInit, readPassthru } from './agents';
import { readDhcp } from './dhcp';
import { readInterfaces } from './interfaces';
import { readKernel, readLog } from './logs';
import { readMemory } from './memory';
import { readNat } from './nat';
import type { DiagOptions } from './options';
import type { Facts, Unreachable } from './report';
import type { DiagSystem } from './system';
import { chooseDaemon, findProcesses, readWireless } from './wireless';

const WIRELESS_DAEMONS = ['wpa_supplicant', 'hostapd'] as const;

export async function gather(sys: DiagSystem, opts: DiagOptions): Promise<Facts> {
  const initP = readInit(sys, opts);
  const passthruP = readPassthru(sys, opts);
  const forwardP = readForward(sys, opts);
  const interfacesP = readInterfaces(sys, opts);
  const natP = readNat(sys, opts);
  const kernelP = readKernel(sys, opts);
  const running = findProcesses(sys, opts.proc, WIRELESS_DAEMONS);
  const [init, passthru, forward, ifaces] = await Promise.all([initP, passthruP, forwardP, interfacesP]);

  const daemon = chooseDaemon(
    sys,
    opts,
    init.info.flavor,
    running,
    passthru.ports.map((p) => p.path),
  );
  const present = ifaces.present !== null ? ifaces.present.includes(opts.wirelessInterface) : ifaces.links.some((l) => l.name === opts.wirelessInterface);
  const [wireless, nat, kernel] = await Promise.all([readWireless(sys, opts, daemon, present, running), natP, kernelP]);

  const measured: { name: string; pid: number }[] = [];
  if (init.info.pid !== null) measured.push({ name: 'wifibox-init', pid: init.info.pid });
  // The passthrough runs in wifibox-init's runtime as the package starts it: one process, counted once.
  if (passthru.info.pid !== null && passthru.info.pid !== init.info.pid) measured.push({ name: 'wifibox-passthru', pid: passthru.info.pid });
  if (forward.info.pid !== null) measured.push({ name: 'wifibox-forward', pid: forward.info.pid });
  for (const d of init.info.daemons) if (d.pid !== null) measured.push({ name: d.name, pid: d.pid });
  for (const p of running) if (p.name === daemon) measured.push(p);

  const dhcp = readDhcp(sys, opts, init);
  const memory = readMemory(sys, opts, measured);
  const log = readLog(sys, opts);

  const unreachable: Unreachable[] = [];
  const miss = (what: string, path: string, error: string | null) => {
    if (error !== null) unreachable.push({ what, path, error });
  };
  miss('init status endpoint', opts.initSocket, init.info.error);
  miss('passthru status endpoint', opts.passthruSocket, passthru.info.error);
  // The forwarding service is optional: not running without a forwarding.conf is how it should be.
  const forwardExpected = forward.info.error !== 'ENOENT' || (forward.info.configuredLines ?? 0) > 0;
  if (forwardExpected) miss('forward status endpoint', opts.forwardSocket, forward.info.error);
  miss(`${daemon} control socket`, wireless.controlSocket, wireless.error);
  miss('interfaces (ip)', opts.tools.ip, ifaces.error);
  miss('NAT rules (iptables-save)', opts.tools.iptablesSave, nat.error);
  miss('IPv4 forwarding switch', `${opts.proc}/sys/net/ipv4/ip_forward`, nat.forwardingError);
  miss('udhcpd config', dhcp.udhcpd.config, dhcp.udhcpd.configError);
  miss('udhcpd lease file', dhcp.udhcpd.leaseFile, dhcp.udhcpd.leaseFileError);
  miss('memory', `${opts.proc}/meminfo`, memory.error);
  miss('syslog file', log.file, log.error);
  miss('kernel log', kernel.source, kernel.error);

  return {
    unreachable,
    agents: { init: init.info, passthru: passthru.info, forward: forward.info },
    interfaces: { error: ifaces.error, links: ifaces.links, routes: ifaces.routes },
    wireless,
    dhcp,
    nat: { ...nat, forwarding: nat.forwarding ?? init.forwarding },
    passthrough: { reachable: passthru.info.reachable, error: passthru.info.error, ports: passthru.ports },
    forward: { reachable: forward.info.reachable, error: forward.info.error, lines: forward.lines },
    memory,
    log,
    kernel,
  };
}
