// The dhcpcd hook (native/dhcpcd_hook.c, built into native/build/): run as dhcpcd runs it, with
// dhcpcd's variables in its environment, against a socket of the test's own.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseHookReport } from '../../agents/init/endpoints';
import { applyHookReport, emptyLeaseState } from '../../agents/init/lease';
import { REPO } from '../helpers/paths';

const HOOK = join(REPO, 'native', 'build', 'wifibox-dhcpcd-hook');
let dir: string;
let server: Server | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wbx-hook-'));
});
afterEach(() => {
  server?.close();
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

function runHook(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(HOOK, [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr, ms: Date.now() - started }));
  });
}

/** A server that records each report and answers (or, with answer null, never does). */
function listen(path: string, answer: string | null): Promise<string[]> {
  const got: string[] = [];
  server = createServer({ allowHalfOpen: true }, (s) => {
    let data = '';
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('end', () => {
      got.push(data);
      if (answer !== null) s.end(answer);
    });
  });
  return new Promise((resolve) => server!.listen(path, () => resolve(got)));
}

/** A lease as dhcpcd puts it in the hook's environment: every variable the hook passes on. */
const LEASE_VARS = {
  reason: 'BOUND',
  interface: 'wlan0',
  protocol: 'dhcp',
  if_up: 'true',
  new_ip_address: '192.168.77.2',
  new_domain_name_servers: '192.168.77.53 192.168.77.54',
  new_domain_name: 'wireless.lab',
  old_ip_address: '',
  nd1_rdnss1_servers: '2001:db8::53',
  nd12_dnssl1_search: 'lab',
};
const DHCPCD_ENV = {
  ...LEASE_VARS,
  // Not dhcpcd's lease: never passed on.
  PATH: '/usr/bin',
  HOME: '/root',
  pid: '123',
  ifmetric: '1002',
  nd_x: 'no',
  ndx1_y: 'no',
  SECRET: 'psk',
};

describe('the dhcpcd hook', () => {
  it("sends dhcpcd's lease variables, NUL-terminated, to WIFIBOX_HOOK_SOCKET and exits 0", async () => {
    const sock = join(dir, 'hook.sock');
    const got = await listen(sock, 'OK\n');
    const r = await runHook({ ...DHCPCD_ENV, WIFIBOX_HOOK_SOCKET: sock });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(got).toHaveLength(1);
    expect(got[0]!.endsWith('\0')).toBe(true);
    expect(parseHookReport(got[0]!)).toEqual(LEASE_VARS);
  });

  it('never holds dhcpcd up: no socket, or no answer within 2 s, and it still exits 0', async () => {
    const missing = await runHook({ ...DHCPCD_ENV, WIFIBOX_HOOK_SOCKET: join(dir, 'nobody.sock') });
    expect(missing.code).toBe(0);
    expect(missing.stderr).toMatch(/nobody\.sock: connect: No such file or directory/);
    const sock = join(dir, 'silent.sock');
    const got = await listen(sock, null);
    const silent = await runHook({ ...DHCPCD_ENV, WIFIBOX_HOOK_SOCKET: sock });
    expect(silent.code).toBe(0);
    expect(silent.stderr).toMatch(/no answer/);
    expect(got).toHaveLength(1);
    // 2 s and a margin for a slow machine: far from the dhcpcd events it would hold up otherwise.
    expect(silent.ms).toBeLessThan(10_000);
  });

  it('a report that is not name=value strings with a reason is refused', () => {
    expect(parseHookReport('reason=RENEW\0interface=wlan0\0')).toEqual({ reason: 'RENEW', interface: 'wlan0' });
    expect(parseHookReport('interface=wlan0\0')).toBeNull();
    expect(parseHookReport('reason=RENEW\0=x\0')).toBeNull();
    expect(parseHookReport('reason=RENEW\0bad name=x\0')).toBeNull();
  });

  it('a lease takes from the report only well-formed values: an address, a prefix, a router, a lease time', () => {
    const lease = (env: Record<string, string>) => applyHookReport(emptyLeaseState(), { reason: 'BOUND', ...env }, new Date(0)).lease;
    const at = new Date(0).toISOString();
    expect(
      lease({
        interface: 'wlan0',
        new_ip_address: '192.168.77.2',
        new_subnet_cidr: '24',
        new_routers: '192.168.77.1 192.168.77.3',
        new_dhcp_server_identifier: '192.168.77.1',
        new_dhcp_lease_time: '4294967295',
      }),
    ).toEqual({
      iface: 'wlan0',
      address: '192.168.77.2',
      prefixLength: 24,
      router: '192.168.77.1',
      server: '192.168.77.1',
      leaseSeconds: 4294967295,
      obtainedAt: at,
    });
    expect(
      lease({
        interface: 'wlan0\nx',
        new_ip_address: '192.168.77.2; x',
        new_subnet_cidr: '33',
        new_routers: 'gw 192.168.77.1',
        new_dhcp_server_identifier: '::1',
        new_dhcp_lease_time: '1e3',
      }),
    ).toEqual({ iface: '', address: null, prefixLength: null, router: '192.168.77.1', server: null, leaseSeconds: null, obtainedAt: at });
    expect(lease({ new_subnet_cidr: '24.5', new_dhcp_lease_time: '0x10' })).toMatchObject({ prefixLength: null, leaseSeconds: null });
  });
});
