// Acceptance of the passthru agent, through the lab: real wpa_supplicant, the host's real socat
// half, real wpa_cli; the agent is the bundle in dist/.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn as ptySpawn } from '@lydell/node-pty';
import { describe, expect, it } from 'vitest';
import type { Lab } from '../../lab/lab';
import { DEFAULTS as PASSTHRU_DEFAULTS } from '../../agents/passthru/agent';
import { clientSsid } from '../../lab/guest-files';
import { childrenOf, isZombie, sleep, waitFor, type LabProcess } from '../../lab/proc';
import { passthruStatus, portOf } from '../../lab/status';
import { labForFile, pingAndStatus } from '../helpers/lab-file';

let lab: Lab;
let agent: LabProcess;
let wpa: LabProcess;
let plain: { path: string; dir: string; proc: LabProcess }; // the host command as it is today
let long: { path: string; dir: string; proc: LabProcess }; // the host command with -t 3600

const status = () => passthruStatus(lab);
/** The port both host bridges reach. */
const port1200 = async () => portOf(await status(), 1200);
const wpaLog = () => readFileSync(wpa.log, 'utf8');
const count = (text: string, needle: string) => text.split(needle).length - 1;
/** Children of a host socat listener: one per conversation the guest has not closed yet. */
const conversations = (socat: number) => childrenOf(socat).filter((pid) => !isZombie(pid));

const { client } = labForFile({ flavor: 'wpa_supplicant' }, async (l) => {
  lab = l;
  wpa = await lab.startWirelessDaemon();
  agent = await lab.startPassthru();
  plain = await lab.startHostBridge(1200, 'wlan0', undefined, join(lab.dir, 'host', 'plain'));
  long = await lab.startHostBridge(1200, 'wlan0', 3600, join(lab.dir, 'host', 'long'));
});

