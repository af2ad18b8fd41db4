// Things planted before an agent starts, at the paths it makes, binds, writes, reads or removes:
// a symlink is never followed (what it points to keeps its mode, content and existence), a socket a
// crash left is replaced, and a regular file or another user's folder is refused with an error that
// names it. The agents' real system.ts against temporary folders; no root needed.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatagramSocket } from '../../agents/common/unix-dgram';
import { processStartTime } from '../../agents/common/process';
import { writeBundle } from '../../agents/diag/bundle';
import { bundleFiles } from '../../agents/diag/bundle-files';
import { DEFAULTS as DIAG_DEFAULTS } from '../../agents/diag/options';
import type { DiagReport } from '../../agents/diag/report';
import { realSystem as diagSystem } from '../../agents/diag/system';
import { DEFAULTS as FORWARD_DEFAULTS, ForwardAgent } from '../../agents/forward/agent';
import { realSystem as forwardSystem } from '../../agents/forward/system';
import { DhcpcdService } from '../../agents/init/services/dhcpcd';
import { DaemonRecords } from '../../agents/init/services/records';
import type { ServiceContext } from '../../agents/init/services/service';
import { realSystem as initSystem } from '../../agents/init/system';
import { DEFAULTS as PASSTHRU_DEFAULTS, PassthruAgent } from '../../agents/passthru/agent';
import { realSystem as passthruSystem } from '../../agents/passthru/system';
import { waitFor } from '../../lab/proc';
import { capturingLogger } from '../helpers/log-lines';

let dir: string;
let victim: string;
const stops: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wbx-planted-'));
  // What a planted symlink points to: a folder of someone else's, mode 0755, with files in it.
  victim = join(dir, 'victim');
  mkdirSync(victim, { mode: 0o755 });
  chmodSync(victim, 0o755);
  writeFileSync(join(victim, 'precious'), 'precious\n');
  writeFileSync(join(victim, '1200-1-1'), 'named like a client socket\n');
});

afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
  rmSync(dir, { recursive: true, force: true });
});

/** The victim exactly as planted: its mode, its files and their content. */
function expectVictimUntouched(): void {
  expect(statSync(victim).mode & 0o777).toBe(0o755);
  expect(readdirSync(victim).sort()).toEqual(['1200-1-1', 'precious']);
  expect(readFileSync(join(victim, 'precious'), 'utf8')).toBe('precious\n');
}

const isRealDir = (path: string, mode: number) => lstatSync(path).isDirectory() && (lstatSync(path).mode & 0o777) === mode;

/** A socket file such as a crashed run leaves: bound, then closed without being removed. */
function staleSocket(path: string): void {
  const s = openDatagramSocket(() => undefined);
  s.bind(path);
  s.close();
  expect(lstatSync(path).isSocket()).toBe(true);
}

/** What a status endpoint answers, parsed. */
function readEndpoint(path: string, request?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let data = '';
    s.on('data', (d) => (data += d.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
    if (request !== undefined) s.end(request);
  });
}

/** A status endpoint that answers where a symlink was planted, mode 0600; what the link pointed to untouched. */
async function expectPrivateStatus(path: string, answer: object): Promise<void> {
  await waitFor('the status socket', () => existsSync(path) && lstatSync(path).isSocket(), 2000, 5);
  expect(lstatSync(path).mode & 0o777).toBe(0o600);
  expect(JSON.parse(await readEndpoint(path))).toMatchObject(answer);
  expectVictimUntouched();
}

