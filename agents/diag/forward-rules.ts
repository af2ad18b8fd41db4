// wifibox-forward (the optional `forwarding` service): not running although forwarding.conf has
// lines, lines it refused, lines that cannot listen. Each is degraded: the host's own traffic
// does not depend on it.
import type { Problem } from './report';
import { unreachable, problem, RESTART_HINT, type RuleContext } from './rule-context';

const RELOAD = '`rc-service forwarding reload` (or restart it)';
const SUPPORTED =
  'UDP4-RECV:PORT, UDP-LISTEN:PORT or TCP-LISTEN:PORT (with bind=, range=, fork, reuseaddr, broadcast), then UDP4:ADDRESS:PORT or TCP4:ADDRESS:PORT';

/** Why a line cannot listen, from its error, and what to do. */
function listenCause(error: string | null): { cause: string; fix: string } {
  switch (error) {
    case 'EADDRINUSE':
      return {
        cause: 'another program holds the port: the old socat-based forwarding, or another line or service on the same port.',
        fix: 'Stop the other program (`ps | grep socat`), or give the line another port; lines on one UDP port need reuseaddr on each.',
      };
    case 'EADDRNOTAVAIL':
      return {
        cause: "bind= names an address the guest does not have (yet): wlan0's address comes from the wireless network's DHCP and may differ.",
        fix: "The line listens by itself once the address is there (it is tried every second); otherwise drop bind= or name the guest's address.",
      };
    case 'EACCES':
      return {
        cause: 'a port under 1024 needs root, and the service does not run as root.',
        fix: "Run the service as root (the package's does), or use a port from 1024.",
      };
    default:
      return { cause: `the socket could not be opened (${error ?? 'not yet'}).`, fix: `See wifibox-forward's lines in the log below; then ${RELOAD}.` };
  }
}

export function forward(c: RuleContext): Problem[] {
  const a = c.facts.agents.forward;
  const lines = a.configuredLines ?? 0;
  if (!a.reachable) {
    // Not set up (no forwarding.conf, or only comments) and not running: as it should be.
    if (a.error === 'ENOENT' && lines === 0) return [];
    return [
      unreachable(
        'forward-unreachable',
        'forwarding',
        a,
        'wifibox-forward',
        `Start the service: \`rc-service forwarding start\` (\`rc-update add forwarding\` to start it at boot); see wifibox-forward's lines in the log below, or ${RESTART_HINT}.`,
        `${a.config} has ${lines} line(s), which nothing forwards now.`,
        [`${a.config}: ${a.configuredLines === null ? 'not readable' : `${lines} line(s)`}`],
      ),
    ];
  }
  const out: Problem[] = [];
  const refused = a.configProblems.filter((p) => /:\d+: error: /.test(p));
  if (refused.length) {
    out.push(
      problem(
        'forward-config',
        'degraded',
        `wifibox-forward does not serve ${refused.length} line(s) of ${a.config}`,
        'Those lines ask for what wifibox-forward does not do (an address type such as EXEC, SYSTEM or OPENSSL, an option it does not know) or have a mistake; the other lines are served.',
        `Fix or remove each line named: supported are ${SUPPORTED}. Then ${RELOAD}.`,
        refused,
      ),
    );
  }
  const silent = c.facts.forward.lines.filter((l) => !l.listening);
  if (silent.length) {
    const first = listenCause(silent[0]!.listenError);
    out.push(
      problem(
        'forward-not-listening',
        'degraded',
        `forwarding line(s) ${silent.map((l) => l.line).join(', ')} not listening: nothing reaches their target`,
        `${silent.length > 1 ? `Line ${silent[0]!.line}: ` : ''}${first.cause}`,
        first.fix,
        silent.map((l) => `line ${l.line} ${l.listen}: ${l.listenError ?? 'not listening'}`),
      ),
    );
  }
  return out;
}