describe('passthru through the host socat half', () => {
  it('1. wpa_cli ping and status from the host namespace', async () => {
    const { ping, status } = await pingAndStatus(lab, plain.dir);
    expect(ping).toBe('PONG');
    expect(status).toMatch(/^wpa_state=COMPLETED$/m);
    expect(status).toMatch(/^ssid=wifibox-lab$/m);
  });

  it('1b. an empty reply (empty scan list) reaches the host as a single newline', async () => {
    const before = (await port1200()).counters.emptyReplies;
    expect(await client(plain.path).request('BSS RANGE=ALL MASK=0x2', 2000)).toBe('\n');
    const after = (await port1200()).counters.emptyReplies;
    expect(after).toBe(before + 1);
  });

  it('2. interactive wpa_cli in a pseudo-terminal: prompt fast, ping, status, events', async () => {
    const term = ptySpawn('ip', ['netns', 'exec', lab.ns.host, 'wpa_cli', '-p', long.dir, '-i', 'wlan0'], {
      cols: 200,
      rows: 50,
      env: { ...process.env, TERM: 'xterm' } as Record<string, string>,
    });
    let screen = '';
    term.onData((d) => (screen += d));
    try {
      // The empty reply to "BSS RANGE=ALL MASK=0x2" (empty scan list) must not stall the prompt:
      // waitFor fails past its 2 s.
      await waitFor('the interactive prompt', () => /Interactive mode[\s\S]*> /.test(screen), 2000, 10);

      const mark = () => screen.length;
      let m = mark();
      term.write('ping\r');
      await waitFor('PONG', () => screen.slice(m).includes('PONG'), 5000);

      m = mark();
      term.write('status\r');
      await waitFor('status', () => /wpa_state=COMPLETED/.test(screen.slice(m)), 5000);

      m = mark();
      term.write('reassociate\r');
      await waitFor('events on screen', () => /<3>CTRL-EVENT-CONNECTED/.test(screen.slice(m)), 5000);
      expect(screen.slice(m)).toMatch(/<3>/);
    } finally {
      term.write('quit\r');
      await sleep(200);
      term.kill();
    }
  });

  it('3. a monitor attached 5 s before an event still gets it; plain requests leave no host children', async () => {
    const monitor = client(long.path);
    expect(await monitor.request('ATTACH')).toBe('OK\n');
    await sleep(5000);
    const ctl = client(long.path);
    expect(await ctl.request('REASSOCIATE')).toBe('OK\n');
    expect(await monitor.waitEvent(/CTRL-EVENT-CONNECTED/, 5000)).toMatch(/^<3>CTRL-EVENT-CONNECTED/);

    for (let i = 0; i < 200; i++) expect(await ctl.request('PING')).toBe('PONG\n');
    // The guest closes every connection once its reply is through; with -t 3600 the host
    // child would otherwise stay for an hour. Left: the monitor's child only.
    await waitFor('host children to go', () => conversations(long.proc.pid).length <= 1, 3000);
    expect(conversations(long.proc.pid).length).toBe(1);
    // Interactive wpa_cli (test 2) left a monitor whose host child exits once it fails to relay
    // an event to the departed client; the guest closes it on the RST that follows.
    await waitFor('only this monitor left', async () => (await port1200()).monitors === 1, 3000);

    expect(await monitor.request('DETACH')).not.toBeNull(); // a new connection: the daemon says FAIL
    monitor.close();
  });

  const CLIENTS = 64;
  const REQUESTS = 100;
  it(`4. ${CLIENTS} concurrent clients x ${REQUESTS} requests, each reply identifies its client: 0 wrong, 0 lost (no reply within wpa_cli's 10 s)`, async () => {
    let wrong = 0;
    let lost = 0;
    const before = (await port1200()).counters;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const c = client(plain.path);
        for (let r = 0; r < REQUESTS; r++) {
          const reply = await c.request(`GET_NETWORK ${i + 1} ssid`);
          if (reply === null) lost++;
          else if (reply !== `"${clientSsid(i)}"`) wrong++;
        }
      }),
    );
    expect({ wrong, lost }).toEqual({ wrong: 0, lost: 0 });
    const after = (await port1200()).counters;
    expect(after.requests - before.requests).toBeGreaterThanOrEqual(CLIENTS * REQUESTS);
    expect(after.refusedLimit).toBe(before.refusedLimit);
  });

  it('5. a monitor gets events while others run commands; after 1000 connections nothing is left', async () => {
    const log0 = wpaLog();
    const monitor = client(long.path);
    expect(await monitor.request('ATTACH')).toBe('OK\n');
    const WORKERS = 4;
    const EACH = 240;
    const ATTACH_EVERY = 40;
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      const c = client(plain.path);
      for (let i = 0; i < EACH; i++) {
        // Some connections attach too (a short-lived monitor): they must be DETACHed on close.
        const req = i % ATTACH_EVERY === 0 ? 'ATTACH' : i === 130 && w === 0 ? 'REASSOCIATE' : 'PING';
        expect(await c.request(req)).toMatch(req === 'PING' ? /^PONG\n$/ : /^OK\n$/);
      }
    });
    await Promise.all(workers);
    expect(await monitor.waitEvent(/CTRL-EVENT-CONNECTED/, 5000)).not.toBeNull();
    // With the host's default -t 0.5, the short-lived monitors' host children are gone by now,
    // but a half-closed peer that exits sends nothing more: the guest learns it when the next
    // event hits a closed socket. Make one, and watch every such monitor get DETACHed.
    await sleep(1000);
    expect(await client(plain.path).request('REASSOCIATE')).toBe('OK\n');
    // The monitor's host child would stay for -t 3600 after its last transfer: a host client
    // that goes away does not tell it. Stop it (and the listener) by PID, as the host would on stop.
    monitor.close();
    for (const kid of conversations(long.proc.pid)) {
      try {
        process.kill(kid, 'SIGTERM');
      } catch {
        /* exited on its own meanwhile */
      }
    }
    await lab.stop(long.proc);
    long = await lab.startHostBridge(1200, 'wlan0', 3600, join(lab.dir, 'host', 'long'));

    const left = () => readdirSync(lab.guestPath('/run/wifibox-passthru'));
    await waitFor('every client socket to be gone', () => left().length === 0, 5000).catch(async (err) => {
      throw new Error(`${err.message}: left ${left().join(' ')}; status ${JSON.stringify((await status()).ports[0])}`);
    });
    const st = await port1200();
    expect(st.active).toBe(0);
    expect(st.monitors).toBe(0);
    // wpa_supplicant logs every monitor it gains and loses: none may be left attached.
    const log = wpaLog();
    // This test's monitor, and each worker's short-lived ones.
    expect(count(log.slice(log0.length), 'CTRL_IFACE monitor attached')).toBeGreaterThanOrEqual(1 + WORKERS * (EACH / ATTACH_EVERY));
    const attached = count(log, 'CTRL_IFACE monitor attached');
    expect(attached).toBeGreaterThan(0);
    expect(count(log, 'CTRL_IFACE monitor detached')).toBe(attached);
    expect(log).not.toMatch(/Detach monitor that cannot receive messages/);
  });
});

