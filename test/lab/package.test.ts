// The package's data, unpacked into a temporary root, runs in the
// lab guest under real OpenRC (Debian's openrc-run and supervise-daemon, in the guest's own
// mount namespace with its own /run): start, status, a respawn after kill -9, stop.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lab } from '../../lab/lab';
import { pidsIn } from '../../lab/namespaces';
import { packageRoot } from '../../lab/package-root';
import { waitFor } from '../../lab/proc';
import { initStatus, passthruStatus, portOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;
let tmp: string;
let version: string;
/** The unpacked package, and the lab's etc/ files for its services. */
let root: string;
let etc: string;

const rc = (svc: string, cmd: string) => lab.guest([`/etc/init.d/${svc}`, cmd], { timeoutMs: 60_000 });
// A guest process may end between the namespace's PID list and this read: it has no command line.
const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
};

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'wbx-pkg-'));
  ({ root, etc, version } = await packageRoot(tmp));
}, 180_000);

// After the lab's own teardown (afterAll hooks run last registered, first).
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

labForFile(
  { flavor: 'wpa_supplicant', configureGuest: false },
  async (l) => {
    lab = l;
    await lab.startWirelessNetwork();
    await lab.startWirelessDaemon();
    await lab.installInGuest(root, etc);
    await lab.prepareOpenrc();
  },
  30,
);

describe('the package under OpenRC in the lab guest', () => {
  it("3/4. starting uds_passthru starts wifibox-init first (need wifibox-init); the passthrough runs in wifibox-init's runtime", async () => {
    const r = await rc('uds_passthru', 'start');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Starting wifibox-init/);
    expect((await rc('wifibox-init', 'status')).code).toBe(0);
    expect((await rc('uds_passthru', 'status')).code).toBe(0);
    const p = await waitFor('the passthru status', () => passthruStatus(lab).catch(() => null), 10_000);
    expect(p.version).toMatch(new RegExp(`^${version.replace(/\./g, '\\.')}\\+`));
    // supervise-daemon reports "started" once it has forked: the agent's endpoint comes after.
    const i = await waitFor('the init status', () => initStatus(lab).catch(() => null), 10_000);
    expect(cmdline(i.pid)).toContain('/usr/lib/wifibox-agents/wifibox-init.js');
    // One runtime for both parts: no other node in the guest.
    expect(p.pid).toBe(i.pid);
    const nodes = (await pidsIn(lab.ns.guest)).filter((pid) => /^\S*node /.test(cmdline(pid)));
    expect(nodes).toEqual([i.pid]);
  }, 90_000);

  it('3. rc-service uds_passthru stop and start switch the passthrough off and on, and the network is not touched', async () => {
    const before = await initStatus(lab);
    expect((await rc('uds_passthru', 'stop')).code).toBe(0);
    await waitFor('nothing on port 1200', async () => !(await lab.guest(['ss', '-Htln', 'sport = :1200'])).stdout.includes(':1200'), 10_000, 100);
    await expect(passthruStatus(lab, 1000)).rejects.toThrow();
    const r = await rc('uds_passthru', 'start');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await waitFor('port 1200 listening again', async () => portOf(await passthruStatus(lab), 1200).listening, 15_000, 100);
    const after = await initStatus(lab);
    expect(after.pid).toBe(before.pid);
    expect(after.daemons.map((d) => [d.name, d.pid])).toEqual(before.daemons.map((d) => [d.name, d.pid]));
    expect(after.steps.every((x) => x.state === 'ok')).toBe(true);
  }, 60_000);

  it('3. the passthrough round trip works through the packaged agent', async () => {
    await waitFor('port 1200 listening', async () => portOf(await passthruStatus(lab), 1200).listening, 15_000);
    // The host gets its address from the packaged orchestrator's udhcpd, as a real host does.
    const dhcp = lab.startDhcpClient('host', 'wifibox0');
    await waitFor("the host's lease", () => readFileSync(dhcp.events, 'utf8').includes('"bound"'), 15_000, 100);
    const bridge = await lab.startHostBridge(1200, 'wlan0');
    const ping = await lab.hostCli(['ping'], { timeoutMs: 15_000 }, bridge.dir);
    expect(ping.stdout.trim()).toBe('PONG');
  }, 60_000);

  it('4. supervise-daemon respawns wifibox-init after kill -9: the new runtime takes its daemons over and runs the passthrough again', async () => {
    const init = await initStatus(lab);
    const daemons = init.daemons.map((d) => d.pid);
    process.kill(init.pid, 'SIGKILL');
    const again = await waitFor(
      'a new wifibox-init with its daemons',
      async () => {
        const st = await initStatus(lab).catch(() => null);
        return st && st.pid !== init.pid && st.daemons.length === 2 && st.daemons.every((d) => d.state === 'running') ? st : null;
      },
      20_000,
      100,
    );
    // The daemons the killed orchestrator left were stopped, not doubled.
    for (const pid of daemons) expect(await waitFor(`old daemon ${pid} gone`, () => !readdirSafe(`/proc/${pid}`), 5000)).toBe(true);
    expect(again.daemons.every((d) => !daemons.includes(d.pid))).toBe(true);
    expect((await rc('wifibox-init', 'status')).code).toBe(0);
    const p = await waitFor(
      'the passthrough in the new runtime',
      async () => {
        const st = await passthruStatus(lab).catch(() => null);
        return st?.pid === again.pid && portOf(st, 1200).listening ? st : null;
      },
      15_000,
      100,
    );
    expect(p.state).toBe('serving');
  }, 60_000);

  it('4. stop: both services stopped, nothing of theirs left in the guest', async () => {
    expect((await rc('uds_passthru', 'stop')).code).toBe(0);
    expect((await rc('wifibox-init', 'stop')).code).toBe(0);
    expect((await rc('uds_passthru', 'status')).code).not.toBe(0);
    expect((await rc('wifibox-init', 'status')).code).not.toBe(0);
    const left = (await pidsIn(lab.ns.guest)).map((pid) => cmdline(pid));
    expect(left.filter((c) => /wifibox|udhcpd|dhcpcd|supervise-daemon/.test(c))).toEqual([]);
  }, 60_000);
});

function readdirSafe(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}
