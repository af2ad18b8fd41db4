// wifibox-dhcpcd-hook: dhcpcd runs this instead of its hook scripts (dhcpcd -c). It only
// reports what dhcpcd learnt to the orchestrator; the orchestrator decides what to do with it.
// Kept tiny: it runs for every dhcpcd event, so it loads no logger and no config.
import { connect } from 'node:net';

// dhcpcd passes it with -e (see the orchestrator); the default is the orchestrator's own.
const SOCKET = process.env.WIFIBOX_HOOK_SOCKET ?? process.argv[2] ?? '/run/wifibox-init/hook.sock';
// dhcpcd-run-hooks(8) names: the reason, the interface, the new_*/old_* lease values, and what
// router advertisements said: dhcpcd 9 passes those as nd1_*, nd2_*… (nd1_rdnss1_servers), unprefixed.
const KEEP = /^(reason|interface|protocol|if_up|if_down|if_configured|(new|old)_[a-z0-9_]+|nd[0-9]+_[a-z0-9_]+)$/;

const env: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (KEEP.test(k) && v !== undefined) env[k] = v;

const s = connect(SOCKET);
const timer = setTimeout(() => {
  process.stderr.write(`wifibox-dhcpcd-hook: no answer from ${SOCKET}\n`);
  process.exit(0); // never hold dhcpcd up
}, 2000);
s.on('connect', () => s.end(JSON.stringify(env)));
s.on('data', () => undefined);
s.on('close', () => {
  clearTimeout(timer);
  process.exit(0);
});
s.on('error', (err) => {
  clearTimeout(timer);
  process.stderr.write(`wifibox-dhcpcd-hook: ${SOCKET}: ${err.message}\n`);
  process.exit(0);
});
