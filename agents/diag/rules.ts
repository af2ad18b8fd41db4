// The verdict: facts in, problems out, each with its likely cause and what to do. Pure, so
// every rule is tested on fixture facts. Root causes hide their consequences: with no wlan0,
// "wpa_supplicant is not running" and "no lease" would only repeat the same story.
// The DNS rules are in dns-rules.ts, the supervised daemons' in daemon-rules.ts, the forwarding
// agent's in forward-rules.ts.
import { daemonsFailed, restartLoops } from './daemon-rules';
import { dnsPropagation, wirelessDnsSilent } from './dns-rules';
import { forward } from './forward-rules';
import type { Health, Problem } from './report';
import { unreachable, isStation, problem, RESTART_HINT, type RuleContext } from './rule-context';

const MEMORY_LOW = { percent: 10, kib: 8 * 1024 };

const wlanLink = (c: RuleContext) => c.facts.interfaces.links.find((l) => l.name === c.opts.wirelessInterface);
const step = (c: RuleContext, id: string) => c.facts.agents.init.steps.find((s) => s.id === id);
const stepFailed = (c: RuleContext, id: string) => {
  const s = step(c, id);
  return s && (s.state === 'failed' || s.state === 'blocked') ? s : undefined;
};

function noWirelessInterface(c: RuleContext): Problem | null {
  const w = c.facts.wireless;
  if (w.present) return null;
  const wlan = c.opts.wirelessInterface;
  const kernel = c.facts.kernel.wirelessLines;
  const firmware = kernel.filter((l) => /firmware/i.test(l) && /fail|error|missing|not found|-2\b/i.test(l));
  const kernelHint = kernel.length ? ' The kernel lines below say what the driver reported.' : '';
  const evidence = [
    ...w.pci.map((d) => `PCI ${d.slot}: class ${d.class ?? '?'}, driver ${d.driver ?? 'none'}`),
    ...(firmware.length ? firmware : kernel).slice(-8).map((l) => `kernel: ${l}`),
  ];
  let cause: string;
  let fix: string;
  if (w.pci.length === 0) {
    cause = 'No wireless card is visible in the guest: the host did not pass the PCI device through to the virtual machine.';
    fix =
      "On the host, set passthru= in bhyve.conf to the card's slot/bus/function as `pciconf -lv` shows it (3/0/0 for pci0:3:0:0), then " + RESTART_HINT + '.';
  } else if (w.pci.every((d) => d.driver === null)) {
    cause = `The wireless card (PCI ${w.pci.map((d) => d.slot).join(', ')}) is passed through, but no driver took it: the guest's kernel has no driver for this card, or the driver failed to start.${kernelHint}`;
    fix = "Check the kernel lines for the driver's error; if the card is not supported by this guest image, a newer image (or another card) is needed.";
  } else if (firmware.length) {
    cause = `The driver ${w.pci
      .map((d) => d.driver)
      .filter(Boolean)
      .join(', ')} took the card but its firmware did not load, so no ${wlan} was made.`;
    fix = 'The firmware file the kernel lines name must be in the guest image (/lib/firmware); use an image that ships it, then ' + RESTART_HINT + '.';
  } else {
    cause = `The driver ${w.pci
      .map((d) => d.driver)
      .filter(Boolean)
      .join(', ')} took the card but made no ${wlan}: it failed while starting (often its firmware), or the interface has another name.${kernelHint}`;
    fix = "Look at the kernel lines for the driver's error; to retry, " + RESTART_HINT + '.';
  }
  return problem('no-wireless-interface', 'down', `${wlan} does not exist: no wireless network, and nothing to route through`, cause, fix, evidence);
}

