// Issue 11 in the lab: things planted in the guest's /run before the agents start (symlinks at their
// folders and sockets, a stale socket, a run folder left 0755, a record naming a stranger), who may
// reach their endpoints, what the wireless side and the LAN side can reach, and secrets planted in
// the configs and in the host's wpa_cli requests, looked for in every agent's log at debug level
// and in a diag bundle made from the daemon's own debug log.
import { appendFileSync, chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GUEST_PATHS } from '../../agents/common/paths';
import { openDatagramSocket } from '../../agents/common/unix-dgram';
import { DIAG_LAB_ARGS, writeDiagStandIns } from '../../lab/diag-guest';
import type { Lab } from '../../lab/lab';
import { isSameProcess, waitFor, type LabProcess } from '../../lab/proc';
import { forwardStatus, initStatus, lineOf, passthruStatus, portOf, relayOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;
let init: LabProcess;
let passthru: LabProcess;
let forward: LabProcess;
let wpa: LabProcess;
let stranger: LabProcess;
let bridge: { dir: string };
/** The host's address, from the guest's udhcpd. */
let hostIp: string;

const VICTIM = '/run/lab-victim';
// wifibox-init's hook socket is in its run folder (agents/init/part.ts).
const SOCKETS = [GUEST_PATHS.initStatusSocket, `${GUEST_PATHS.initRunDir}/hook.sock`, GUEST_PATHS.passthruStatusSocket, GUEST_PATHS.forwardStatusSocket];

/** Secrets planted in the configs and in the host's requests: none may appear in a log line. */
const SECRET = {
  confPsk: 'PLANTED-conf-psk-5e1',
  ifacePsk: 'PLANTED-iface-psk-9c2',
  proxyPassword: 'PLANTED-proxy-pw-7a8',
  requestPsk: 'PLANTED-req-psk-2b6',
  requestPassword: 'PLANTED-req-password-4f0',
  credentialReply: 'PLANTED-rsp-pw-8e3',
  wpsPin: '48151623',
  wpsRegPin: '48151624',
  oversized: 'PLANTED-oversized-1a9',
};

const forwarding = (host: string) =>
  [
    // No bind=: every address, the LAN side's too; range= keeps the host out.
    `TCP4-LISTEN:8090,range=192.168.77.0/24,fork,reuseaddr TCP4:${host}:8090`,
    `TCP4-LISTEN:3128,fork PROXY:${host}:example.org:443,proxyauth=alice:${SECRET.proxyPassword}`,
    '',
  ].join('\n');

// Small clients run with node in a namespace; each prints one word.
const node = (code: string, ...args: string[]) => [process.execPath, '-e', code, ...args];
/** A DNS question over TCP: 'answered', 'closed' (no answer), or the connect error's code. */
const DNS_OVER_TCP = `
const q = Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 119, 119, 119, 0, 0, 1, 0, 1]);
const s = require('node:net').connect(53, process.argv[1]);
s.on('connect', () => s.write(Buffer.concat([Buffer.from([0, q.length]), q])));
s.on('data', () => { console.log('answered'); process.exit(0); });
s.on('close', () => { console.log('closed'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(0); });
`;
/** What a TCP server says first, or the error's code. */
const TCP_SAYS = `
const c = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
let got = ''; c.on('data', (d) => (got += d));
c.on('end', () => { console.log(got.trim() || 'empty'); process.exit(0); });
c.on('error', (e) => { console.log(e.code); process.exit(0); });
`;
/** Connects to a UNIX socket: 'connected' or the error's code. */
const UNIX_CONNECT = `
require('node:net').connect(process.argv[1]).on('connect', () => { console.log('connected'); process.exit(0); })
  .on('error', (e) => { console.log(e.code); process.exit(0); });
`;
const HOST_SERVICE = `require('node:net').createServer((s) => s.end('host service\\n')).listen(8090, '0.0.0.0', () => console.log('ready'));`;

const g = (p: string) => lab.guestPath(p);
const readFileSafe = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

/** The victim a symlink points to: a folder (0755) with two files, exactly as planted. */
function expectVictimUntouched(): void {
  expect(statSync(g(VICTIM)).mode & 0o777).toBe(0o755);
  expect(readdirSync(g(VICTIM)).sort()).toEqual(['1200-1-1', 'precious']);
  expect(readFileSync(g(`${VICTIM}/precious`), 'utf8')).toBe('precious\n');
}

function plant(): void {
  mkdirSync(g(VICTIM), { mode: 0o755 });
  chmodSync(g(VICTIM), 0o755);
  writeFileSync(g(`${VICTIM}/precious`), 'precious\n');
  writeFileSync(g(`${VICTIM}/1200-1-1`), 'named like a client socket\n');
  for (const d of ['/run/wifibox-passthru', '/run/wifibox-forward']) symlinkSync(VICTIM, g(d));
  symlinkSync(`${VICTIM}/precious`, g('/run/wifibox-passthru.sock'));
  // A run folder someone left open, with a symlink at the hook's socket and a record naming a stranger.
  mkdirSync(g('/run/wifibox-init'), { mode: 0o755 });
  chmodSync(g('/run/wifibox-init'), 0o755);
  symlinkSync(`${VICTIM}/precious`, g('/run/wifibox-init/hook.sock'));
  writeFileSync(g('/run/wifibox-init/daemons.json'), JSON.stringify({ udhcpd: { pid: stranger.pid, start: stranger.start, takeover: 'SIGKILL' } }));
  // A crashed init's status socket.
  const stale = openDatagramSocket(() => undefined);
  stale.bind(g('/run/wifibox-init.sock'));
  stale.close();
}

labForFile(
  { flavor: 'wpa_supplicant', configureGuest: false },
  async (l) => {
    lab = l;
    appendFileSync(
      join(lab.dir, 'app', 'wpa_supplicant.conf'),
      `network={\n\tssid="secret-net"\n\tkey_mgmt=WPA-PSK\n\tpsk="${SECRET.confPsk}"\n\tdisabled=1\n}\n`,
    );
    appendFileSync(join(lab.dir, 'appliance', 'interfaces.conf'), `  wpa-ssid secret-net\n  wpa-psk ${SECRET.ifacePsk}\n`);
    stranger = lab.startInGuest('stranger', ['sleep', '600']);
    plant();
    await lab.startWirelessNetwork();
    init = lab.startInit();
    const dhcp = lab.startDhcpClient('host', 'wifibox0');
    wpa = await lab.startWirelessDaemon();
    passthru = await lab.startPassthru();
    hostIp = await waitFor("the host's lease", () => /"event":"bound".*?"ip":"([\d.]+)"/.exec(readFileSafe(dhcp.events))?.[1], 15_000, 100);
    writeFileSync(join(lab.dir, 'appliance', 'forwarding.conf'), forwarding(hostIp));
    forward = lab.startForward(['--loglevel', 'debug']);
    bridge = await lab.startHostBridge(1200, 'wlan0');
    const host = lab.startInHost('host-service', node(HOST_SERVICE));
    await waitFor('the host service', () => host.output().includes('ready'), 10_000);
    await waitFor('the wireless lease', async () => (await initStatus(lab, 2000)).lease?.address, 30_000, 200);
    await waitFor('wifibox-forward to listen', async () => (await forwardStatus(lab, 2000)).lines[0]?.listening, 10_000, 100);
  },
  80,
);

describe('planted in /run before the agents started', () => {
  it('nothing planted was followed or signalled; the agents run on folders and sockets of their own', async () => {
    expectVictimUntouched();
    expect(isSameProcess(stranger)).toBe(true);
    for (const dir of ['/run/wifibox-passthru', '/run/wifibox-init', '/run/wifibox-forward']) {
      expect(lstatSync(g(dir)).isDirectory(), dir).toBe(true);
      expect(lstatSync(g(dir)).mode & 0o777, dir).toBe(0o700);
    }
    for (const s of SOCKETS) {
      expect(lstatSync(g(s)).isSocket(), s).toBe(true);
      expect(lstatSync(g(s)).mode & 0o777, s).toBe(0o600);
    }
    expect(passthru.output()).toMatch(/runtime folder: removed a symbolic link to \/run\/lab-victim/);
    expect(forward.output()).toMatch(/run folder: removed a symbolic link to \/run\/lab-victim/);
    expect((await lab.hostCli(['ping'], { timeoutMs: 15_000 }, bridge.dir)).stdout.trim()).toBe('PONG');
    expect((await initStatus(lab)).steps.filter((s) => s.state !== 'ok')).toEqual([]);
    expect((await forwardStatus(lab)).state).toBe('serving');
    expect((await passthruStatus(lab)).state).toBe('serving');
  });

  it("their endpoints are root's alone: another user cannot connect to any of them", async () => {
    for (const s of SOCKETS) {
      const r = await lab.guest(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node(UNIX_CONNECT, s)]);
      expect(r.stdout.trim(), s).toBe('EACCES');
      expect((await lab.guest(node(UNIX_CONNECT, s))).stdout.trim(), s).toBe('connected');
    }
  });
});

