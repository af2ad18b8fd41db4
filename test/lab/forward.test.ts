// wifibox-forward in the lab guest (station flavor, static addresses): a discovery broadcast on
// the wireless network reaches the host through a sample-style UDP4-RECV line; a TCP port on
// wlan0's address reaches a service on the host; UDP-LISTEN,fork carries replies back; a line it
// cannot serve is named with its line number and skipped; no socat runs in the guest; wifibox-diag
// shows it; SIGHUP and SIGTERM.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiagReport } from '../../agents/diag/report';
import { DIAG_LAB_ARGS, writeDiagStandIns } from '../../lab/diag-guest';
import type { Lab } from '../../lab/lab';
import { pidsIn } from '../../lab/namespaces';
import { waitFor, type LabProcess } from '../../lab/proc';
import { packageCommand } from '../../lab/paths';
import { forwardStatus, lineOf } from '../../lab/status';
import { labForFile } from '../helpers/lab-file';

let lab: Lab;
let forward: LabProcess;
let host: LabProcess;

const CONF = [
  "# lab: the sample's two lines, a host service on wlan0 only, and one line it cannot serve",
  'UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223',
  'UDP-LISTEN:11224,broadcast,fork,reuseaddr UDP:10.0.0.2:11224',
  'TCP4-LISTEN:8080,bind=192.168.77.2,range=192.168.77.0/24,fork,reuseaddr TCP4:10.0.0.2:8080',
  'TCP4-LISTEN:8081,fork EXEC:/bin/sh',
  '',
].join('\n');

// The host's side: what a discovery broadcast is for, a UDP service that answers, a TCP service.
const HOST_SERVICES = `
const dgram = require('node:dgram'), net = require('node:net');
const log = (o) => console.log(JSON.stringify(o));
const discovery = dgram.createSocket('udp4');
discovery.on('message', (m, from) => log({ discovery: m.toString(), from: from.address }));
discovery.bind(11223, '10.0.0.2');
const echo = dgram.createSocket('udp4');
echo.on('message', (m, from) => echo.send('host answers ' + m, from.port, from.address));
echo.bind(11224, '10.0.0.2');
net.createServer((s) => s.end('host service sees ' + s.remoteAddress + '\\n')).listen(8080, '10.0.0.2', () => log({ ready: true }));
`;