function wirelessDaemon(c: RuleContext): Problem | null {
  const w = c.facts.wireless;
  if (!w.present || w.reachable) return null;
  const name = w.daemon;
  const conf = name === 'wpa_supplicant' ? `${c.opts.wpaSupplicantConfDir}/wpa_supplicant.conf` : `${c.opts.hostapdConfDir}/hostapd.conf`;
  const daemonLines = c.facts.log.lines.filter((l) => l.program === name).map((l) => `log: ${l.text}`);
  if (w.daemonPids.length === 0) {
    return problem(
      'wireless-daemon-down',
      'down',
      `${name} is not running: ${w.interface} is not connected to any wireless network`,
      `${name} stopped or never started; a mistake in ${conf} is the usual reason.`,
      `See ${name}'s lines in the log below, check ${conf}, then start it again with \`rc-service ${name} restart\` in the guest, or ${RESTART_HINT}.`,
      [`${w.controlSocket}: ${w.error}`, ...daemonLines.slice(-5)],
    );
  }
  return problem(
    'wireless-control-socket',
    'down',
    `${name} runs (PID ${w.daemonPids.join(', ')}) but its control socket ${w.controlSocket} ${w.error === 'ENOENT' ? 'is missing' : `does not answer (${w.error})`}`,
    w.error === 'ENOENT'
      ? `ctrl_interface in ${conf} points somewhere else, so neither this command nor the host's ${name === 'wpa_supplicant' ? 'wpa_cli' : 'hostapd_cli'} can reach it.`
      : `${name} is stuck, or the socket belongs to an instance that is gone.`,
    `Set ctrl_interface=${w.controlSocket.replace(/\/[^/]+$/, '')} in ${conf} and restart ${name} (\`rc-service ${name} restart\`).`,
    [`${w.controlSocket}: ${w.error}`],
  );
}

const STATE_CAUSES: Record<string, string> = {
  SCANNING: 'it is searching: no network from wpa_supplicant.conf is in range, or the SSID is misspelled.',
  DISCONNECTED: 'it was disconnected and has not found a network to join again.',
  INACTIVE: 'it has no enabled network to join: wpa_supplicant.conf has none, or all are disabled.',
  INTERFACE_DISABLED: 'the wireless interface is down or blocked (rfkill).',
  AUTHENTICATING: 'the access point does not complete authentication (a MAC filter, or too weak a signal).',
  ASSOCIATING: 'the access point does not accept the association (a security mode it does not offer, or too weak a signal).',
  ASSOCIATED: 'it is associated but the key exchange has not started.',
};

function association(c: RuleContext): Problem | null {
  const w = c.facts.wireless;
  if (!w.present || !w.reachable) return null;
  const conf = `${c.opts.wpaSupplicantConfDir}/wpa_supplicant.conf`;
  if (w.station) {
    const s = w.station;
    if (s.wpaState === 'COMPLETED') return null;
    const evidence = [
      `wpa_state=${s.wpaState ?? '?'}`,
      ...s.tempDisabledNetworks.map((n) => `network ${n.id} "${n.ssid}" is temporarily disabled after failed attempts`),
      ...c.facts.log.authLines.map((l) => `log: ${l}`),
    ];
    const handshake = s.wpaState === '4WAY_HANDSHAKE' || s.wpaState === 'GROUP_HANDSHAKE';
    if (handshake || s.tempDisabledNetworks.length > 0 || c.facts.log.authLines.length > 0) {
      const ssid = s.ssid ?? s.tempDisabledNetworks[0]?.ssid;
      return problem(
        'wireless-auth-failed',
        'down',
        `authentication with ${ssid ? `"${ssid}"` : 'the wireless network'} fails (4-way handshake)`,
        'The network rejects the key: the password (psk) in wpa_supplicant.conf is wrong for this network, or the network needs a security mode the config does not allow (key_mgmt).',
        `Correct psk="..." (or key_mgmt) for this network in ${conf} (the host's copy is in Wifibox's wpa_supplicant folder), then restart wpa_supplicant (\`rc-service wpa_supplicant restart\`).`,
        evidence,
      );
    }
    const cause = STATE_CAUSES[s.wpaState ?? ''] ?? `wpa_supplicant reports ${s.wpaState ?? 'no state'}.`;
    return problem(
      'wireless-not-associated',
      'down',
      `${w.interface} is not connected to a wireless network (wpa_state ${s.wpaState ?? 'unknown'})`,
      `wpa_supplicant is not associated: ${cause}`,
      `Check the ssid= lines in ${conf} against the networks in range (on the host: \`wpa_cli scan\`, then \`wpa_cli scan_results\`), and the signal.`,
      evidence,
    );
  }
  if (w.accessPoint && w.accessPoint.state !== 'ENABLED') {
    return problem(
      'access-point-disabled',
      'down',
      `hostapd's access point is not enabled (state ${w.accessPoint.state ?? 'unknown'})`,
      'hostapd could not start the access point: the card does not support the configured channel, mode or country, or the interface is blocked.',
      `See hostapd's lines in the log below and check channel=, hw_mode= and country_code= in ${c.opts.hostapdConfDir}/hostapd.conf.`,
      [`state=${w.accessPoint.state ?? '?'}`],
    );
  }
  return null;
}