describe('who reaches what', () => {
  it('the DNS relay over TCP: no guest address answers the wireless side; the host is answered', async () => {
    const before = relayOf(await initStatus(lab)).counters;
    // Dropped unanswered: a FIN, or a reset when the query was already in the relay's buffer (which
    // comes first is the kernel's race, and either way nothing is answered).
    expect(['closed', 'ECONNRESET']).toContain((await lab.air(node(DNS_OVER_TCP, '10.0.0.1'))).stdout.trim());
    expect((await lab.air(node(DNS_OVER_TCP, lab.addr.guestWlan0))).stdout.trim()).toBe('ECONNREFUSED');
    const after = relayOf(await initStatus(lab)).counters;
    expect(after.droppedOutsidePeer).toBe(before.droppedOutsidePeer + 1);
    expect(after.tcpQueries).toBe(before.tcpQueries);
    expect((await lab.host(node(DNS_OVER_TCP, '10.0.0.1'))).stdout.trim()).toBe('answered');
  });

  it('wifibox-forward: a line without bind= listens on the LAN side too, and its range= refuses the host there', async () => {
    const line = async () => lineOf(await forwardStatus(lab), 1);
    expect(await line()).toMatchObject({ listen: '0.0.0.0:8090', range: '192.168.77.0/24', listening: true });
    expect((await lab.host(node(TCP_SAYS, lab.addr.guestEth0, '8090'))).stdout.trim()).toBe('ECONNRESET');
    expect(await line()).toMatchObject({ counters: { refusedPeer: 1, connections: 0 }, lastRefused: { peer: hostIp } });
    expect((await lab.air(node(TCP_SAYS, lab.addr.guestWlan0, '8090'))).stdout.trim()).toBe('host service');
  });
});

