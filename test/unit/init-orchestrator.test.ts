// The orchestrator against a fake InitSystem: which steps run in which order, what a failed step
// blocks, that teardown takes back exactly what was applied in reverse, that daemons are restarted
// (or, when not installed, reported once), and what a change of the wireless DNS sets off.
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { readLeaseFile, writeLeaseFile } from '../../agents/common/udhcpd-leases';
import type { InitStatus } from '../../agents/common/status';
import type { InitOptions } from '../../agents/init/options';
import { Orchestrator } from '../../agents/init/orchestrator';
import { DOMAIN_RESTART_SETTLE_MS } from '../../agents/init/services/udhcpd';
import { makePlan } from '../../agents/init/plan';
import { daemonOf, relayOf, stepOf } from '../../lab/status';
import { FakeInitSystem, settle } from '../helpers/fake-init-system';
import { capturingLogger } from '../helpers/log-lines';
import { sampleConfig } from '../helpers/samples';

const STATION = ['wpa_supplicant/appliance'];
const STATION6 = [...STATION, 'optional/ipv6/wpa_supplicant/appliance'];

const OPTS: InitOptions = {
  confDir: '/media/etc',
  procSys: '/proc/sys',
  arpTable: '/proc/net/arp',
  sysClassNet: '/sys/class/net',
  sysBusPci: '/sys/bus/pci',
  runDir: '/run/wifibox-init',
  dhcpcdRunDir: '/run/dhcpcd',
  tmpDir: '/tmp',
  statusSocket: '/run/wifibox-init.sock',
  hookSocket: '/run/wifibox-init/hook.sock',
  hookPath: '/usr/lib/wifibox-agents/wifibox-dhcpcd-hook',
  resolvConf: '/etc/resolv.conf',
  lanInterface: 'eth0',
  wirelessInterface: 'wlan0',
  shortLeaseSeconds: 10,
  leaseWriteSeconds: 10,
  tools: {
    ip: 'ip',
    iptablesRestore: 'iptables-restore',
    ip6tablesRestore: 'ip6tables-restore',
    iptables: 'iptables',
    ip6tables: 'ip6tables',
    dhcpcd: 'dhcpcd',
    udhcpd: 'udhcpd',
    radvd: 'radvd',
  },
};

const silent = pino({ level: 'silent' });
const RELAY_OFF = { 'wifibox-agents.conf': () => '[init]\nrelay = no\n' };
let sys: FakeInitSystem;

function orchestrator(dirs = STATION, change: Record<string, (t: string) => string> = {}): Orchestrator {
  const cfg = sampleConfig(dirs, change);
  return new Orchestrator(cfg, makePlan(cfg, { lanInterface: 'eth0', wirelessInterface: 'wlan0' }), OPTS, sys, silent);
}