function associated(c: RuleContext): boolean {
  const w = c.facts.wireless;
  return w.present && w.reachable && (w.station ? w.station.wpaState === 'COMPLETED' : w.accessPoint?.state === 'ENABLED');
}

const hasIPv4 = (c: RuleContext): boolean | null => {
  const link = wlanLink(c);
  if (!link) return c.facts.interfaces.error ? null : false;
  return link.addresses.some((a) => a.family === 4);
};

function wirelessLease(c: RuleContext): Problem | null {
  const init = c.facts.agents.init;
  if (!isStation(c) || !associated(c) || !init.reachable) return null;
  if (c.facts.dhcp.wireless?.address || hasIPv4(c) !== false) return null;
  const dhcpcd = init.daemons.find((d) => d.name === 'dhcpcd');
  const wlan = c.opts.wirelessInterface;
  const evidence = [
    `wifibox-init: no lease for ${wlan}`,
    `${wlan}: no IPv4 address`,
    ...(dhcpcd ? [`dhcpcd: ${dhcpcd.state}${dhcpcd.lastExit ? `, last ${dhcpcd.lastExit}` : ''}`] : []),
  ];
  const cause = !dhcpcd
    ? `dhcpcd was never started for ${wlan} (see the steps of wifibox-init).`
    : dhcpcd.state !== 'running'
      ? `dhcpcd is not running (${dhcpcd.state}).`
      : "dhcpcd has no lease and is asking the wireless network's DHCP server for one (the last lease ended, or its address was removed). If this lasts more than a few seconds, the server does not answer: a captive portal, a MAC filter, or a network that gives no addresses.";
  return problem(
    'no-wireless-lease',
    'down',
    `${wlan} has no IPv4 address: no DHCP lease from the wireless network`,
    cause,
    `Check that other devices get an address on this network; see dhcpcd's lines in the log below; \`dhcpcd -n ${wlan}\` asks again.`,
    evidence,
  );
}

function wirelessAddress(c: RuleContext): Problem | null {
  const link = wlanLink(c);
  if (!link || !associated(c)) return null;
  if (link.addresses.some((a) => a.family === 4)) return null;
  const lease = c.facts.dhcp.wireless;
  if (isStation(c) && c.facts.agents.init.reachable && !lease?.address) return null; // no-wireless-lease says it
  const wlan = c.opts.wirelessInterface;
  if (isStation(c)) {
    return problem(
      'no-wireless-address',
      'down',
      `${wlan} has no IPv4 address${lease?.address ? `: the lease's ${lease.address} was removed` : ''}`,
      lease?.address
        ? `dhcpcd obtained ${lease.address} but it is no longer on ${wlan}: something removed it (by hand, or another network tool).`
        : 'There is no DHCP lease for it (wifibox-init, which would know, is not reachable).',
      `Ask for the lease again: \`dhcpcd -n ${wlan}\` in the guest, or ${RESTART_HINT}.`,
      [`${wlan}: ${link.state}, no IPv4 address`, ...(lease?.address ? [`lease: ${lease.address} from ${lease.server ?? '?'}`] : [])],
    );
  }
  return problem(
    'no-wireless-address',
    'down',
    `${wlan} has no IPv4 address: wireless clients cannot reach the guest`,
    `The static address for ${wlan} in interfaces.conf was not set, or was removed since.`,
    `Check the ${wlan} stanza of ${c.opts.confDir}/interfaces.conf and the steps of wifibox-init; ${RESTART_HINT}.`,
    [`${wlan}: ${link.state}, no IPv4 address`],
  );
}

function lanAddress(c: RuleContext): Problem | null {
  if (c.facts.interfaces.error && c.facts.interfaces.links.length === 0) return null;
  const lan = c.opts.lanInterface;
  const link = c.facts.interfaces.links.find((l) => l.name === lan);
  if (link && link.up && link.addresses.some((a) => a.family === 4)) return null;
  const failed = stepFailed(c, `iface:${lan}`);
  const what = !link ? 'does not exist' : !link.up ? 'is down' : 'has no IPv4 address';
  return problem(
    'lan-no-address',
    'down',
    `${lan} ${what}: the host cannot reach the guest`,
    failed
      ? `wifibox-init could not configure it: ${failed.why ?? failed.state}`
      : `${lan} was not configured from interfaces.conf, or its address was removed since.`,
    `Check the ${lan} stanza of ${c.opts.confDir}/interfaces.conf; ${RESTART_HINT}.`,
    [link ? `${lan}: ${link.state}, addresses: ${link.addresses.map((a) => a.address).join(' ') || 'none'}` : `${lan}: not present`],
  );
}