describe('no secret in a log line', () => {
  it("the host's wpa_cli sends credentials, PINs and an oversized request through the passthrough", async () => {
    const cli = (...args: string[]) => lab.hostCli(args, { timeoutMs: 15_000 }, bridge.dir);
    const net = (await cli('list_networks')).stdout
      .split('\n')
      .find((x) => x.includes('secret-net'))!
      .split('\t')[0]!;
    expect((await cli('set_network', net, 'psk', `"${SECRET.requestPsk}"`)).stdout.trim()).toBe('OK');
    expect((await cli('set_network', net, 'password', `"${SECRET.requestPassword}"`)).stdout.trim()).toBe('OK');
    await cli('password', net, SECRET.credentialReply);
    await cli('wps_check_pin', SECRET.wpsPin);
    await cli('wps_pin', 'any', SECRET.wpsPin);
    await cli('wps_reg', '02:00:00:00:00:01', SECRET.wpsRegPin);
    await cli('wps_cancel');
    const big = `SET_NETWORK ${net} psk "${SECRET.oversized}${'x'.repeat(9000)}"`;
    expect((await lab.host(['socat', '-t', '2', '-', `TCP4:${lab.addr.guestEth0}:1200`], { input: big, timeoutMs: 10_000 })).stdout).toBe('FAIL\n');
    // The daemon's own debug log has the PINs in clear, as every command it gets: the bundle below.
    await waitFor("the WPS commands in wpa_supplicant's log", () => wpa.output().includes(`WPS_REG 02:00:00:00:00:01 ${SECRET.wpsRegPin}`), 5000);
    expect(portOf(await passthruStatus(lab), 1200).counters.oversized).toBe(1);
  });

  it("in wifibox-init's, wifibox-passthru's and wifibox-forward's logs at debug level", () => {
    const logs = { init: init.output(), passthru: passthru.output(), forward: forward.output() };
    // What was read is there: the planted lines, named by file and line (the key only), and debug records.
    expect(logs.init).toMatch(/interfaces\.conf:\d+: warning: option 'wpa-psk' is not supported/);
    expect(logs.forward).toMatch(/forwarding\.conf:2: error: address type 'PROXY' is not supported/);
    expect(logs.passthru).toMatch(/"level":20,.*"msg":"closing connection"/);
    for (const [name, text] of Object.entries(logs)) {
      expect(text.split('\n').length, name).toBeGreaterThan(3);
      for (const secret of Object.values(SECRET)) expect(text.includes(secret), `${secret} in ${name}'s log`).toBe(false);
    }
  });

  it("in a diag bundle made in the guest from the configs and the daemon's own debug log as syslog", async () => {
    writeDiagStandIns(lab);
    writeFileSync(g('/run/messages'), [wpa.output(), init.output(), passthru.output(), forward.output()].join('\n'));
    const r = await lab.guest([process.execPath, join(lab.opts.distDir, 'wifibox-diag.js'), 'bundle', '/run/bundle.tar.gz', ...DIAG_LAB_ARGS], {
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const tar = gunzipSync(readFileSync(g('/run/bundle.tar.gz'))).toString('latin1');
    // The daemon's lines are there, with what they carried redacted.
    expect(tar).toContain(`Control interface command 'WPS_PIN <redacted>`);
    expect(tar).toContain('psk="<redacted>"');
    expect(tar).toContain('proxyauth=<redacted>');
    for (const secret of Object.values(SECRET)) expect(tar.includes(secret), secret).toBe(false);
  });
});
