// What the lab must never change on this machine: its own sysctls, routes, firewall, /etc and
// hostname. Taken before and after a suite and compared.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { run } from '../../lab/proc';

const SYSCTLS = [
  'kernel/panic',
  'kernel/hostname',
  'fs/protected_hardlinks',
  'fs/protected_symlinks',
  'net/ipv4/ip_forward',
  'net/ipv4/tcp_syncookies',
  'net/ipv4/conf/all/rp_filter',
  'net/ipv4/conf/default/rp_filter',
  'net/ipv4/ping_group_range',
  'net/ipv4/conf/all/accept_redirects',
  'net/ipv4/conf/all/secure_redirects',
  'net/ipv4/conf/all/accept_source_route',
  'net/ipv4/tcp_rfc1337',
  'net/netfilter/nf_conntrack_max',
  'net/nf_conntrack_max',
  'net/netfilter/nf_conntrack_tcp_timeout_established',
  'net/ipv6/conf/all/use_tempaddr',
  'net/ipv6/conf/default/use_tempaddr',
  'net/ipv6/conf/all/forwarding',
];

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
const read = (p: string) => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '(absent)';
  }
};

export async function machineSnapshot(): Promise<Record<string, string>> {
  const snap: Record<string, string> = {};
  for (const k of SYSCTLS) snap[`sysctl ${k}`] = read(`/proc/sys/${k}`);
  snap['routes'] = (await run(['ip', 'route', 'show', 'table', 'all'])).stdout;
  snap['routes6'] = (await run(['ip', '-6', 'route', 'show', 'table', 'all'])).stdout;
  snap['links'] = (await run(['ip', '-o', 'link', 'show'])).stdout
    .replace(/\\s+link\/.*$/gm, '')
    .split('\n')
    .map((l) => l.split(':')[1]?.trim())
    .join(',');
  snap['addresses'] = (await run(['ip', '-o', 'addr', 'show'])).stdout.replace(/valid_lft.*$/gm, '');
  snap['iptables'] = hash((await run(['iptables-save'])).stdout.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, ''));
  snap['ip6tables'] = hash((await run(['ip6tables-save'])).stdout.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, ''));
  snap['/etc/resolv.conf'] = hash(read('/etc/resolv.conf'));
  snap['/etc/hostname'] = read('/etc/hostname');
  return snap;
}