/** Without a default route the guest forwards nothing anywhere, NAT or not. */
function defaultRoute(c: RuleContext): Problem | null {
  const i = c.facts.interfaces;
  if (i.error !== null || i.routes.some((r) => r.dst === 'default')) return null;
  const station = isStation(c);
  return problem(
    'no-default-route',
    'down',
    "no default route: the guest does not know where to send the host's traffic",
    station
      ? `The wireless network's DHCP gave no router, or dhcpcd did not install it (${c.opts.wirelessInterface}).`
      : `interfaces.conf has no \`gateway\` for ${c.opts.lanInterface}, or the route was removed.`,
    station
      ? `Renew the lease with \`dhcpcd -n ${c.opts.wirelessInterface}\`; if it stays, ask the network's admin about its DHCP router option.`
      : `Add \`gateway <the host's address>\` to the ${c.opts.lanInterface} stanza of ${c.opts.confDir}/interfaces.conf, then ${RESTART_HINT}.`,
    i.routes.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`),
  );
}

function forwarding(c: RuleContext): Problem | null {
  if (c.facts.nat.forwarding !== false) return null;
  // The firewall's failure is the reason; the forwarding step only says it was blocked.
  const blocked = stepFailed(c, 'firewall') ?? stepFailed(c, 'forwarding');
  return problem(
    'forwarding-off',
    'down',
    "IPv4 forwarding is off: the guest does not route the host's traffic",
    blocked
      ? `wifibox-init kept it off because the firewall rules did not load: ${blocked.why ?? blocked.state}`
      : 'net.ipv4.ip_forward is 0: sysctl.conf does not set it to 1, or something turned it off after start.',
    blocked
      ? `Fix the rules file (${c.opts.confDir}/iptables) at the line named, then ${RESTART_HINT}.`
      : `Make sure ${c.opts.confDir}/sysctl.conf has net.ipv4.ip_forward = 1, then ${RESTART_HINT}. Until then, \`sysctl -w net.ipv4.ip_forward=1\` in the guest turns it on.`,
    ['/proc/sys/net/ipv4/ip_forward = 0', ...(blocked ? [`step ${blocked.id}: ${blocked.state}`] : [])],
  );
}

function nat(c: RuleContext): Problem | null {
  const n = c.facts.nat;
  if (n.error !== null) return null;
  const out = isStation(c) ? c.opts.wirelessInterface : c.opts.lanInterface;
  // A rule that translates out of the other interface (or a typo in -o) does not count.
  const outOf = (r: { rule: string }) => /(?:^|\s)-o\s+(\S+)/.exec(r.rule)?.[1] ?? null;
  const translating = n.rules.filter((r) => r.chain === 'POSTROUTING' && (r.target === 'MASQUERADE' || r.target === 'SNAT'));
  if (n.masquerade && translating.some((r) => outOf(r) === null || outOf(r) === out)) return null;
  const failed = stepFailed(c, 'firewall');
  if (translating.length) {
    return problem(
      'nat-missing',
      'down',
      `no MASQUERADE rule out of ${out}: the host's traffic leaves ${out} with an address the network does not know`,
      `The nat table translates only traffic that leaves ${translating.map((r) => outOf(r) ?? '?').join(', ')}, not ${out}, the side the host's traffic goes out of in this flavor.`,
      `Change the rule in ${c.opts.confDir}/iptables to \`-A POSTROUTING -o ${out} -j MASQUERADE\` and load it again with \`iptables-restore < ${c.opts.confDir}/iptables\`, or ${RESTART_HINT}.`,
      translating.map((r) => `${r.chain}: ${r.rule}`),
    );
  }
  return problem(
    'nat-missing',
    'down',
    "no MASQUERADE rule in the nat table: the host's traffic leaves with an address the network does not know",
    failed
      ? `wifibox-init could not load the firewall rules: ${failed.why ?? failed.state}`
      : `The rules file has no MASQUERADE rule, or the nat table was flushed after it was loaded (${n.rules.length} rule(s) in the nat table).`,
    `${c.opts.confDir}/iptables must have \`-A POSTROUTING -o ${out} -j MASQUERADE\` in its *nat table; load it again with \`iptables-restore < ${c.opts.confDir}/iptables\`, or ${RESTART_HINT}.`,
    n.rules.map((r) => `${r.chain}: ${r.rule}`),
  );
}

