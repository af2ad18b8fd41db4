// The daemons wifibox-init supervises (udhcpd, dhcpcd, radvd): one that could not be started at
// all, and one that keeps dying.
import type { DaemonInfo, Problem, Severity } from './report';
import { problem, RESTART_HINT, type RuleContext } from './rule-context';

/** A daemon restarted this often, and again within a minute (the supervisor's "healthy" time), is in a loop. */
export const RESTART_LOOP = { restarts: 3, withinMs: 60_000 };

const DAEMON_CAUSES: Record<string, string> = {
  udhcpd: 'udhcpd rejects its config, or another DHCP server already holds port 67.',
  dhcpcd: 'dhcpcd cannot run on the wireless interface (it vanished, or its config is wrong).',
  radvd: 'radvd rejects its config, or IPv6 forwarding is off.',
};

/** A daemon's last words (its output file), as evidence. */
const said = (d: DaemonInfo): string[] => d.lastOutput.map((l) => `${d.name} said: ${l}`);

export function restartLoops(c: RuleContext): Problem[] {
  const now = c.now.getTime();
  return c.facts.agents.init.daemons.flatMap((d) => {
    const since = d.since ? Date.parse(d.since) : NaN;
    const recent = d.restarts >= RESTART_LOOP.restarts && Number.isFinite(since) && now - since < RESTART_LOOP.withinMs;
    // failed is daemon-failed's; waiting is on purpose (dhcpcd while wlan0 is gone, which no-wireless-interface says).
    if (d.state === 'failed' || d.state === 'waiting' || (d.state !== 'backoff' && !recent)) return [];
    return [
      problem(
        'daemon-restarting',
        'degraded',
        `${d.name} keeps dying: restarted ${d.restarts} time(s)${d.state === 'backoff' ? ', waiting to start again' : ''}`,
        `${DAEMON_CAUSES[d.name] ?? `${d.name} exits soon after it starts.`} Last exit: ${d.lastExit ?? 'unknown'}.`,
        `wifibox-init logs the daemon's last output with each restart: see its lines in the log below.`,
        [`${d.name}: ${d.state}, restarts ${d.restarts}, last exit ${d.lastExit ?? '?'}, since ${d.since ?? '?'}`, ...said(d)],
      ),
    ];
  });
}

/** Where each program comes from: the Alpine package, and wifibox-init's option for its path. */
const PROGRAMS: Record<string, { pkg: string; option: string }> = {
  udhcpd: { pkg: 'busybox-extras', option: '--udhcpd' }, // a busybox applet Alpine builds into busybox-extras
  dhcpcd: { pkg: 'dhcpcd', option: '--dhcpcd' },
  radvd: { pkg: 'radvd', option: '--radvd' },
};

/** What is lost while a daemon cannot run: the station's own DHCP, either side, leaves the host without a way out. */
function loss(d: DaemonInfo, c: RuleContext): { severity: Severity; what: string } {
  const station = c.facts.agents.init.flavor === 'station';
  const { lanInterface: lan, wirelessInterface: wlan } = c.opts;
  if (d.name === 'udhcpd')
    return station
      ? { severity: 'down', what: `the host gets no address on ${lan}` }
      : { severity: 'degraded', what: `wireless clients get no address on ${wlan}` };
  if (d.name === 'dhcpcd') return { severity: station ? 'down' : 'degraded', what: `the guest gets no lease from the wireless network on ${wlan}` };
  if (d.name === 'radvd') return { severity: 'degraded', what: 'the host gets no IPv6 router advertisements (nor the DNS in them)' };
  return { severity: 'degraded', what: 'it does not run' };
}

/** A program that could not be started at all (not installed): wifibox-init does not retry it. */
export function daemonsFailed(c: RuleContext): Problem[] {
  return c.facts.agents.init.daemons
    .filter((d) => d.state === 'failed')
    .map((d) => {
      const { severity, what } = loss(d, c);
      const code = /\bE[A-Z]+\b/.exec(d.lastExit ?? '')?.[0];
      const missing = code === 'ENOENT';
      const why = missing
        ? 'it is not installed in the guest, or the path wifibox-init was given for it does not exist'
        : code === 'EACCES'
          ? 'the file is not executable'
          : 'the program cannot be run';
      const p = PROGRAMS[d.name];
      const install = p ? `Add it to the guest image (\`apk add ${p.pkg}\`)` : `Install the package that provides ${d.name}`;
      const path = p ? `, or, if it is installed elsewhere, give its path with ${p.option} in WIFIBOX_INIT_OPTS (/etc/conf.d/wifibox-init)` : '';
      return problem(
        'daemon-failed',
        severity,
        `${d.name} could not be started (${missing ? 'not installed' : 'cannot run'}): ${what}`,
        `wifibox-init could not run ${d.name} (${d.lastExit ?? 'could not be started'}): ${why}. It does not try again.`,
        `${install}${path}; then ${RESTART_HINT}.`,
        [`${d.name}: failed, ${d.lastExit ?? 'no reason given'}`, ...said(d)],
      );
    });
}