const status = () => JSON.parse(sys.connect(OPTS.statusSocket)) as InitStatus;
const stepState = (id: string) => status().steps.find((s) => s.id === id)?.state;
/** The position of the first effect matching `re` (-1: none). */
const at = (re: RegExp, from = 0) => sys.effects.findIndex((e, i) => i >= from && re.test(e));
const report = (env: Record<string, string>) =>
  expect(
    sys.connect(
      OPTS.hookSocket,
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}\0`)
        .join(''),
    ),
  ).toBe('OK\n');
const BOUND = {
  reason: 'BOUND',
  interface: 'wlan0',
  new_ip_address: '192.168.77.2',
  new_subnet_cidr: '24',
  new_routers: '192.168.77.1',
  new_domain_name_servers: '192.168.77.53',
  new_domain_name: 'wireless.lab',
};

beforeEach(() => {
  sys = new FakeInitSystem();
  sys.dirs.add('/sys/class/net/wlan0');
});

describe('wifibox-init orchestrator', () => {
  it('runs each step once what it waits for is done: udhcpd does not wait for the wireless side', async () => {
    sys.setLink('wlan0', false);
    const o = orchestrator();
    const up = o.up();
    await sys.advance(1000);
    expect(stepState('udhcpd')).toBe('ok');
    expect(sys.started('udhcpd')).toHaveLength(1);
    expect(stepState('wait:wlan0')).toBe('running');
    expect(stepState('dhcpcd')).toBe('pending');
    expect(at(/^start dhcpcd/)).toBe(-1);
    sys.setLink('wlan0', true);
    await sys.advance(5000);
    await up;
    expect(status().steps.every((s) => s.state === 'ok')).toBe(true);
    expect(at(/run ip link set wlan0 up/)).toBeGreaterThan(at(/^start udhcpd/));
    expect(at(/^start dhcpcd .* wlan0$/)).toBeGreaterThan(at(/run ip link set wlan0 up/));
    // Forwarding only once the NAT is in place.
    expect(at(/write \/proc\/sys\/net\/ipv4\/ip_forward 1/)).toBeGreaterThan(at(/run iptables-restore/));
  });

  it("eth0 is announced as it comes up: arp_notify, then its address, then the link up (the kernel sends a gratuitous ARP); a user's own arp_notify is kept", async () => {
    await orchestrator().up();
    const notify = at(/^write \/proc\/sys\/net\/ipv4\/conf\/eth0\/arp_notify 1$/);
    expect(notify).toBeGreaterThanOrEqual(0);
    expect(at(/run ip -4 addr replace 10\.0\.0\.1\/24 dev eth0/)).toBeGreaterThan(notify);
    expect(at(/run ip link set eth0 up/)).toBeGreaterThan(at(/run ip -4 addr replace 10\.0\.0\.1\/24 dev eth0/));
    // wlan0 (DHCP) has no address of its own to announce.
    expect(at(/conf\/wlan0\/arp_notify/)).toBe(-1);

    sys = new FakeInitSystem();
    sys.dirs.add('/sys/class/net/wlan0');
    await orchestrator(STATION, { 'sysctl.conf': (t) => `${t}net.ipv4.conf.eth0.arp_notify = 0\n` }).up();
    expect(sys.effects.filter((e) => e.includes('eth0/arp_notify'))).toEqual(['write /proc/sys/net/ipv4/conf/eth0/arp_notify 0']);
  });

  it('a failed step blocks the steps after it, and only those', async () => {
    sys.onRun = (argv) =>
      argv[0] === 'iptables-restore' ? { code: 2, stdout: '', stderr: 'iptables-restore: line 3 failed\n' } : { code: 0, stdout: '', stderr: '' };
    await orchestrator().up();
    const st = status();
    const byId = (id: string) => stepOf(st, id);
    expect(byId('firewall').state).toBe('failed');
    expect(byId('firewall').why).toBe('/media/etc/iptables:3: iptables-restore rejected the rules: iptables-restore: line 3 failed');
    expect(byId('forwarding')).toMatchObject({ state: 'blocked', why: 'waits for firewall, which did not come up' });
    expect(at(/ip_forward/)).toBe(-1);
    for (const id of ['hostname', 'sysctl', 'iface:eth0', 'iface:wlan0', 'udhcpd', 'dhcpcd']) expect(byId(id).state, id).toBe('ok');
  });

  it('teardown takes back what was applied, newest first, and nothing else', async () => {
    const o = orchestrator();
    await o.up();
    const from = sys.effects.length;
    await o.down();
    const torn = sys.effects.slice(from);
    // Each effect that has an undo, as it was applied (left) and as it is taken back (right).
    const pairs: Array<[RegExp, RegExp]> = [
      [/run iptables-restore/, /iptables -w 5 -t nat -F/],
      [/ip -4 addr replace 10\.0\.0\.1\/24 dev eth0/, /ip -4 addr del 10\.0\.0\.1\/24 dev eth0/],
      [/ip_forward 1/, /ip_forward 0/],
      [/^start udhcpd/, /signal udhcpd SIGTERM/],
      [/^start dhcpcd/, /signal dhcpcd SIGTERM/],
    ];
    const applied = pairs.map(([re]) => at(re));
    const undone = pairs.map(([, re]) => torn.findIndex((e) => re.test(e)));
    expect(applied.every((i) => i >= 0 && i < from) && undone.every((i) => i >= 0), torn.join('\n')).toBe(true);
    const byApplied = pairs.map((_, i) => i).sort((a, b) => applied[a]! - applied[b]!);
    const byUndone = pairs.map((_, i) => i).sort((a, b) => undone[a]! - undone[b]!);
    expect(byUndone).toEqual([...byApplied].reverse());
    // dhcpcd's address goes only once dhcpcd is stopped (it would add it back).
    expect(torn.findIndex((e) => /ip -4 addr flush dev wlan0/.test(e))).toBeGreaterThan(undone[pairs.length - 1]!);
    // Neither the hostname nor lo is "undone": the old services left both too.
    expect(torn.some((e) => /hostname|link set lo/.test(e))).toBe(false);
    expect(sys.endpoints.size).toBe(0);
  });

  it('a step that failed halfway is taken back as far as it got', async () => {
    // The inet6 address cannot be added: eth0's IPv4 address, added before it, is still removed.
    sys.onRun = (argv) =>
      argv.includes('-6') && argv.includes('addr')
        ? { code: 2, stdout: '', stderr: 'RTNETLINK answers: Permission denied' }
        : { code: 0, stdout: '', stderr: '' };
    const o = orchestrator(STATION6);
    await o.up();
    expect(stepState('iface:eth0')).toBe('failed');
    const from = sys.effects.length;
    await o.down();
    expect(at(/ip -4 addr del 10\.0\.0\.1\/24 dev eth0/, from)).toBeGreaterThan(0);
  });

  it('a daemon that dies is started again with backoff; a restart counts', async () => {
    await orchestrator().up();
    const [first] = sys.started('udhcpd');
    first!.exit({ code: 1, signal: null });
    await settle();
    expect(daemonOf(status(), 'udhcpd')).toMatchObject({ state: 'backoff', restarts: 1, lastExit: 'exited with 1' });
    await sys.advance(199);
    expect(sys.started('udhcpd')).toHaveLength(1);
    await sys.advance(1);
    expect(sys.started('udhcpd')).toHaveLength(2);
    expect(daemonOf(status(), 'udhcpd')).toMatchObject({ state: 'running', restarts: 1 });
    // The next death waits twice as long.
    sys.started('udhcpd')[1]!.exit({ code: 1, signal: null });
    await sys.advance(399);
    expect(sys.started('udhcpd')).toHaveLength(2);
    await sys.advance(1);
    expect(sys.started('udhcpd')).toHaveLength(3);
  });

  it('a daemon that is not installed is one clear failure, not a restart loop', async () => {
    sys.missingPrograms.add('udhcpd');
    await orchestrator().up();
    await sys.advance(60_000);
    expect(sys.started('udhcpd')).toHaveLength(1);
    expect(daemonOf(status(), 'udhcpd')).toMatchObject({ state: 'failed', restarts: 0, lastExit: 'could not be started: ENOENT' });
  });

  it('relay = no: short leases until the wireless DNS comes; then resolv.conf written, udhcpd re-rendered with it and restarted; the same DNS again changes nothing', async () => {
    await orchestrator(STATION, RELAY_OFF).up();
    expect(status().dnsRelay).toBeNull();
    const conf = () => sys.read('/tmp/udhcpd.conf')!;
    expect(conf()).toMatch(/^opt\s+lease\s+10$/m); // short leases while the wireless DNS may still come
    expect(status().udhcpd).toMatchObject({ dnsKnown: false, leaseSeconds: 10 });
    report(BOUND);
    await settle();
    expect(sys.read('/etc/resolv.conf')).toBe("# written by wifibox-init from the wireless network's DHCP\ndomain wireless.lab\nnameserver 192.168.77.53\n");
    expect(conf()).toMatch(/^opt\s+dns\s+192\.168\.77\.53/m);
    expect(status().udhcpd).toMatchObject({ dnsKnown: true, leaseSeconds: 864000 });
    expect(sys.started('udhcpd')).toHaveLength(2);
    expect(sys.started('udhcpd')[0]!.signals).toEqual(['SIGTERM']);
    expect(daemonOf(status(), 'udhcpd').restarts).toBe(0); // on purpose: not a crash
    report({ ...BOUND, reason: 'RENEW' });
    await settle();
    expect(sys.started('udhcpd')).toHaveLength(2);
    report({ ...BOUND, reason: 'RENEW', new_domain_name_servers: '192.168.77.54' });
    await settle();
    expect(sys.started('udhcpd')).toHaveLength(3);
    expect(conf()).toMatch(/^opt\s+dns\s+192\.168\.77\.54/m);
    expect(status().leaseEvent?.reason).toBe('RENEW');
  });

  it("radvd finds no file at its pid file's path (radvd would write through a symlink there)", async () => {
    sys.files.set('/run/wifibox-init/radvd.pid', 'left there');
    await orchestrator(STATION6).up();
    expect(sys.started('radvd')[0]!.argv.join(' ')).toMatch(/ -p \/run\/wifibox-init\/radvd\.pid$/);
    expect(sys.read('/run/wifibox-init/radvd.pid')).toBeNull();
  });

  it('relay = no: a new IPv6 DNS reloads radvd with SIGHUP instead of restarting it', async () => {
    await orchestrator(STATION6, RELAY_OFF).up();
    report({ reason: 'ROUTERADVERT', interface: 'wlan0', nd1_rdnss1_servers: '2001:db8:77::53' });
    await settle();
    expect(sys.read('/tmp/radvd.conf')).toContain('2001:db8:77::53');
    expect(sys.started('radvd')).toHaveLength(1);
    expect(sys.started('radvd')[0]!.signals).toEqual(['SIGHUP']);
  });

  it('a bad hook report is refused and changes nothing', async () => {
    await orchestrator().up();
    expect(sys.connect(OPTS.hookSocket, 'interface=wlan0\0new_ip_address=192.168.77.2\0')).toBe('FAIL\n'); // no reason
    expect(sys.connect(OPTS.hookSocket, 'reason=BOUND\0no equals sign\0')).toBe('FAIL\n');
    expect(sys.connect(OPTS.hookSocket, '{"reason": "BOUND"}')).toBe('FAIL\n');
    expect(status().leaseEvent).toBeNull();
  });

  it('what a killed predecessor left is stopped by PID and start time; a reused PID is left alone', async () => {
    sys.processes.set(500, { start: 't500', pgid: 500, comm: 'dhcpcd' });
    sys.processes.set(501, { start: 't501', pgid: 500, comm: 'dhcpcd' }); // its privsep helper
    sys.processes.set(600, { start: 'someone-else', pgid: 600, comm: 'udhcpd' });
    sys.files.set('/run/wifibox-init/daemons.json', JSON.stringify({ dhcpcd: { pid: 500, start: 't500' }, udhcpd: { pid: 600, start: 't600' } }));
    await orchestrator().up();
    expect(sys.effects).toContain('signal group 500 SIGTERM');
    expect(sys.processes.has(500) || sys.processes.has(501)).toBe(false);
    expect(sys.processes.has(600)).toBe(true);
    expect(sys.effects.some((e) => /signal (group )?600/.test(e))).toBe(false);
    // Then it records its own daemons for the next one: dhcpcd to be killed outright, so its
    // address stays while the next wifibox-init takes over; udhcpd to be stopped cleanly.
    const known = JSON.parse(sys.read('/run/wifibox-init/daemons.json')!) as Record<string, { takeover: string }>;
    expect(Object.keys(known).sort()).toEqual(['dhcpcd', 'udhcpd']);
    expect([known.dhcpcd?.takeover, known.udhcpd?.takeover]).toEqual(['SIGKILL', 'SIGTERM']);
  });

  it('takes over with the signal each daemon was recorded with', async () => {
    sys.processes.set(700, { start: 't700', pgid: 700, comm: 'dhcpcd' });
    sys.files.set('/run/wifibox-init/daemons.json', JSON.stringify({ dhcpcd: { pid: 700, start: 't700', takeover: 'SIGKILL' } }));
    await orchestrator().up();
    expect(sys.effects).toContain('signal group 700 SIGKILL');
    expect(sys.effects).not.toContain('signal group 700 SIGTERM');
  });

  it('a run folder it may not use: nothing is started, and the reason is logged (syslog: supervise-daemon drops stderr)', async () => {
    const refusal = '/run/wifibox-init belongs to user 65534, not to 0: refusing to use it; remove it';
    sys.refusedDirs.set('/run/wifibox-init', refusal);
    const { log, out } = capturingLogger();
    const cfg = sampleConfig(STATION);
    await expect(new Orchestrator(cfg, makePlan(cfg, { lanInterface: 'eth0', wirelessInterface: 'wlan0' }), OPTS, sys, log).up()).rejects.toThrow(refusal);
    expect(out.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ level: 60, err: refusal, msg: 'cannot use the run folder; not starting' }));
    expect(sys.effects).toEqual([]);
    expect(sys.endpoints.size).toBe(0);
  });

  it('a planted record naming another process, with its very PID and start time, gets it no signal', async () => {
    sys.processes.set(800, { start: 't800', pgid: 800, comm: 'sshd' });
    sys.processes.set(900, { start: 't900', pgid: 900, comm: 'dhcpcd' });
    sys.processes.set(1, { start: 't1', pgid: 1, comm: 'init' });
    sys.files.set(
      '/run/wifibox-init/daemons.json',
      JSON.stringify({
        dhcpcd: { pid: 800, start: 't800', takeover: 'SIGKILL' }, // the right identity, not dhcpcd
        sshd: { pid: 900, start: 't900' }, // a daemon wifibox-init never runs
        udhcpd: { pid: 1, start: 't1' },
        radvd: { pid: '900', start: 't900' },
      }),
    );
    await orchestrator().up();
    expect(sys.effects.filter((e) => /^signal (group )?(1|800|900) /.test(e))).toEqual([]);
    expect([800, 900, 1].every((pid) => sys.processes.has(pid))).toBe(true);
  });

  it('releases the wireless PCI device only when the guest shuts down', async () => {
    sys.files.set('/sys/bus/pci/devices/0000:00:06.0/net/wlan0/wireless/x', '');
    sys.files.set('/sys/bus/pci/devices/0000:00:06.0/remove', '');
    let o = orchestrator();
    await o.up();
    await o.down();
    expect(sys.effects.some((e) => e.includes('/remove'))).toBe(false);
    sys.files.set('/run/wifibox-init/release-wireless', '');
    o = orchestrator();
    await o.up();
    await o.down();
    expect(sys.effects).toContain('write /sys/bus/pci/devices/0000:00:06.0/remove 1');
  });

  it("with the DNS relay, the host's first lease is final: the guest's own address as DNS, the full lease time", async () => {
    await orchestrator(STATION6).up();
    for (const l of ['udp 10.0.0.1:53', 'tcp 10.0.0.1:53', 'udp fd00::ffff:53', 'tcp fd00::ffff:53']) expect(sys.effects).toContain(`listen ${l}`);
    const conf = () => sys.read('/tmp/udhcpd.conf')!;
    expect(conf()).toMatch(/^opt\s+dns\s+10\.0\.0\.1 8\.8\.8\.8 8\.8\.4\.4$/m);
    expect(conf()).toMatch(/^opt\s+lease\s+864000$/m);
    expect(status().udhcpd).toMatchObject({ dnsKnown: true, leaseSeconds: 864000 });
    expect(sys.read('/tmp/radvd.conf')).toMatch(/RDNSS fd00::ffff 2001:4860:4860::8888 2001:4860:4860::8844/);
    // Until the wireless network says otherwise, the relay asks the configs' own servers.
    expect(status().dnsRelay).toMatchObject({ source: 'fallback', servers: ['8.8.8.8', '8.8.4.4', '2001:4860:4860::8888', '2001:4860:4860::8844'] });
  });

  it('with the DNS relay, new wireless DNS servers change the relay, not udhcpd or radvd; a new domain still re-renders udhcpd', async () => {
    await orchestrator(STATION6).up();
    report(BOUND);
    await settle();
    expect(status().dnsRelay).toMatchObject({ source: 'wireless', servers: ['192.168.77.53'] });
    // The domain is new: hosts get it at their renewal, so udhcpd, started a moment ago (the host
    // may be getting its lease now), is restarted only once it has run a few seconds.
    expect(sys.read('/tmp/udhcpd.conf')).toMatch(/^opt\s+domain\s+wireless\.lab$/m);
    expect(sys.started('udhcpd')).toHaveLength(1);
    await sys.advance(DOMAIN_RESTART_SETTLE_MS - 100);
    expect(sys.started('udhcpd')).toHaveLength(1);
    await sys.advance(200);
    expect(sys.started('udhcpd')).toHaveLength(2);
    report({ ...BOUND, reason: 'RENEW', new_domain_name_servers: '192.168.77.54' });
    report({ reason: 'ROUTERADVERT', interface: 'wlan0', nd1_rdnss1_servers: '2001:db8:77::53' });
    await settle();
    expect(relayOf(status()).servers).toEqual(['192.168.77.54', '2001:db8:77::53']);
    expect(sys.started('udhcpd')).toHaveLength(2);
    expect(sys.started('radvd')[0]!.signals).toEqual([]);
    expect(sys.read('/tmp/udhcpd.conf')).toMatch(/^opt\s+dns\s+10\.0\.0\.1 /m);
    // Another network's domain once udhcpd has run a while: restarted at once.
    await sys.advance(DOMAIN_RESTART_SETTLE_MS);
    report({ ...BOUND, reason: 'RENEW', new_domain_name: 'other.lab' });
    await settle();
    expect(sys.started('udhcpd')).toHaveLength(3);
  });

  it('the relay stops with the rest', async () => {
    const o = orchestrator();
    await o.up();
    await o.down();
    expect(sys.effects).toContain('close udp 10.0.0.1:53');
    expect(sys.effects).toContain('close tcp 10.0.0.1:53');
  });

  it('dhcpcd asks fast (no ARP probe, no start delay, rapid commit), unless wifibox-agents.conf turns each back', async () => {
    await orchestrator().up();
    expect(sys.started('dhcpcd')[0]!.argv.join(' ')).toMatch(/^dhcpcd -B --noarp --nodelay --option rapid_commit -c /);
    // Each daemon's output goes to a file in the private run folder (not a pipe that dies with us).
    expect([...sys.outputs].sort()).toEqual(['/run/wifibox-init/dhcpcd.out', '/run/wifibox-init/udhcpd.out']);
    sys = new FakeInitSystem();
    sys.dirs.add('/sys/class/net/wlan0');
    await orchestrator(STATION, { 'wifibox-agents.conf': () => '[init]\narp_probe = yes\nstart_delay = yes\nrapid_commit = no\n' }).up();
    expect(sys.started('dhcpcd')[0]!.argv.join(' ')).toMatch(/^dhcpcd -B -c /);
  });

  it('a bad line in wifibox-agents.conf is named, its key keeps its default, the rest applies', async () => {
    await orchestrator(STATION, { 'wifibox-agents.conf': () => '[init]\nrelay_timeout = soon\narp_probe = yes\n' }).up();
    expect(status().problems).toEqual([
      "/media/etc/wifibox-agents.conf:2: error: relay_timeout = 'soon' is not valid; expected a number from 0.1 to 10 (seconds) (the default, 1, is used)",
    ]);
    expect(sys.started('dhcpcd')[0]!.argv).not.toContain('--noarp');
    expect(stepState('dns-relay')).toBe('ok');
  });

  it('the wireless interface goes: dhcpcd is stopped and the status says why; it comes back: dhcpcd starts at once', async () => {
    await orchestrator().up();
    sys.setLink('wlan0', false);
    await settle(); // told by the kernel: no time passes
    expect(sys.started('dhcpcd')[0]!.signals).toEqual(['SIGTERM']);
    expect(daemonOf(status(), 'dhcpcd')).toMatchObject({ state: 'waiting', lastExit: 'wlan0 is gone; waiting for it to come back', restarts: 0 });
    await sys.advance(10_000);
    expect(sys.started('dhcpcd')).toHaveLength(1);
    const from = sys.effects.length;
    sys.setLink('wlan0', true);
    await settle();
    expect(at(/run ip link set wlan0 up/, from)).toBeGreaterThan(0);
    expect(at(/^start dhcpcd/, from)).toBeGreaterThan(at(/run ip link set wlan0 up/, from));
    expect(daemonOf(status(), 'dhcpcd')).toMatchObject({ state: 'running', restarts: 0 });
  });

  it('a host seen using an address of the range that udhcpd does not remember: its lease written into the lease file while udhcpd is stopped, once', async () => {
    const o = orchestrator();
    await o.up();
    expect(sys.neighbourWatches).toBe(1);
    const file = '/var/lib/misc/udhcpd.leases';
    const now = Math.floor(sys.now().getTime() / 1000);
    // What udhcpd wrote before (another host, 100 s ago with 500 s left): kept, its time counted on.
    const other = { ip: '10.0.0.7', mac: '02:11:22:33:44:55', secondsLeft: 500, hostname: 'phone' };
    sys.blobs.set(file, writeLeaseFile(now - 100, [other]));
    const arp = (line: string) => `IP address       HW type     Flags       HW address            Mask     Device\n${line}\n`;
    let writtenWhileRunning = false;
    const orig = sys.writeAtomic.bind(sys);
    sys.writeAtomic = (path, data) => {
      if (path === file && sys.started('udhcpd').some((d) => d.signals.length === 0)) writtenWhileRunning = true;
      orig(path, data);
    };
    sys.setNeighbours(OPTS.arpTable, arp('10.0.0.109       0x1         0x2         52:54:00:AB:CD:EF     *        eth0'));
    await settle();
    expect(sys.started('udhcpd')).toHaveLength(2);
    expect(sys.started('udhcpd')[0]!.signals).toEqual(['SIGTERM']);
    expect(writtenWhileRunning).toBe(false);
    expect(readLeaseFile(sys.readBytes(file)!)).toEqual({
      writtenAt: now,
      records: [
        { ...other, secondsLeft: 400 },
        { ip: '10.0.0.109', mac: '52:54:00:ab:cd:ef', secondsLeft: 864000, hostname: '' },
      ],
    });
    expect(sys.read('/tmp/udhcpd.conf')).not.toMatch(/static_lease/);
    expect(daemonOf(status(), 'udhcpd')).toMatchObject({ state: 'running', restarts: 0 });
    // The same host again, a neighbour on another interface, an address udhcpd does not hand out,
    // a host whose MAC the file already has: nothing.
    sys.setNeighbours(
      OPTS.arpTable,
      arp(
        [
          '10.0.0.109       0x1         0x2         52:54:00:ab:cd:ef     *        eth0',
          '192.168.77.1  0x1  0x2  02:00:00:00:00:01  *  wlan0',
          '10.0.0.1  0x1  0x2  02:00:00:00:00:02  *  eth0',
          '10.0.0.8  0x1  0x2  02:11:22:33:44:55  *  eth0',
        ].join('\n'),
      ),
    );
    await settle();
    expect(sys.started('udhcpd')).toHaveLength(2);
    await o.down();
    expect(sys.neighbourWatches).toBe(0);
  });

  it('at rest nothing is timed: no timer is pending once the network is up, and wlan0 is watched by one link watch', async () => {
    await orchestrator().up();
    await sys.advance(60_000); // whatever was timed for the start has run
    expect(sys.pendingTimers).toBe(0);
    expect(sys.linkWatches).toBe(1);
    sys.setLink('wlan0', false);
    await settle();
    sys.started('dhcpcd')[0]!.exit({ code: 0, signal: null });
    sys.setLink('wlan0', true);
    await sys.advance(60_000);
    expect(sys.started('dhcpcd')).toHaveLength(2);
    expect(sys.pendingTimers).toBe(0);
  });

  it('dhcpcd that ends because the wireless interface went is waiting, not crashed: no restart, no count', async () => {
    await orchestrator().up();
    sys.setLink('wlan0', false);
    sys.started('dhcpcd')[0]!.exit({ code: 1, signal: null }); // "removing interface", before the next look
    await settle();
    expect(daemonOf(status(), 'dhcpcd').state).toBe('waiting');
    // Back before the next look at it: still a return, and dhcpcd starts.
    sys.setLink('wlan0', true);
    await sys.advance(200);
    expect(sys.started('dhcpcd')).toHaveLength(2);
    sys.setLink('wlan0', false);
    sys.started('dhcpcd')[1]!.exit({ code: 1, signal: null });
    await sys.advance(1000);
    expect(sys.started('dhcpcd')).toHaveLength(2);
    expect(daemonOf(status(), 'dhcpcd')).toMatchObject({ state: 'waiting', restarts: 0 });
    sys.setLink('wlan0', true);
    await sys.advance(200);
    expect(sys.started('dhcpcd')).toHaveLength(3);
    expect(daemonOf(status(), 'dhcpcd')).toMatchObject({ state: 'running', restarts: 0 });
  });

  it('a service that cannot follow the wireless DNS (a full /tmp) is tried again, not left behind until the next change', async () => {
    await orchestrator(STATION, RELAY_OFF).up();
    sys.failWrites.push('/tmp/udhcpd.conf');
    report(BOUND);
    await settle();
    expect(sys.read('/tmp/udhcpd.conf')).not.toContain('192.168.77.53');
    expect(sys.read('/etc/resolv.conf')).toContain('192.168.77.53'); // the others went on
    await sys.advance(1000);
    expect(sys.read('/tmp/udhcpd.conf')).toMatch(/^opt\s+dns\s+192\.168\.77\.53/m);
    expect(status().udhcpd?.dnsKnown).toBe(true);
    expect(sys.started('udhcpd')).toHaveLength(2);
  });

  it('dhcpcd killed outright leaves its control sockets: they are removed, whether it is restarted or stopped', async () => {
    const o = orchestrator();
    await o.up();
    const files = ['/run/dhcpcd/wlan0.sock', '/run/dhcpcd/wlan0.unpriv.sock', '/run/dhcpcd/wlan0.pid'];
    for (const f of files) sys.files.set(f, '');
    sys.started('dhcpcd')[0]!.exit({ code: null, signal: 'SIGKILL' });
    await settle();
    for (const f of files) expect(sys.exists(f), f).toBe(false);
    await sys.advance(200);
    expect(sys.started('dhcpcd')).toHaveLength(2);
    for (const f of files) sys.files.set(f, '');
    await o.down();
    for (const f of files) expect(sys.exists(f), f).toBe(false);
  });
});
