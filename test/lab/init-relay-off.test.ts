// wifibox-agents.conf in the appliance folder turns the new behaviour back: `relay = no` hands the
// host the wireless network's DNS itself (short leases until it is known), `arp_probe = yes` and
// `start_delay = yes` let dhcpcd probe and wait as it does by default. A bad line is named with
// file and line, and everything else still works.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiagReport } from '../../agents/diag/report';
import type { Lab } from '../../lab/lab';
import { waitFor } from '../../lab/proc';
import { initStatus } from '../../lab/status';
import { stationLabForFile } from '../helpers/station-lab';

let lab: Lab;
const station = stationLabForFile((l) => {
  lab = l;
  writeFileSync(join(lab.dir, 'appliance', 'wifibox-agents.conf'), '[init]\nrelay = no\narp_probe = yes\nstart_delay = yes\nrelay_timeout = soon\n');
});

const status = () => initStatus(lab);
const lastLease = () => station.lastHostLease();

describe('wifibox-agents.conf: the old behaviour, and a bad line', () => {
  it('relay = no: short leases first, then the host gets the wireless DNS itself at its renewal', async () => {
    const first = await waitFor("the host's first lease", () => lastLease(), 15_000);
    expect(first.ip).toMatch(/^10\.0\.0\.\d+$/);
    const withDns = await waitFor(
      'a host lease with the wireless DNS',
      () => {
        const l = lastLease();
        return l && (l.dns ?? '').split(' ').includes('192.168.77.53') && l.domain === 'wireless.lab' ? l : null;
      },
      60_000,
      200,
    );
    expect(withDns.dns?.split(' ')).toEqual(['192.168.77.53', '8.8.8.8', '8.8.4.4']);
    const st = await status();
    expect(st.dnsRelay).toBeNull();
    expect(st.steps.map((s) => s.id)).not.toContain('dns-relay');
    expect(st.udhcpd).toMatchObject({ dnsKnown: true, leaseSeconds: 864000 });
  }, 90_000);

  it('relay = no: a new wireless DNS is rendered into udhcpd.conf, and a host renewal gets it', async () => {
    await lab.stop(station.air.dhcp);
    station.air.dhcp = lab.startWirelessDhcp('192.168.77.54', 'wireless.lab', 120);
    const r = await lab.guest(['dhcpcd', '-n', 'wlan0']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the new DNS in udhcpd.conf', () => readFileSync(lab.guestPath('/tmp/udhcpd.conf'), 'utf8').includes('192.168.77.54'), 20_000, 100);
    process.kill(station.hostDhcp.proc.pid, 'SIGUSR1'); // the host renews
    await waitFor('the host to get the new DNS', () => (lastLease()?.dns ?? '').split(' ').includes('192.168.77.54'), 10_000);
    expect((await status()).dns.dns).toEqual(['192.168.77.54']);
  }, 60_000);

  it('arp_probe = yes, start_delay = yes: dhcpcd runs with its own probing and delay', async () => {
    // dhcpcd rewrites its own command line: wifibox-init's log says how it was started.
    const started = readFileSync(join(lab.dir, 'logs', 'init.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"daemon":"dhcpcd"') && l.includes('"daemon started"'));
    expect(started.length).toBeGreaterThan(0);
    const argv = (JSON.parse(started[0]!) as { argv: string }).argv.split(' ');
    expect(argv).not.toContain('--noarp');
    expect(argv).not.toContain('--nodelay');
    expect(argv.join(' ')).toContain('--option rapid_commit');
  });

  it('the bad line is named with file and line; the rest of the file applied', async () => {
    const st = await status();
    expect(st.problems).toEqual([
      "/media/etc/wifibox-agents.conf:5: error: relay_timeout = 'soon' is not valid; expected a number from 0.1 to 10 (seconds) (the default, 1, is used)",
    ]);
    const diag = await lab.guest([process.execPath, join(lab.opts.distDir, 'wifibox-diag.js'), '--json']);
    const report = JSON.parse(diag.stdout) as DiagReport;
    expect(report.problems.find((p) => p.id === 'init-config')?.evidence.join('\n')).toContain('wifibox-agents.conf:5');
  });
});
