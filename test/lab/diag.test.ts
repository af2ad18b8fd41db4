// Acceptance of wifibox-diag in the lab: the bundle in dist/, run inside the guest against the
// real agents and daemons. First with nothing running at all (4), then healthy (1), then one
// thing broken at a time (2), each restored before the next.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RESTART_LOOP } from '../../agents/diag/daemon-rules';
import type { DiagReport, ProblemId } from '../../agents/diag/report';
import { validateReport } from '../../agents/diag/shape';
import { DIAG_LAB_ARGS, startHealthyGuest, writeDiagStandIns } from '../../lab/diag-guest';
import { LAB_PCI_DEVICE, LAB_SYS_BUS_PCI } from '../../lab/guest';
import type { Lab } from '../../lab/lab';
import { waitFor, type LabProcess } from '../../lab/proc';
import { daemonOf, initStatus } from '../../lab/status';
import { WIRELESS_DNS, WIRELESS_DOMAIN } from '../../lab/wireless';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;
let init: LabProcess;
let passthru: LabProcess;
let wpa: LabProcess;
let air: { dhcp: LabProcess };

interface DiagRun {
  code: number;
  report: DiagReport;
  ids: ProblemId[];
}

async function diagText(args: string[] = []): Promise<{ code: number; text: string }> {
  const r = await lab.guest([process.execPath, join(lab.opts.distDir, 'wifibox-diag.js'), ...DIAG_LAB_ARGS, ...args], { timeoutMs: 15_000 });
  return { code: r.code, text: r.stdout + r.stderr };
}

async function diag(args: string[] = []): Promise<DiagRun> {
  const r = await lab.guest([process.execPath, join(lab.opts.distDir, 'wifibox-diag.js'), '--json', ...DIAG_LAB_ARGS, ...args], { timeoutMs: 15_000 });
  let report: DiagReport;
  try {
    report = JSON.parse(r.stdout) as DiagReport;
  } catch {
    throw new Error(`wifibox-diag printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  expect(validateReport(report)).toEqual([]);
  expect(r.code).toBe(report.exitCode);
  return { code: r.code, report, ids: report.problems.map((p) => p.id) };
}

const explain = (d: DiagRun) => JSON.stringify(d.report.problems.map((p) => `${p.id}: ${p.summary}`));

/** Settled and healthy: what each broken case starts from. */
async function healthy(timeoutMs = 20_000): Promise<DiagRun> {
  let last: DiagRun | null = null;
  try {
    return await waitFor(
      'wifibox-diag to say OK',
      async () => {
        last = await diag();
        return last.code === 0 ? last : null;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last verdict: ${last ? explain(last) : 'none'}`);
  }
}