/** Runs `fn` with umask 0, as an agent started carelessly would: the modes it sets must not depend on it. */
function withUmask0<T>(fn: () => T): T {
  const old = process.umask(0);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

/** A folder of another user: one made and given away as root, or else one that is root's already. */
function foreignDir(): string {
  if (process.getuid?.() !== 0) return '/';
  const d = join(dir, 'foreign');
  mkdirSync(d, { mode: 0o755 });
  chownSync(d, 65534, 65534);
  return d;
}

function passthru(runtimeDir: string, statusSocket = join(dir, 'passthru.sock')) {
  const conf = join(dir, 'uds_passthru.conf');
  writeFileSync(conf, 'network=\nsockets=""\n');
  const { log, out } = capturingLogger();
  const agent = new PassthruAgent({ ...PASSTHRU_DEFAULTS, config: conf, runtimeDir, statusSocket }, passthruSystem, log);
  return { agent, out, statusSocket };
}

describe('wifibox-passthru: its runtime folder and sockets', () => {
  it('a symlink at its runtime folder is removed, not followed: no chmod, listing or removal reaches the target', async () => {
    const runtimeDir = join(dir, 'wifibox-passthru');
    symlinkSync(victim, runtimeDir);
    const { agent, out } = passthru(runtimeDir);
    agent.start();
    stops.push(() => agent.stop());
    expect(isRealDir(runtimeDir, 0o700)).toBe(true);
    expectVictimUntouched();
    expect(out.join('\n')).toMatch(/runtime folder: removed a symbolic link to .*victim/);
    expect(agent.status().state).toBe('no-sockets');
    await agent.stop();
    expect(existsSync(runtimeDir)).toBe(false);
    expectVictimUntouched();
  });

  it('a client socket a crash left, or a symlink under such a name, is unlinked at start and never followed', async () => {
    const runtimeDir = join(dir, 'wifibox-passthru');
    mkdirSync(runtimeDir, { mode: 0o755 });
    staleSocket(join(runtimeDir, '1200-99-1'));
    symlinkSync(join(victim, '1200-1-1'), join(runtimeDir, '1200-99-2'));
    symlinkSync(victim, join(runtimeDir, '1201-99'));
    const { agent } = passthru(runtimeDir);
    agent.start();
    stops.push(() => agent.stop());
    expect(readdirSync(runtimeDir)).toEqual([]);
    expect(isRealDir(runtimeDir, 0o700)).toBe(true);
    expectVictimUntouched();
  });

  it("a regular file or another user's folder at its runtime folder is refused, and named", () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder\n');
    expect(() => passthru(file).agent.start()).toThrow(`${file} is a regular file, not a folder: refusing to use it; remove it`);
    expect(readFileSync(file, 'utf8')).toBe('not a folder\n');
    const foreign = foreignDir();
    const mode = statSync(foreign).mode;
    expect(() => passthru(foreign).agent.start()).toThrow(/belongs to user \d+, not to \d+: refusing to use it; remove it/);
    expect(statSync(foreign).mode).toBe(mode);
  });

  it('its status socket: made 0600 whatever the umask; a symlink or a stale socket there is replaced, never followed', async () => {
    const target = join(victim, 'precious');
    const { agent, statusSocket } = passthru(join(dir, 'rt'));
    symlinkSync(target, statusSocket);
    withUmask0(() => agent.start());
    stops.push(() => agent.stop());
    await expectPrivateStatus(statusSocket, { agent: 'wifibox-passthru', state: 'no-sockets' });
    await agent.stop();

    staleSocket(statusSocket);
    const again = passthru(join(dir, 'rt'), statusSocket);
    again.agent.start();
    stops.push(() => again.agent.stop());
    await waitFor('the status endpoint', () => readEndpoint(statusSocket).catch(() => null), 2000, 5);
    expect(lstatSync(statusSocket).mode & 0o777).toBe(0o600);
  });

  it("a regular file at its status socket's path is left alone, and the error names it", async () => {
    const statusSocket = join(dir, 'passthru.sock');
    writeFileSync(statusSocket, "someone's file\n");
    const { agent, out } = passthru(join(dir, 'rt'), statusSocket);
    agent.start();
    stops.push(() => agent.stop());
    await waitFor('the error', () => out.some((l) => l.includes('status endpoint failed')), 2000, 5);
    expect(out.join('\n')).toContain(`${statusSocket} is a regular file, not a socket: refusing to replace it; remove it`);
    expect(readFileSync(statusSocket, 'utf8')).toBe("someone's file\n");
    expect(agent.status().state).toBe('no-sockets');
  });
});

describe('wifibox-forward: its run folder and status socket', () => {
  it('a symlink at its run folder is removed, not followed; the socket is 0600 whatever the umask, and replaces a symlink', async () => {
    const config = join(dir, 'forwarding.conf');
    writeFileSync(config, '# nothing to forward\n');
    const runDir = join(dir, 'wifibox-forward');
    symlinkSync(victim, runDir);
    expect(forwardSystem.makeRunDir(runDir, null)).toMatch(/removed a symbolic link to .*victim/);
    expect(isRealDir(runDir, 0o700)).toBe(true);
    const statusSocket = join(runDir, 'status.sock');
    symlinkSync(join(victim, 'precious'), statusSocket);
    // user: null, so that a test run as root stays root (the drop itself is the lab's to test).
    const agent = new ForwardAgent({ ...FORWARD_DEFAULTS, config, runDir, statusSocket, user: null }, forwardSystem, pino({ level: 'silent' }));
    await withUmask0(() => agent.start());
    stops.push(() => agent.stop());
    await expectPrivateStatus(statusSocket, { agent: 'wifibox-forward', state: 'no-lines' });
  });
});