function initAgent(c: RuleContext): Problem[] {
  const i = c.facts.agents.init;
  if (!i.reachable) {
    return [
      unreachable(
        'init-unreachable',
        'init',
        i,
        'wifibox-init',
        `See wifibox-init's lines in the log below; start its service again, or ${RESTART_HINT}. Until then nothing follows the wireless DNS or restarts dhcpcd and udhcpd.`,
      ),
    ];
  }
  const out: Problem[] = [];
  if (i.configProblems.length) {
    out.push(
      problem(
        'init-config',
        'degraded',
        `the guest's configuration has ${i.configProblems.length} problem(s)`,
        'A file in the configuration folder has a mistake; what does not depend on it came up anyway.',
        "Fix the file at the line named (the host's copy of the appliance folder), then " + RESTART_HINT + '.',
        i.configProblems,
      ),
    );
  }
  // Steps whose failure another problem already explains (forwarding, NAT) are not said twice.
  const explained = new Set<string>();
  if (c.facts.nat.forwarding === false) explained.add('forwarding').add('firewall');
  if (c.facts.nat.error === null && !c.facts.nat.masquerade) explained.add('firewall');
  if (!c.facts.wireless.present) explained.add(`wait:${c.opts.wirelessInterface}`).add(`iface:${c.opts.wirelessInterface}`).add('dhcpcd');
  for (const d of i.daemons) if (d.state === 'failed') explained.add(d.name); // daemon-failed says it
  const failed = i.steps.filter((s) => (s.state === 'failed' || s.state === 'blocked') && !explained.has(s.id));
  if (failed.length) {
    out.push(
      problem(
        'init-step-failed',
        'degraded',
        `wifibox-init could not do: ${failed.map((s) => s.id).join(', ')}`,
        failed.map((s) => `${s.id}: ${s.why ?? s.state}`).join('; '),
        'Fix what each step names (a file:line, or a missing program), then ' + RESTART_HINT + '.',
        failed.map((s) => `${s.id}: ${s.state}${s.why ? ` (${s.why})` : ''}`),
      ),
    );
  }
  return out;
}

function passthru(c: RuleContext): Problem[] {
  const a = c.facts.agents.passthru;
  const client = c.facts.wireless.daemon === 'hostapd' ? 'hostapd_cli' : 'wpa_cli';
  if (!a.reachable) {
    return [
      unreachable(
        'passthru-unreachable',
        'passthru',
        a,
        'wifibox-passthru',
        `See wifibox-passthru's lines in the log below; start its service again, or ${RESTART_HINT}.`,
        `The host's ${client} cannot reach ${c.facts.wireless.daemon}; the network itself is not affected.`,
      ),
    ];
  }
  const out: Problem[] = [];
  const ports = c.facts.passthrough.ports;
  const notListening = ports.filter((p) => !p.listening);
  if (a.state === 'waiting-for-address' || notListening.length) {
    const why = a.waiting ?? notListening.map((p) => `${p.port}: ${p.listenError ?? 'not listening'}`).join('; ');
    out.push(
      problem(
        'passthru-not-listening',
        'degraded',
        `passthrough ${notListening.length ? `port(s) ${notListening.map((p) => p.port).join(', ')} not listening` : 'not listening yet'}: the host's ${client} cannot connect`,
        why,
        `Check network= in ${c.opts.confDir}/uds_passthru.conf against ${c.opts.lanInterface}'s address; another program may hold the port.`,
        [`state: ${a.state}`, ...notListening.map((p) => `${p.port} ${p.path}: ${p.listenError ?? 'not listening'}`)],
      ),
    );
  }
  const refusing = ports.filter((p) => (p.counters.refusedPeer ?? 0) > 0 && (p.counters.refusedPeer ?? 0) >= (p.counters.connections ?? 0));
  if (refusing.length) {
    out.push(
      problem(
        'passthru-refusing-host',
        'degraded',
        `passthrough refuses connections (${refusing.map((p) => `port ${p.port}: ${p.counters.refusedPeer} refused, ${p.counters.connections ?? 0} served`).join('; ')})`,
        `Connections come from an address outside network=${a.network ?? '?'}: the host's address on its side of the link is not in that network.`,
        `Make network= in ${c.opts.confDir}/uds_passthru.conf match ${c.opts.lanInterface}'s network (interfaces.conf), and the host's wifibox0 address belong to it.`,
        refusing.map((p) => `${p.port}: refusedPeer ${p.counters.refusedPeer}, connections ${p.counters.connections ?? 0}`),
      ),
    );
  }
  return out;
}

