// The firewall as the old iptables/ip6tables services handled it: the user's rules file fed to
// iptables-restore unchanged; on stop, every table it named back to ACCEPT, flushed, no user chains.
import type { InitSystem } from './system';

interface FirewallTools {
  restore: string;
  iptables: string;
}

const TABLE_CHAINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** Loads the rules; throws with the user's file and line when iptables-restore rejects them. */
export async function loadFirewall(sys: InitSystem, tools: FirewallTools, file: string, text: string): Promise<void> {
  const r = await sys.run([tools.restore], text);
  if (r.code === 0) return;
  // iptables-restore names the line it choked on (legacy: the rule; nft: the table's COMMIT):
  // point at the user's file instead of stdin, and keep its own words.
  const m = /line (\d+) failed|Error occurred at line: (\d+)/.exec(r.stderr);
  const said = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^Try `|^Error occurred at line/.test(l))
    .join('; ');
  throw new Error(m ? `${file}:${m[1] ?? m[2]}: ${tools.restore} rejected the rules: ${said}` : `${tools.restore} failed (exit ${r.code}): ${said}`);
}

/** Every table the rules file names back to ACCEPT, flushed, its user chains removed. */
export async function flushFirewall(sys: InitSystem, tools: FirewallTools, text: string): Promise<void> {
  const tables = new Set([...text.matchAll(/^\*(\w+)/gm)].map((m) => m[1]!));
  for (const table of tables) {
    for (const chain of TABLE_CHAINS[table] ?? []) await sys.run([tools.iptables, '-w', '5', '-t', table, '-P', chain, 'ACCEPT']);
    await sys.run([tools.iptables, '-w', '5', '-t', table, '-F']);
    await sys.run([tools.iptables, '-w', '5', '-t', table, '-X']);
  }
}
