// NAT and forwarding: the nat table with packet/byte counters (`iptables-save -c -t nat`), and
// the kernel's IPv4 forwarding switch.
import { join } from 'node:path';
import type { DiagOptions } from './options';
import type { NatInfo, NatRule } from './report';
import type { DiagSystem } from './system';
import { errText } from './util';

/** `[packets:bytes] -A CHAIN rule...` lines of iptables-save -c. */
export function parseIptablesSave(text: string): NatRule[] {
  const rules: NatRule[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[(\d+):(\d+)\]\s+-A\s+(\S+)\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const rule = m[4]!;
    rules.push({
      chain: m[3]!,
      rule,
      target: /(?:^|\s)-j\s+(\S+)/.exec(rule)?.[1] ?? null,
      packets: Number(m[1]),
      bytes: Number(m[2]),
    });
  }
  return rules;
}

const isNatOut = (r: NatRule) => r.chain === 'POSTROUTING' && (r.target === 'MASQUERADE' || r.target === 'SNAT');

export async function readNat(sys: DiagSystem, opts: DiagOptions): Promise<NatInfo> {
  let forwarding: boolean | null = null;
  let forwardingError: string | null = null;
  const fwdPath = join(opts.proc, 'sys/net/ipv4/ip_forward');
  try {
    forwarding = sys.readText(fwdPath).trim() === '1';
  } catch (err) {
    forwardingError = `${fwdPath}: ${errText(err)}`;
  }
  const argv = [opts.tools.iptablesSave, '-c', '-t', 'nat'];
  const r = await sys.run(argv, opts.timeoutMs * 3);
  // No nat table at all (nothing ever loaded one) is a fact, not a failure to read.
  if (r.code !== 0 && /table .*does not exist|does not exist.*table|no chain\/target\/match/i.test(r.stderr)) {
    return { forwarding, forwardingError, error: null, rules: [], masquerade: false };
  }
  if (r.code !== 0) {
    const why = r.code === -1 ? `cannot run it (${r.stderr.trim() || 'not found'})` : r.stderr.trim().split('\n')[0] || `exit ${r.code}`;
    return { forwarding, forwardingError, error: `${argv.join(' ')}: ${why}`, rules: [], masquerade: false };
  }
  const rules = parseIptablesSave(r.stdout);
  return { forwarding, forwardingError, error: null, rules, masquerade: rules.some(isNatOut) };
}