describe("wifibox-init: its run folder, endpoints, record of daemons, dhcpcd's leftovers", () => {
  it("a symlink at its run folder is removed, not followed; the hook's socket is 0600 and replaces a symlink", async () => {
    const runDir = join(dir, 'wifibox-init');
    symlinkSync(victim, runDir);
    expect(initSystem.makePrivateDir(runDir)).toMatch(/removed a symbolic link to .*victim/);
    expect(isRealDir(runDir, 0o700)).toBe(true);
    const hook = join(runDir, 'hook.sock');
    symlinkSync(join(victim, 'precious'), hook);
    const served = withUmask0(() => initSystem.serve({ path: hook, readRequest: true, maxRequest: 100, answer: (r) => `got ${r}` }, () => undefined));
    stops.push(() => served.close());
    await waitFor('the hook socket', () => existsSync(hook) && lstatSync(hook).isSocket(), 2000, 5);
    expect(lstatSync(hook).mode & 0o777).toBe(0o600);
    expect(await readEndpoint(hook, 'reason=BOUND')).toBe('got reason=BOUND');
    expectVictimUntouched();
  });

  describe('daemons.json, read at start to stop what a killed wifibox-init left', () => {
    let sleeper: ChildProcess;
    let start: string | null;
    let record: string;
    beforeEach(() => {
      // A process of the test's own, in a group of its own, that a record may name.
      sleeper = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
      stops.push(() => void sleeper.kill('SIGKILL'));
      start = processStartTime(sleeper.pid!);
      expect(start).not.toBeNull();
      record = JSON.stringify({ dhcpcd: { pid: sleeper.pid, start, takeover: 'SIGKILL' } });
    });
    /** Still running (not even a zombie), and still the process it was. */
    const alive = () => processStartTime(sleeper.pid!) === start;
    const records = (program: string) => new DaemonRecords(initSystem, dir, pino({ level: 'silent' }), { dhcpcd: program });

    it('the record finds the process it names, as a control: its PID, start time and program', async () => {
      writeFileSync(join(dir, 'daemons.json'), record);
      await records('/bin/sleep').reap();
      await waitFor('the recorded process to be stopped', () => !alive(), 3000, 10);
      expect(existsSync(join(dir, 'daemons.json'))).toBe(false);
    });

    it('a symlink at daemons.json is not followed, even to a record that would match', async () => {
      writeFileSync(join(victim, 'daemons.json'), record);
      symlinkSync(join(victim, 'daemons.json'), join(dir, 'daemons.json'));
      await records('/bin/sleep').reap();
      expect(alive()).toBe(true);
      expect(existsSync(join(dir, 'daemons.json'))).toBe(false);
      expect(readFileSync(join(victim, 'daemons.json'), 'utf8')).toBe(record);
    });

    it("a record naming another program's process, with its very PID and start time, gets it no signal", async () => {
      writeFileSync(join(dir, 'daemons.json'), record);
      await records('dhcpcd').reap();
      expect(alive()).toBe(true);
    });

    it('a new record replaces a symlink at daemons.json (or at its temp name) and never writes through it', () => {
      symlinkSync(join(victim, 'precious'), join(dir, 'daemons.json'));
      symlinkSync(join(victim, '1200-1-1'), join(dir, `daemons.json.tmp-${process.pid}`));
      records('dhcpcd').record('dhcpcd', sleeper.pid!, 'SIGKILL');
      expect(lstatSync(join(dir, 'daemons.json')).isFile()).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'daemons.json'), 'utf8'))).toMatchObject({ dhcpcd: { pid: sleeper.pid } });
      expect(readFileSync(join(victim, '1200-1-1'), 'utf8')).toBe('named like a client socket\n');
      expectVictimUntouched();
    });
  });

  it("dhcpcd's leftovers in its run folder: symlinks under their names are removed, their targets kept", () => {
    const runDir = join(dir, 'dhcpcd');
    mkdirSync(runDir);
    for (const f of ['wlan0.sock', 'wlan0.unpriv.sock']) symlinkSync(join(victim, 'precious'), join(runDir, f));
    symlinkSync(victim, join(runDir, 'wlan0.pid'));
    class Leftovers extends DhcpcdService {
      clean(): void {
        this.afterExit();
      }
    }
    const ctx = { opts: { dhcpcdRunDir: runDir }, sys: initSystem } as unknown as ServiceContext;
    new Leftovers(ctx, 'wlan0').clean();
    expect(readdirSync(runDir)).toEqual([]);
    expectVictimUntouched();
  });
});