/** Runs diag until the verdict names `id` (a daemon may need a moment to notice); returns that run. */
async function until(id: ProblemId, timeoutMs = 5000): Promise<DiagRun> {
  let last: DiagRun | null = null;
  try {
    return await waitFor(
      `the verdict to name ${id}`,
      async () => {
        last = await diag();
        return last.ids.includes(id) ? last : null;
      },
      timeoutMs,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last verdict: ${last ? explain(last) : 'none'}`);
  }
}

const privateSocketsLeft = () => readdirSync(lab.guestPath('/tmp')).filter((f) => f.startsWith('wifibox-diag-'));

labForFile({ flavor: 'wpa_supplicant', configureGuest: false }, (l) => {
  lab = l;
  writeDiagStandIns(lab);
});

describe('wifibox-diag in the lab guest', () => {
  it('4. with no agent running at all: it still reports, exits 2, and names the unreachable endpoints', async () => {
    const d = await diag();
    expect(d.code).toBe(2);
    expect(d.report.unreachable).toEqual(
      expect.arrayContaining([
        { what: 'init status endpoint', path: '/run/wifibox-init.sock', error: 'ENOENT' },
        { what: 'passthru status endpoint', path: '/run/wifibox-passthru.sock', error: 'ENOENT' },
        { what: 'wpa_supplicant control socket', path: '/var/run/wpa_supplicant/wlan0', error: 'ENOENT' },
      ]),
    );
    expect(d.ids).toEqual(expect.arrayContaining(['wireless-daemon-down', 'init-unreachable', 'passthru-unreachable']));
    // What it could reach is still there.
    expect(d.report.interfaces.links.map((l) => l.name)).toEqual(expect.arrayContaining(['lo', 'eth0', 'wlan0']));
    expect(d.report.memory.totalKiB).toBeGreaterThan(0);
    const t = await diagText();
    expect(t.code).toBe(2);
    expect(t.text.split('\n')[0]).toMatch(/^DOWN: \d+ problems \(exit 2\)$/);
    expect(t.text).toContain('init status endpoint /run/wifibox-init.sock: not reachable (ENOENT)');
    expect(t.text).toContain('passthru status endpoint /run/wifibox-passthru.sock: not reachable (ENOENT)');
  });

  it('1. healthy guest (orchestrator + passthru + wpa_supplicant): exit 0, every section filled, --json validates', async () => {
    ({ init, wpa, passthru, air } = await startHealthyGuest(lab));
    const dumpleases = async () => (await lab.guest(['/run/lab-bin/dumpleases', '-f', '/var/lib/misc/udhcpd.leases'])).stdout;
    const hostLease = await waitFor(
      "the host's lease in udhcpd's lease file",
      async () => /^([0-9a-f:]{17})\s+(10\.0\.0\.\d+)/m.exec(await dumpleases()),
      15_000,
      200,
    );

    const d = await healthy();
    const r = d.report;
    expect([r.health, r.exitCode, r.problems]).toEqual(['ok', 0, []]);
    // agents
    expect(r.agents.init).toMatchObject({ reachable: true, pid: expect.any(Number), flavor: 'station' });
    expect(r.agents.init.version).toMatch(/^\d+\.\d+\.\d+\+/);
    expect(r.agents.init.steps.length).toBeGreaterThan(5);
    expect(r.agents.init.steps.every((s) => s.state === 'ok')).toBe(true);
    expect(r.agents.init.daemons.map((d) => [d.name, d.state])).toEqual(
      expect.arrayContaining([
        ['dhcpcd', 'running'],
        ['udhcpd', 'running'],
      ]),
    );
    expect(r.agents.passthru).toMatchObject({ reachable: true, state: 'serving', network: '10.0.0.1/24' });
    // interfaces
    const wlan = r.interfaces.links.find((l) => l.name === 'wlan0')!;
    expect(wlan.addresses.map((a) => a.address)).toContain(lab.addr.guestWlan0);
    expect(r.interfaces.routes).toEqual(expect.arrayContaining([expect.objectContaining({ dst: 'default', gateway: lab.addr.air, dev: 'wlan0' })]));
    // wireless, from the control socket itself
    expect(r.wireless).toMatchObject({ present: true, daemon: 'wpa_supplicant', reachable: true, daemonPids: [expect.any(Number)] });
    expect(r.wireless.station).toMatchObject({ wpaState: 'COMPLETED', ssid: 'wifibox-lab', keyMgmt: 'NONE' });
    // DHCP: the wireless lease, and udhcpd's lease file read as busybox's own dumpleases reads it
    expect(r.dhcp.wireless).toMatchObject({ address: lab.addr.guestWlan0, server: lab.addr.air, dns: ['192.168.77.53'], domain: 'wireless.lab' });
    expect(Date.parse(r.dhcp.wireless!.expiresAt!)).toBeGreaterThan(Date.now());
    // The host is told to ask the guest's DNS relay, which asks the wireless network's server.
    expect(r.dhcp.udhcpd.configDns[0]).toBe(lab.addr.guestEth0);
    expect(r.agents.init.dnsRelay).toMatchObject({ listening: [lab.addr.guestEth0], servers: ['192.168.77.53'], source: 'wireless' });
    expect(r.dhcp.udhcpd.leases).toEqual(expect.arrayContaining([expect.objectContaining({ mac: hostLease[1], address: hostLease[2], expired: false })]));
    // NAT with counters that moved
    const masq = r.nat.rules.find((x) => x.target === 'MASQUERADE')!;
    expect(r.nat.forwarding).toBe(true);
    expect(masq.chain).toBe('POSTROUTING');
    expect(masq.packets).toBeGreaterThan(0);
    // passthrough
    const port = r.passthrough.ports.find((p) => p.port === 1200)!;
    expect(port).toMatchObject({ listening: true, daemon: 'up' });
    expect(port.counters.connections).toBeGreaterThan(0);
    expect(port.counters.requests).toBeGreaterThan(0);
    // memory
    expect(r.memory.totalKiB).toBeGreaterThan(0);
    expect(r.memory.processes.map((p) => p.name).sort()).toEqual(['dhcpcd', 'udhcpd', 'wifibox-init', 'wifibox-passthru', 'wpa_supplicant']);
    for (const p of r.memory.processes) expect(p.rssKiB, p.name).toBeGreaterThan(0);
    // the latest warnings and errors, and the kernel's wireless lines
    expect(r.log.lines.map((l) => [l.program, l.level])).toEqual([
      ['wifibox-init', 'warn'],
      ['udhcpd', 'err'],
    ]);
    expect(r.kernel).toMatchObject({ source: '/run/kmsg', error: null });
    expect(r.kernel.wirelessLines).toHaveLength(1);
    expect(r.unreachable).toEqual([]);

    const t = await diagText();
    expect(t.code).toBe(0);
    expect(t.text.split('\n')[0]).toMatch(/^OK/);
    for (const s of ['agents', 'interfaces', 'wireless (wpa_supplicant', 'dhcp', 'nat', 'passthrough', 'memory', 'latest warnings and errors', 'kernel:']) {
      expect(t.text).toContain(`\n${s}`);
    }
    // Reads only: its private control socket is gone, and it left no process behind.
    expect(privateSocketsLeft()).toEqual([]);
  }, 90_000);

  it('2a. NAT table flushed: nat-missing, exit 2', async () => {
    await healthy();
    expect((await lab.guest(['iptables', '-t', 'nat', '-F'])).code).toBe(0);
    const d = await diag();
    expect(d.ids).toContain('nat-missing');
    expect(d.code).toBe(2);
    expect((await lab.guest(['iptables-restore', '/media/etc/iptables'])).code).toBe(0);
  });

  it("2b. wlan0's address removed (and the wireless DHCP server gone): the verdict says wlan0 has no IPv4 address, exit 2", async () => {
    await healthy();
    // dhcpcd notices within milliseconds and asks again, and it needs a fraction of a second for
    // a lease: only while the wireless network's DHCP server is gone does the fault last.
    await lab.stop(air.dhcp);
    expect((await lab.guest(['ip', 'addr', 'flush', 'dev', 'wlan0'])).code).toBe(0);
    const d = await diag();
    expect(d.ids.filter((id) => id === 'no-wireless-lease' || id === 'no-wireless-address')).toHaveLength(1);
    expect(d.report.problems[0]!.summary).toMatch(/^wlan0 has no IPv4 address/);
    expect(d.code).toBe(2);
    air.dhcp = lab.startWirelessDhcp(WIRELESS_DNS, WIRELESS_DOMAIN, 120);
  });

  it('2c. passthru agent stopped: passthru-unreachable, exit 1', async () => {
    await healthy(30_000);
    await lab.stop(passthru);
    const d = await diag();
    expect(d.ids).toEqual(['passthru-unreachable']);
    expect(d.code).toBe(1);
    passthru = await lab.startPassthru();
  }, 45_000);

  it('2d. wpa_supplicant stopped: wireless-daemon-down, exit 2', async () => {
    await healthy();
    await lab.stop(wpa);
    const d = await until('wireless-daemon-down');
    expect(d.code).toBe(2);
    expect(d.report.problems[0]!.summary).toMatch(/^wpa_supplicant is not running/);
    wpa = await lab.startWirelessDaemon();
  });

  it('2e. udhcpd crash-looping (a udhcpd that exits at once): daemon-restarting, exit non-zero', async () => {
    await healthy();
    process.kill(init.pid, 'SIGTERM');
    expect(await init.exited).toBe(0);
    init = lab.startInit(['--udhcpd', '/bin/false'], 'init-crashing-udhcpd');
    // As many restarts as wifibox-diag takes for a loop.
    await waitFor(
      `udhcpd to have died ${RESTART_LOOP.restarts} times`,
      async () => daemonOf(await initStatus(lab), 'udhcpd').restarts >= RESTART_LOOP.restarts,
      15_000,
      100,
    );
    const d = await until('daemon-restarting');
    expect(d.code).toBeGreaterThan(0);
    const p = d.report.problems.find((x) => x.id === 'daemon-restarting')!;
    expect(p.summary).toMatch(/^udhcpd keeps dying/);
    expect(p.cause).toMatch(/exited with 1/);
  });

  it('2f. wlan0 removed: no-wireless-interface, pointing at the driver and its firmware in the kernel log, exit 2', async () => {
    // The lab's PCI device gets a driver, as a card whose driver loaded but found no firmware.
    expect((await lab.guest(['ln', '-s', `${LAB_SYS_BUS_PCI}/drivers/iwlwifi`, `${LAB_PCI_DEVICE}/driver`])).code).toBe(0);
    expect((await lab.guest(['ip', 'link', 'del', 'wlan0'])).code).toBe(0);
    const d = await until('no-wireless-interface');
    expect(d.code).toBe(2);
    expect(d.report.problems[0]!.id).toBe('no-wireless-interface');
    const p = d.report.problems[0]!;
    expect(p.cause).toMatch(/iwlwifi took the card but its firmware did not load/);
    expect(p.evidence).toEqual(expect.arrayContaining([expect.stringMatching(/Direct firmware load for iwlwifi-cc-a0-77\.ucode failed/)]));
    // Its consequences (wpa_supplicant gone, no lease) are not listed as problems of their own.
    expect(d.ids).not.toContain('wireless-daemon-down');
    expect(d.ids).not.toContain('no-wireless-lease');
    const t = await diagText();
    expect(t.text).toMatch(/^DOWN: .*\n {2}\* \[down\] wlan0 does not exist/);
    expect(privateSocketsLeft()).toEqual([]);
  });
});
