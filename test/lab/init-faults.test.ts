// Acceptance 8 of the init orchestrator: a malformed file gives an error with file:line and what
// was expected, and everything that does not depend on it still comes up. A broken firewall
// keeps forwarding off (no routing without the NAT the user asked for).
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { InitStatus } from '../../agents/common/status';
import type { Lab } from '../../lab/lab';
import { LAB_PCI_DEVICE } from '../../lab/guest';
import { waitFor, type LabProcess } from '../../lab/proc';
import { initStatus, stepOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;
let n = 0;

labForFile(
  { flavor: 'wpa_supplicant', configureGuest: false },
  async (l) => {
    lab = l;
    await lab.startWirelessNetwork();
  },
  30,
);

/** Runs the orchestrator on a copy of /media/etc with one file changed; returns its settled status. */
async function runWith(file: string, change: (text: string) => string): Promise<{ st: InitStatus; dir: string; init: LabProcess }> {
  const dir = `/run/conf-${++n}`;
  cpSync(lab.guestPath('/media/etc'), lab.guestPath(dir), { recursive: true });
  const path = lab.guestPath(`${dir}/${file}`);
  writeFileSync(path, change(readFileSync(path, 'utf8')));
  const init = lab.startInit(['--conf-dir', dir], `init-${n}`);
  const st = await waitFor(
    'every step to settle',
    async () => {
      const s = await initStatus(lab);
      return s.configDir === dir && s.steps.every((x) => x.state !== 'pending' && x.state !== 'running') ? s : null;
    },
    15_000,
  );
  return { st, dir, init };
}

async function stop(init: LabProcess): Promise<void> {
  process.kill(init.pid, 'SIGTERM');
  expect(await init.exited).toBe(0);
  // A stop that is not a shutdown (a service restart) keeps the wireless card.
  expect(readFileSync(lab.guestPath(`${LAB_PCI_DEVICE}/remove`), 'utf8')).toBe('');
}

const forwardingOn = async () => (await lab.guestSysctl('net.ipv4.ip_forward')) === '1';

describe('wifibox-init with malformed configuration', () => {
  it('8a. rules iptables-restore rejects: file:line, forwarding stays off, the rest comes up', async () => {
    const { st, dir, init } = await runWith('iptables', (t) => t.replace('-j MASQUERADE', '-j MASQUERAD'));
    expect(stepOf(st, 'firewall')).toMatchObject({ state: 'failed' });
    // iptables-nft names the COMMIT of the table it could not load, iptables-legacy the rule itself.
    const lines = readFileSync(lab.guestPath(`${dir}/iptables`), 'utf8').split('\n');
    const rule = lines.findIndex((l) => l.includes('MASQUERAD')) + 1;
    const why = stepOf(st, 'firewall').why ?? '(no why)';
    const m = new RegExp(`${dir}/iptables:(\\d+): iptables-restore rejected the rules: .*MASQUERAD`).exec(why);
    expect(m, why).not.toBeNull();
    expect([rule, rule + 1]).toContain(Number(m![1]));
    expect(stepOf(st, 'forwarding')).toMatchObject({ state: 'blocked' });
    expect(await forwardingOn()).toBe(false);
    expect(st.forwarding.v4).toBe(false);
    for (const id of ['iface:eth0', 'iface:wlan0', 'udhcpd', 'dhcpcd', 'sysctl']) expect(stepOf(st, id).state).toBe('ok');
    await stop(init);
  });

  it('8b. a rules file that is not iptables-restore input: file:line and what was expected; forwarding off', async () => {
    const { st, dir, init } = await runWith('iptables', (t) => t.replace(/COMMIT\s*$/, ''));
    expect(st.problems.join('\n')).toMatch(new RegExp(`${dir}/iptables:\\d+: error: .*COMMIT`));
    expect(stepOf(st, 'firewall').state).toBe('failed');
    expect(stepOf(st, 'forwarding').state).toBe('blocked');
    expect(await forwardingOn()).toBe(false);
    expect(stepOf(st, 'udhcpd').state).toBe('ok');
    await stop(init);
  });

  it('8c. a malformed udhcpd.conf: file:line; no udhcpd, everything else up and routing', async () => {
    const { st, dir, init } = await runWith('udhcpd.conf', (t) => t.replace(/opt\s+lease\s+864000/, 'opt lease forever'));
    const line =
      readFileSync(lab.guestPath(`${dir}/udhcpd.conf`), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('forever')) + 1;
    expect(st.problems.join('\n')).toMatch(new RegExp(`${dir}/udhcpd\\.conf:${line}: error: `));
    expect(st.steps.map((s) => s.id)).not.toContain('udhcpd');
    for (const id of ['firewall', 'forwarding', 'iface:eth0', 'iface:wlan0', 'dhcpcd']) expect(stepOf(st, id).state).toBe('ok');
    expect(await forwardingOn()).toBe(true);
    await stop(init);
  });

  it('8d. a broken line in sysctl.conf: file:line; every other value is still written', async () => {
    const { st, dir, init } = await runWith('sysctl.conf', (t) => `${t}\nthis is not a sysctl line\n`);
    const line =
      readFileSync(lab.guestPath(`${dir}/sysctl.conf`), 'utf8')
        .split('\n')
        .findIndex((l) => l.startsWith('this is not')) + 1;
    expect(st.problems.join('\n')).toMatch(new RegExp(`${dir}/sysctl\\.conf:${line}: error: `));
    expect(stepOf(st, 'sysctl').state).toBe('ok');
    expect(await lab.guestSysctl('net.ipv4.tcp_syncookies')).toBe('1');
    expect(await lab.guestSysctl('net.ipv4.conf.all.accept_redirects')).toBe('0');
    await stop(init);
  });

  it('8e. a bad address in interfaces.conf: file:line; the wireless side and the firewall still come up', async () => {
    const { st, dir, init } = await runWith('interfaces.conf', (t) => t.replace('address 10.0.0.1', 'address 10.0.0.300'));
    const line =
      readFileSync(lab.guestPath(`${dir}/interfaces.conf`), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('10.0.0.300')) + 1;
    expect(st.problems.join('\n')).toMatch(new RegExp(`${dir}/interfaces\\.conf:${line}: error: .*10\\.0\\.0\\.300`));
    for (const id of ['firewall', 'forwarding', 'iface:wlan0', 'dhcpcd']) expect(stepOf(st, id).state).toBe('ok');
    await stop(init);
  });
});