function memory(c: RuleContext): Problem | null {
  const m = c.facts.memory;
  if (m.availableKiB === null || m.totalKiB === null) return null;
  const pct = m.availablePercent ?? 100;
  if (m.availableKiB >= MEMORY_LOW.kib && pct >= MEMORY_LOW.percent) return null;
  const biggest = [...m.processes].filter((p) => p.rssKiB !== null).sort((a, b) => b.rssKiB! - a.rssKiB!);
  return problem(
    'memory-low',
    'degraded',
    `memory nearly exhausted: ${Math.round(m.availableKiB / 1024)} MiB available of ${Math.round(m.totalKiB / 1024)} MiB (${pct}%)`,
    'The guest is close to running out of memory; the kernel will soon kill a process (often the largest agent or daemon).',
    "Give the guest more memory (memory= in the host's bhyve.conf; 128M is the default), then " + RESTART_HINT + '.',
    biggest.map((p) => `${p.name} (PID ${p.pid}): ${p.rssKiB} KiB resident`),
  );
}

/**
 * A source that could not be read hides the problems it would show: never "OK" on a check that
 * did not run. (Busybox's ip has no -j, for instance: the package depends on iproute2.)
 */
function uncheckable(c: RuleContext): Problem | null {
  const f = c.facts;
  const blind = [
    f.interfaces.error !== null ? `interfaces and addresses (${f.interfaces.error})` : null,
    f.nat.error !== null ? `the NAT rules (${f.nat.error})` : null,
    f.nat.forwardingError !== null ? `IP forwarding (${f.nat.forwardingError})` : null,
  ].filter((x): x is string => x !== null);
  if (!blind.length) return null;
  return problem(
    'check-failed',
    'degraded',
    `could not check ${blind.join('; ')}`,
    "wifibox-diag could not read these, so problems there would go unseen (it needs iproute2's ip, iptables-save and /proc).",
    'Run wifibox-diag as root in the guest, with the iproute2 and iptables packages installed.',
    blind,
  );
}

const found = (...ps: (Problem | Problem[] | null)[]): Problem[] => ps.flat().filter((p): p is Problem => p !== null);

export function diagnose(c: RuleContext): Problem[] {
  const root = noWirelessInterface(c);
  // A dhcpcd that could not be started at all is why there is no lease: daemon-failed says it.
  const dhcpcdFailed = c.facts.agents.init.daemons.some((d) => d.name === 'dhcpcd' && d.state === 'failed');
  const wireless = root ? [root] : found(wirelessDaemon(c), association(c), dhcpcdFailed ? null : wirelessLease(c), wirelessAddress(c));
  // The default route hangs off the wireless lease (station): a missing lease already says it.
  const leaseIssue = dhcpcdFailed || wireless.some((p) => p.id === 'no-wireless-lease' || p.id === 'no-wireless-address');
  if (!root && !leaseIssue) wireless.push(...found(defaultRoute(c)));
  // The relay's servers cannot answer a guest that is off the wireless network, or has no route there.
  const dnsSilent = wireless.length || dhcpcdFailed ? null : wirelessDnsSilent(c);
  const problems = [
    ...wireless,
    ...found(
      daemonsFailed(c),
      lanAddress(c),
      forwarding(c),
      nat(c),
      dnsPropagation(c),
      dnsSilent,
      initAgent(c),
      restartLoops(c),
      passthru(c),
      forward(c),
      memory(c),
      uncheckable(c),
    ),
  ];
  // Down before degraded; otherwise the order above (root causes first).
  return problems.filter((p) => p.severity === 'down').concat(problems.filter((p) => p.severity === 'degraded'));
}

export function healthOf(problems: Problem[]): { health: Health; exitCode: 0 | 1 | 2 } {
  if (problems.some((p) => p.severity === 'down')) return { health: 'down', exitCode: 2 };
  if (problems.length) return { health: 'degraded', exitCode: 1 };
  return { health: 'ok', exitCode: 0 };
}