describe('wifibox-diag: its private socket, and the files a bundle reads', () => {
  it('its control socket is made in a fresh 0700 folder of its own under --tmp-dir, whatever is planted there, and removed after', () => {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp, { mode: 0o1777 });
    symlinkSync(victim, join(tmp, 'wifibox-diag-ctrl'));
    staleSocket(join(tmp, 'wifibox-diag-stale'));
    const channel = withUmask0(() => diagSystem.openControl(join(dir, 'no-daemon'), tmp));
    const made = readdirSync(tmp).filter((e) => !['wifibox-diag-ctrl', 'wifibox-diag-stale'].includes(e));
    expect(made).toHaveLength(1);
    expect(isRealDir(join(tmp, made[0]!), 0o700)).toBe(true);
    expect(readdirSync(join(tmp, made[0]!))).toEqual(['ctrl']);
    channel.close();
    expect(readdirSync(tmp).sort()).toEqual(['wifibox-diag-ctrl', 'wifibox-diag-stale']);
    expectVictimUntouched();
  });

  it('symlinks where a rendered config belongs (in /tmp, where anyone can plant one) or in a config folder are not followed', () => {
    const shadow = join(victim, 'shadow');
    writeFileSync(shadow, 'root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n');
    const tmp = join(dir, 'tmp');
    const conf = join(dir, 'etc');
    mkdirSync(tmp);
    mkdirSync(conf);
    symlinkSync(shadow, join(tmp, 'udhcpd.conf'));
    symlinkSync(shadow, join(tmp, 'radvd.conf'));
    writeFileSync(join(conf, 'interfaces.conf'), 'auto lo\n');
    symlinkSync(shadow, join(conf, 'iptables'));
    symlinkSync(victim, join(conf, 'sub'));
    // The daemons' output files in wifibox-init's run folder: a planted symlink is not followed either.
    const run = join(dir, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'dhcpcd.out'), 'dhcpcd: no carrier\n');
    symlinkSync(shadow, join(run, 'udhcpd.out'));
    const opts = {
      ...DIAG_DEFAULTS,
      confDir: conf,
      tmpDir: tmp,
      initRunDir: run,
      wpaSupplicantConfDir: join(dir, 'none'),
      hostapdConfDir: join(dir, 'none'),
      syslogFile: join(dir, 'none'),
    };
    const daemons = [{ name: 'dhcpcd' }, { name: 'udhcpd' }, { name: '../escape' }];
    const report = { dhcp: { udhcpd: { config: join(tmp, 'udhcpd.conf') } }, agents: { init: { daemons } } } as DiagReport;
    const files = bundleFiles(diagSystem, opts, report);
    expect(files.map((f) => f.name).sort()).toEqual([
      'appliance/interfaces.conf',
      'appliance/iptables',
      'appliance/sub',
      'rendered/radvd.conf',
      'rendered/udhcpd.conf',
      'run/dhcpcd.out',
      'run/udhcpd.out',
    ]);
    const bundle = join(dir, 'bundle.tar.gz');
    const r = writeBundle(bundle, { report: 'report\n', json: {}, files });
    expect(r.missing.sort()).toEqual([join(conf, 'iptables'), join(conf, 'sub'), join(run, 'udhcpd.out'), join(tmp, 'radvd.conf'), join(tmp, 'udhcpd.conf')]);
    const tar = gunzipSync(readFileSync(bundle)).toString('latin1');
    expect(tar).toContain('auto lo');
    expect(tar).toContain('dhcpcd: no carrier');
    expect(tar).not.toContain('hashhashhash');
    expect(tar).not.toContain('precious');
  });
});
