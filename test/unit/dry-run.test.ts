// --dry-run of wifibox-passthru and wifibox-forward, as wifibox-init's: the config read and
// checked, the problems on stderr, the plan on stdout, exit 1 when the config has an error (or
// cannot be read) and 0 otherwise; nothing listens, nothing is bound, no file is made.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dryRun as forwardDryRun } from '../../agents/forward/dry-run';
import { formatForwardPlan, planForward } from '../../agents/forward/agent';
import { parseForwardConfig } from '../../agents/forward/config';
import { readOptions as forwardOptions } from '../../agents/forward/options';
import { dryRun as passthruDryRun } from '../../agents/passthru/dry-run';
import { readOptions as passthruOptions } from '../../agents/passthru/options';
import { startPassthru } from '../../agents/passthru/part';
import type { InterfaceAddress, PassthruSystem } from '../../agents/passthru/system';
import { REPO } from '../helpers/paths';

const ETH0: InterfaceAddress = { iface: 'eth0', address: '10.0.0.1', netmask: '255.255.255.0' };

/** Files in a map; a path that is not there cannot be read, as readFileSync says. */
function files(texts: Record<string, string>, addresses: InterfaceAddress[] = [ETH0]) {
  return {
    readText(path: string): string {
      const text = texts[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    ipv4Addresses: () => addresses,
  };
}

/** Runs a dry run, with what it printed on each stream. */
function run(dry: (out: (s: string) => void, err: (s: string) => void) => number) {
  let stdout = '';
  let stderr = '';
  const code = dry(
    (s) => void (stdout += s),
    (s) => void (stderr += s),
  );
  return { code, stdout, stderr };
}

const PASSTHRU_CONF = '/media/etc/uds_passthru.conf';
const passthru = (text: string | null, addresses?: InterfaceAddress[]) =>
  run((out, err) =>
    passthruDryRun({ config: PASSTHRU_CONF, lanInterface: 'eth0' }, files(text === null ? {} : { [PASSTHRU_CONF]: text }, addresses), out, err),
  );

describe('wifibox-passthru --dry-run', () => {
  it('is an option of the command, off unless given, and in --help', () => {
    expect(passthruOptions([])!.dryRun).toBe(false);
    expect(passthruOptions(['--dry-run', '--config', '/x'])).toMatchObject({ dryRun: true, agent: { config: '/x' } });
    let help = '';
    passthruOptions(['--help'], (s) => void (help += s));
    expect(help).toMatch(/^ {2}--dry-run +print the plan \(and any config problems\) and exit$/m);
  });

  it('a good config: the plan on stdout, nothing on stderr, exit 0', () => {
    expect(passthru('network=\nsockets="path=/var/run/wpa_supplicant/wlan0,port=1200"\n')).toEqual({
      code: 0,
      stdout: 'network  10.0.0.1/24: peers outside it are refused\nlisten   10.0.0.1:1200 → /var/run/wpa_supplicant/wlan0  (line 2)\n',
      stderr: '',
    });
  });

  it('before eth0 has an address: why it would wait, and the ports for later; still exit 0', () => {
    const r = passthru('sockets="path=/var/run/wpa_supplicant/wlan0,port=1200"\n', []);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('waiting  no IPv4 address on eth0 yet; waiting for one\nlater    port 1200 → /var/run/wpa_supplicant/wlan0  (line 1)\n');
  });

  it('an error: said on stderr with its line, the valid sockets still planned, exit 1; a warning alone exits 0', () => {
    const r = passthru('sockets="path=/var/run/wpa_supplicant/wlan0,port=1200\npath=relative,port=1201"\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${PASSTHRU_CONF}:2: error: socket path 'relative' is not absolute; expected a path starting with / (entry skipped)\n`);
    expect(r.stdout).toMatch(/^listen   10\.0\.0\.1:1200 → \/var\/run\/wpa_supplicant\/wlan0 {2}\(line 1\)$/m);
    expect(r.stdout).not.toMatch(/1201/);
    const warned = passthru('colour=blue\nsockets="path=/x/wlan0,port=1200"\n');
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^\/media\/etc\/uds_passthru\.conf:1: warning: unknown setting 'colour'/);
  });

  it('a config that cannot be read: said on stderr, nothing planned, exit 1', () => {
    expect(passthru(null)).toEqual({
      code: 1,
      stdout: 'none     no socket in the configuration: nothing listens\n',
      stderr: `${PASSTHRU_CONF}: cannot read: ENOENT\n`,
    });
  });

  it('is refused by the passthrough inside wifibox-init, before it touches anything', () => {
    const touched: string[] = [];
    const base = new Proxy({} as PassthruSystem, {
      get: (_, name) => () => void touched.push(String(name)),
    });
    expect(() => startPassthru(['--dry-run'], () => undefined, base)).toThrow(
      /^--dry-run is not an option of a running passthrough; expected it on the command: wifibox-passthru --dry-run$/,
    );
    expect(touched).toEqual([]);
  });
});

const FORWARD_CONF = '/media/etc/forwarding.conf';
const forward = (text: string | null) =>
  run((out, err) => forwardDryRun({ config: FORWARD_CONF }, files(text === null ? {} : { [FORWARD_CONF]: text }), out, err));

describe('wifibox-forward --dry-run', () => {
  it('is an option of the command, off unless given, and in --help', () => {
    expect(forwardOptions([])!.dryRun).toBe(false);
    expect(forwardOptions(['--dry-run'])!.dryRun).toBe(true);
    let help = '';
    forwardOptions(['--help'], (s) => void (help += s));
    expect(help).toMatch(/^ {2}--dry-run +print the plan \(and any config problems\) and exit$/m);
  });

  it('a good file: each line as it is understood on stdout, exit 0', () => {
    const r = forward(
      '# the sample\nUDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223\n' +
        '-u TCP4-LISTEN:8080,bind=192.168.77.2,range=192.168.77.0/24,fork,reuseaddr TCP4:10.0.0.2:8080\n',
    );
    expect(r).toEqual({
      code: 0,
      stdout:
        'open     line 2: udp-recv 0.0.0.0:11223 → udp 10.0.0.2:11223\n' +
        'open     line 3: tcp-listen 192.168.77.2:8080 → tcp 10.0.0.2:8080  (fork, range 192.168.77.0/24, one way)\n',
      stderr: '',
    });
  });

  it('a line that cannot be served: said on stderr, the others still planned, exit 1; a warning alone exits 0', () => {
    const r = forward('EXEC:/bin/sh UDP4:10.0.0.2:1\nUDP4-RECV:11223 UDP4:10.0.0.2:11223\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\/media\/etc\/forwarding\.conf:1: error: address type EXEC runs a program/);
    expect(r.stdout).toBe('open     line 2: udp-recv 0.0.0.0:11223 → udp 10.0.0.2:11223\n');
    const warned = forward('-d UDP4-RECV:11223 UDP4:10.0.0.2:11223\n');
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/forwarding\.conf:1: warning: socat option -d/);
  });

  it('a file that cannot be read, or with no line: said, nothing planned; exit 1 and 0', () => {
    expect(forward(null)).toEqual({
      code: 1,
      stdout: 'none     no line in the configuration: nothing is served\n',
      stderr: `${FORWARD_CONF}:0: error: cannot read (ENOENT); expected the file forwarding.conf\n`,
    });
    expect(forward('# nothing yet\n')).toEqual({ code: 0, stdout: 'none     no line in the configuration: nothing is served\n', stderr: '' });
  });

  it('the plan as printed says what a reload closes and keeps too', () => {
    const { lines } = parseForwardConfig('UDP4-RECV:1 UDP4:10.0.0.2:1\nUDP4-RECV:2 UDP4:10.0.0.2:2\n', FORWARD_CONF);
    expect(formatForwardPlan(planForward(lines, new Set(['UDP4-RECV:1 UDP4:10.0.0.2:1', 'UDP4-RECV:3 UDP4:10.0.0.2:3'])))).toBe(
      'close    UDP4-RECV:3 UDP4:10.0.0.2:3\n' +
        'keep     line 1: udp-recv 0.0.0.0:1 → udp 10.0.0.2:1\n' +
        'open     line 2: udp-recv 0.0.0.0:2 → udp 10.0.0.2:2\n',
    );
  });
});

// The commands themselves: --dry-run exits with the plan's status before any logger, socket or
// signal handler is set up.
describe('the commands with --dry-run', () => {
  let dir = '';
  const bundles = new Map<string, string>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wifibox-dry-run-'));
    for (const agent of ['passthru', 'forward']) {
      const out = await build({
        entryPoints: [join(REPO, 'agents', agent, 'main.ts')],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        write: false,
        logLevel: 'silent',
      });
      const file = join(dir, `${agent}.js`);
      writeFileSync(file, out.outputFiles[0]!.contents);
      bundles.set(agent, file);
    }
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const command = (agent: string, config: string, text: string, ...args: string[]) => {
    const file = join(dir, config);
    writeFileSync(file, text);
    // No syslog socket there: an agent that started would log to stdout, and it would not exit.
    const argv = ['--dry-run', '--config', file, '--status-socket', join(dir, 'no', 'status.sock'), '--syslog', join(dir, 'no', 'log'), ...args];
    return spawnSync(process.execPath, [bundles.get(agent)!, ...argv], { encoding: 'utf8', timeout: 10_000 });
  };

  it('wifibox-passthru: exit 0 with the plan, 1 with an error', () => {
    // A LAN interface this machine cannot have: the port waits, whatever addresses it has.
    const good = command('passthru', 'good.conf', 'network=\nsockets="path=/x/wlan0,port=1200"\n', '--lan-interface', 'wbx-none0');
    expect([good.status, good.stdout, good.stderr]).toEqual([
      0,
      'waiting  no IPv4 address on wbx-none0 yet; waiting for one\nlater    port 1200 → /x/wlan0  (line 2)\n',
      '',
    ]);
    const bad = command('passthru', 'bad.conf', 'sockets="path=/x/wlan0,port=99999"\n');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad\.conf:1: error: socket port '99999' is invalid/);
  });

  it('wifibox-forward: exit 0 with the plan, 1 with an error', () => {
    const good = command('forward', 'good.fwd', 'UDP4-RECV:11223 UDP4:10.0.0.2:11223\n');
    expect([good.status, good.stdout, good.stderr]).toEqual([0, 'open     line 1: udp-recv 0.0.0.0:11223 → udp 10.0.0.2:11223\n', '']);
    const bad = command('forward', 'bad.fwd', 'SYSTEM:true UDP4:10.0.0.2:1\n');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad\.fwd:1: error: /);
  });
});