/** From the wireless network: one broadcast datagram, as a LAN-discovery client sends it. */
const BROADCAST = `
const s = require('node:dgram').createSocket('udp4');
s.bind(() => { s.setBroadcast(true); s.send(process.argv[1], 11223, '192.168.77.255', () => s.close()); });
`;
/** From the wireless network: a datagram to the guest and the answer, or nothing within a second. */
const ASK_UDP = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m) => { console.log(m.toString()); process.exit(0); });
s.send(process.argv[1], 11224, '192.168.77.2');
setTimeout(() => process.exit(1), 1000);
`;
/** A TCP client: what the server says, or the error code. */
const ASK_TCP = `
const c = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
let got = ''; c.on('data', (d) => (got += d)); c.on('end', () => { process.stdout.write(got); process.exit(0); });
c.on('error', (e) => { console.log(e.code); process.exit(2); });
`;
const node = (code: string, ...args: string[]) => [process.execPath, '-e', code, ...args];

labForFile({ flavor: 'wpa_supplicant' }, async (l) => {
  lab = l;
  writeFileSync(join(lab.dir, 'appliance', 'forwarding.conf'), CONF);
  host = lab.startInHost('host-services', node(HOST_SERVICES));
  await waitFor("the host's services", () => host.output().includes('"ready":true'), 10_000);
  forward = lab.startForward();
  await waitFor(
    'every line to listen',
    async () => {
      const st = await forwardStatus(lab, 2000).catch(() => null);
      return st?.lines.length === 3 && st.lines.every((x) => x.listening);
    },
    10_000,
    100,
  );
});

const received = () =>
  host
    .output()
    .split('\n')
    .filter((x) => x.startsWith('{"discovery"'))
    .map((x) => JSON.parse(x) as { discovery: string; from: string });

/**
 * Each listening socket of the guest on `ports`: the uid that owns it (ss -e: uid:N, absent for
 * root) and the processes that hold it (ss -p).
 */
async function sockets(ports: number[]): Promise<Map<number, { uid: number; pids: number[] }>> {
  const r = await lab.guest(['ss', '-Htuln', '-e', '-p']);
  const found = new Map<number, { uid: number; pids: number[] }>();
  for (const line of r.stdout.split('\n')) {
    const port = Number(/:(\d+)\s/.exec(line)?.[1]);
    if (!ports.includes(port)) continue;
    found.set(port, { uid: Number(/\buid:(\d+)/.exec(line)?.[1] ?? 0), pids: [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])) });
  }
  return found;
}

describe('wifibox-forward in the lab guest', () => {
  it("serves the wireless side without root: its sockets and the process belong to the package's user; a planted EXEC line is still refused", async () => {
    const passwd = readFileSync(lab.guestPath('/etc/passwd'), 'utf8');
    const uid = Number(/^wifibox:[^:]*:(\d+):/m.exec(passwd)?.[1]);
    expect(uid).toBeGreaterThan(0);
    const held = { uid, pids: [forward.pid] };
    expect(await sockets([11223, 11224, 8080])).toEqual(
      new Map([
        [11223, held],
        [11224, held],
        [8080, held],
      ]),
    );
    const status = readFileSync(`/proc/${forward.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(status)?.slice(1).map(Number)).toEqual([uid, uid, uid, uid]);
    expect(/^Groups:\s*(.*)$/m.exec(status)?.[1]?.trim()).toBe(/^Gid:\s+(\d+)/m.exec(status)?.[1]);
    const st = await forwardStatus(lab);
    expect(st.user).toBe('wifibox');
    expect(st.problems).toEqual([expect.stringMatching(/forwarding\.conf:5: .*EXEC/)]);
  });

  it('boots at the lowest CPU priority, as its wrapper starts it, and serves at the normal one', () => {
    expect(packageCommand('wifibox-forward').nice).toBe(19);
    // /proc/PID/stat: after the command's closing parenthesis, the 17th field is the niceness.
    const stat = readFileSync(`/proc/${forward.pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])).toBe(0);
  });

  it('a broadcast sent on the wireless network reaches the host through UDP4-RECV,broadcast', async () => {
    let n = 0;
    // UDP may be lost: broadcast again until one arrives.
    await waitFor(
      'the broadcast at the host',
      async () => {
        await lab.air(node(BROADCAST, `discover ${++n}`));
        return received().length > 0;
      },
      10_000,
      200,
    );
    expect(received()[0]).toMatchObject({ discovery: expect.stringMatching(/^discover \d+$/), from: lab.addr.guestEth0 });
    const line = lineOf(await forwardStatus(lab), 2);
    expect(line).toMatchObject({ kind: 'udp-recv', listen: '0.0.0.0:11223', target: '10.0.0.2:11223', listening: true });
    expect(line.counters.datagrams).toBeGreaterThanOrEqual(1);
  });

  it("UDP-LISTEN,fork: a wireless client's datagram reaches the host and the answer comes back", async () => {
    const r = await waitFor(
      'an answer through UDP-LISTEN',
      async () => {
        const a = await lab.air(node(ASK_UDP, 'hello'));
        return a.code === 0 ? a.stdout.trim() : null;
      },
      10_000,
      100,
    );
    expect(r).toBe('host answers hello');
    expect(lineOf(await forwardStatus(lab), 3)).toMatchObject({ active: 1, peers: [lab.addr.air] });
  });

  it("a TCP port on wlan0's address reaches a service on the host, and is not open on eth0", async () => {
    const r = await lab.air(node(ASK_TCP, lab.addr.guestWlan0, '8080'));
    expect(r.stdout).toBe(`host service sees ${lab.addr.guestEth0}\n`);
    // bind=192.168.77.2: nothing listens on the host's side of the guest.
    expect((await lab.host(node(ASK_TCP, lab.addr.guestEth0, '8080'))).stdout.trim()).toBe('ECONNREFUSED');
    const tcp = (await lab.guest(['ss', '-Hltn'])).stdout;
    expect(tcp).toMatch(/192\.168\.77\.2:8080\b/);
    expect(tcp).not.toMatch(/:8081\b/);
  });

  it('the line it cannot serve is named with its line number and skipped; no socat runs in the guest', async () => {
    const problem =
      /\/media\/etc\/forwarding\.conf:5: error: address type EXEC runs a program, which this agent never does; expected [^\n"]+\(line not served\)/;
    expect(forward.output()).toMatch(problem);
    const st = await forwardStatus(lab);
    expect(st.problems).toEqual([expect.stringMatching(problem)]);
    expect(st.lines.map((x) => x.line)).toEqual([2, 3, 4]);
    const comm = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        return ''; // gone meanwhile
      }
    };
    const names = (await pidsIn(lab.ns.guest)).map(comm);
    expect(names).toContain('node');
    expect(names).not.toContain('socat');
  });

  it('wifibox-diag shows its lines and names the refused line (forward-config)', async () => {
    writeDiagStandIns(lab);
    const r = await lab.guest([process.execPath, join(lab.opts.distDir, 'wifibox-diag.js'), '--json', ...DIAG_LAB_ARGS], { timeoutMs: 15_000 });
    const report = JSON.parse(r.stdout) as DiagReport;
    expect(report.agents.forward).toMatchObject({ reachable: true, pid: forward.pid, state: 'serving', configuredLines: 4 });
    expect(report.forward.lines.map((x) => [x.line, x.listening])).toEqual([
      [2, true],
      [3, true],
      [4, true],
    ]);
    const p = report.problems.find((x) => x.id === 'forward-config');
    expect(p?.evidence).toEqual([expect.stringMatching(/forwarding\.conf:5: error: /)]);
    expect(report.memory.processes.map((x) => x.name)).toContain('wifibox-forward');
  });

  it('SIGHUP: the fixed file is read again, unchanged lines keep their counts', async () => {
    const before = lineOf(await forwardStatus(lab), 2).counters.datagrams;
    writeFileSync(join(lab.dir, 'appliance', 'forwarding.conf'), CONF.replace(/^TCP4-LISTEN:8081.*\n/m, ''));
    process.kill(forward.pid, 'SIGHUP');
    await waitFor('the problem to go', async () => (await forwardStatus(lab)).problems.length === 0, 5000, 50);
    const st = await forwardStatus(lab);
    expect(st.lines.map((x) => [x.line, x.listening])).toEqual([
      [2, true],
      [3, true],
      [4, true],
    ]);
    expect(lineOf(st, 2).counters.datagrams).toBe(before);
    expect(st.pid).toBe(forward.pid);
  });

  it('SIGTERM: exit 0 within a second, no socket left', async () => {
    const live = () =>
      lab.guest(['ss', '-Htuan']).then((r) =>
        r.stdout
          .split('\n')
          .filter((x) => !/\sTIME-WAIT\s/.test(x))
          .join('\n'),
      );
    expect(await live()).toMatch(/:11223\b[\s\S]*:11224\b|:11224\b[\s\S]*:11223\b/);
    const t0 = Date.now();
    process.kill(forward.pid, 'SIGTERM');
    expect(await forward.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(existsSync(lab.guestPath('/run/wifibox-forward/status.sock'))).toBe(false);
    // TIME-WAIT is the kernel's, after a connection the agent closed first; nothing else may be left.
    expect(await live()).not.toMatch(/:(11223|11224|8080)\b/);
  });
});