describe('limits and bad input', () => {
  it('8a. an oversized request is refused, not truncated', async () => {
    const before = (await port1200()).counters.oversized;
    const big = `SET_NETWORK 1 ssid "${'x'.repeat(9000)}"`;
    const r = await lab.host(['socat', '-t', '2', '-', `TCP4:${lab.addr.guestEth0}:1200`], { input: big, timeoutMs: 10_000 });
    expect(r.stdout).toBe('FAIL\n');
    const after = (await port1200()).counters.oversized;
    expect(after).toBe(before + 1);
    expect(await client(plain.path).request('GET_NETWORK 1 ssid')).toBe(`"${clientSsid(0)}"`);
  });

  it('8b. a connection flood past the limit is refused and counted; service goes on', async () => {
    const activeBefore = (await port1200()).active;
    const flood = join(__dirname, '..', 'helpers', 'flood.cjs');
    const FLOOD = 100;
    const r = await lab.host([process.execPath, flood, lab.addr.guestEth0, '1200', String(FLOOD), '1500'], { timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { opened: number; closedByPeer: number };
    expect(res.opened).toBe(FLOOD);
    // The lab's passthrough runs with the default limit: every connection past it is refused.
    const overLimit = FLOOD - PASSTHRU_DEFAULTS.maxConnections;
    const st = await port1200();
    expect(st.counters.refusedLimit).toBeGreaterThanOrEqual(overLimit);
    expect(res.closedByPeer).toBeGreaterThanOrEqual(overLimit);
    await waitFor('the flood to be gone', async () => (await port1200()).active === activeBefore, 5000);
    expect(await client(plain.path).request('PING')).toBe('PONG\n');
  });

  it('7. a peer outside network is refused; nothing listens on the wireless side', async () => {
    const before = (await port1200()).counters;
    // From the wireless network, routed to the guest's eth0 address: accepted by the kernel,
    // refused by the agent before anything reaches the daemon.
    const viaRoute = await lab.air(['socat', '-t', '1', '-', `TCP4:${lab.addr.guestEth0}:1200`], { input: 'PING', timeoutMs: 10_000 });
    expect(viaRoute.stdout).toBe('');
    const direct = await lab.air(['socat', '-t', '1', '-', `TCP4:${lab.addr.guestWlan0}:1200`], { input: 'PING', timeoutMs: 10_000 });
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toMatch(/Connection refused/);
    const port = await port1200();
    const after = port.counters;
    expect(after.refusedPeer).toBe(before.refusedPeer + 1);
    expect(port.lastRefused).toMatchObject({ peer: lab.addr.air, why: 'outside the configured network' });
    expect(after.requests).toBe(before.requests);
    expect(agent.output()).toMatch(/refused a connection: outside the configured network/);
  });
});
