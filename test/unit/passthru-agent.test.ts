// The agent's plan without the lab: where it listens, when it waits, whom it refuses, what a
// reload keeps. Loopback only: 127.0.0.0/8 stands in for eth0's network.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS, PassthruAgent } from '../../agents/passthru/agent';
import { realSystem, type InterfaceAddress } from '../../agents/passthru/system';
import { waitFor } from '../../lab/proc';

const dirs: string[] = [];
const agents: PassthruAgent[] = [];

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(conf: string, addrs: InterfaceAddress[]) {
  const dir = mkdtempSync(join(tmpdir(), 'wbx-agent-'));
  dirs.push(dir);
  const file = join(dir, 'uds_passthru.conf');
  writeFileSync(file, conf);
  // The kernel's address events, told by the test when it changes `addrs`.
  const watchers = new Set<() => void>();
  const sys = {
    ...realSystem,
    ipv4Addresses: () => addrs,
    watchAddresses: (fn: () => void) => {
      watchers.add(fn);
      return { close: () => void watchers.delete(fn) };
    },
  };
  const agent = new PassthruAgent(
    { ...DEFAULTS, config: file, runtimeDir: join(dir, 'rt'), statusSocket: join(dir, 'status.sock') },
    sys,
    pino({ level: 'silent' }),
  );
  agents.push(agent);
  return { agent, file, dir, addressesChanged: () => [...watchers].forEach((w) => w()) };
}

const port = () => 20000 + Math.floor(Math.random() * 30000);

/** Connects from a chosen local address; resolves 'refused', 'closed' (accepted, then shut) or 'open'. */
function probe(host: string, p: number, localAddress = '127.0.0.1'): Promise<'refused' | 'closed' | 'open'> {
  return new Promise((resolve) => {
    const s = connect({ host, port: p, localAddress });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? 'refused' : 'closed'));
    s.on('close', () => resolve('closed'));
    s.on('connect', () =>
      setTimeout(() => {
        resolve('open');
        s.destroy();
      }, 100),
    );
  });
}

describe('passthru agent plan', () => {
  it('with network= empty, waits for eth0 to get an address, then listens only there', async () => {
    const p = port();
    const addrs: InterfaceAddress[] = [{ iface: 'lo', address: '127.0.0.1', netmask: '255.0.0.0' }];
    const { agent, addressesChanged } = setup(`network=\nsockets="path=/nonexistent/wlan0,port=${p}"\n`, addrs);
    agent.start();
    expect(agent.status().state).toBe('waiting-for-address');
    expect(agent.status().waiting).toMatch(/eth0/);
    expect(await probe('127.0.0.1', p)).toBe('refused');

    addrs.push({ iface: 'eth0', address: '127.0.0.1', netmask: '255.255.255.0' });
    expect(agent.status().state).toBe('waiting-for-address'); // nothing looks until the kernel tells
    addressesChanged();
    await waitFor('the port to listen', () => agent.status().ports[0]?.listening, 3000);
    expect(agent.status()).toMatchObject({ state: 'serving', address: '127.0.0.1', network: '127.0.0.1/24', waiting: null });
    expect(agent.status().ports[0]).toMatchObject({ port: p, daemon: 'down' });
  });

  it('refuses to listen on an address of the wireless interface', async () => {
    const p = port();
    const { agent } = setup(`network=127.0.0.1:255.0.0.0\nsockets="path=/x/wlan0,port=${p}"\n`, [
      { iface: 'wlan0', address: '127.0.0.1', netmask: '255.0.0.0' },
    ]);
    agent.start();
    expect(agent.status().state).toBe('waiting-for-address');
    expect(agent.status().waiting).toMatch(/an address of wlan0, not of eth0: refusing/);
    await new Promise((r) => setTimeout(r, 1200));
    expect(await probe('127.0.0.1', p)).toBe('refused');
  });

  it('accepts peers inside network= and refuses the rest, counting them', async () => {
    const p = port();
    const { agent } = setup(`network=127.0.0.1:255.255.255.255\nsockets="path=/x/wlan0,port=${p}"\n`, [
      { iface: 'eth0', address: '127.0.0.1', netmask: '255.0.0.0' },
    ]);
    agent.start();
    await waitFor('the port to listen', () => agent.status().ports[0]?.listening, 3000);
    expect(await probe('127.0.0.1', p, '127.0.0.1')).toBe('open');
    expect(await probe('127.0.0.1', p, '127.0.0.2')).toBe('closed');
    const c = agent.status().ports[0]!.counters;
    expect(c.refusedPeer).toBe(1);
    expect(c.connections).toBe(1);
  });

  it('a reload keeps unchanged ports (and their counters) and drops removed ones', async () => {
    const [a, b] = [port(), port() + 1];
    const { agent, file } = setup(`network=127.0.0.1:255.0.0.0\nsockets="path=/x/a,port=${a}\npath=/x/b,port=${b}"\n`, [
      { iface: 'eth0', address: '127.0.0.1', netmask: '255.0.0.0' },
    ]);
    agent.start();
    await waitFor('both ports', () => agent.status().ports.every((x) => x.listening) && agent.status().ports.length === 2, 3000);
    expect(await probe('127.0.0.1', a)).toBe('open');
    writeFileSync(file, `network=127.0.0.1:255.0.0.0\nsockets="path=/x/a,port=${a}"\n`);
    agent.reload();
    await waitFor('port b to close', async () => (await probe('127.0.0.1', b)) === 'refused', 3000);
    const st = agent.status();
    expect(st.ports.map((x) => x.port)).toEqual([a]);
    expect(st.ports[0]!.counters.connections).toBe(1);
  });

  it('a reload of a file with new errors (corrupt, half-saved) keeps the running configuration and says so', async () => {
    const a = port();
    const { agent, file } = setup(`network=127.0.0.1:255.0.0.0\nsockets="path=/x/a,port=${a}"\n`, [
      { iface: 'eth0', address: '127.0.0.1', netmask: '255.0.0.0' },
    ]);
    agent.start();
    await waitFor('port a', () => agent.status().ports[0]?.listening === true, 3000);
    writeFileSync(file, 'network=127.0.0.1:255.0.0.0\nsockets="path=/x/a,po\x00\x00\x00');
    agent.reload();
    expect(agent.status().ports.map((x) => x.port)).toEqual([a]);
    expect(await probe('127.0.0.1', a)).toBe('open');
    expect(agent.status().problems.at(-1)).toMatch(/uds_passthru\.conf: has errors; keeping the configuration read before/);
    // Fixed: the new file applies.
    const b = a + 1;
    writeFileSync(file, `network=127.0.0.1:255.0.0.0\nsockets="path=/x/b,port=${b}"\n`);
    agent.reload();
    await waitFor('port b', () => agent.status().ports[0]?.port === b && agent.status().ports[0]?.listening === true, 3000);
    expect(agent.status().problems).toEqual([]);
  });

  it('a reload whose old errors moved to other lines (lines added above them) is not new errors: it applies', async () => {
    const a = port();
    const b = a + 1;
    const dup = `path=/x/c,port=${a}`;
    const { agent, file } = setup(`network=127.0.0.1:255.0.0.0\nsockets="path=/x/a,port=${a}\n${dup}"\n`, [
      { iface: 'eth0', address: '127.0.0.1', netmask: '255.0.0.0' },
    ]);
    agent.start();
    await waitFor('port a', () => agent.status().ports[0]?.listening === true, 3000);
    expect(agent.status().problems.join('\n')).toMatch(/already used by the socket on line 2/);
    writeFileSync(file, `# a comment\n\nnetwork=127.0.0.1:255.0.0.0\nsockets="path=/x/a,port=${a}\n${dup}\npath=/x/b,port=${b}"\n`);
    agent.reload();
    await waitFor('port b', () => agent.status().ports.some((x) => x.port === b && x.listening), 3000);
    expect(agent.status().problems.join('\n')).toMatch(/already used by the socket on line 4/);
    expect(agent.status().problems.join('\n')).not.toMatch(/keeping the configuration read before/);
    await agent.stop();
  });

  it("never listens on 0.0.0.0, nor before network= is eth0's own address", async () => {
    const p = port();
    const addrs: InterfaceAddress[] = [];
    const wildcard = setup(`network=0.0.0.0:0.0.0.0\nsockets="path=/x/wlan0,port=${p}"\n`, addrs).agent;
    wildcard.start();
    expect(wildcard.status().waiting).toMatch(/expected the guest's own unicast address/);
    await wildcard.stop();
    const q = port();
    const { agent: late, addressesChanged } = setup(`network=127.0.0.1:255.0.0.0\nsockets="path=/x/wlan0,port=${q}"\n`, addrs);
    late.start();
    expect(late.status().waiting).toMatch(/on no interface yet/);
    // wlan0's DHCP hands it that address later: still no listening there.
    addrs.push({ iface: 'wlan0', address: '127.0.0.1', netmask: '255.0.0.0' });
    addressesChanged();
    expect(await probe('127.0.0.1', q)).toBe('refused');
    expect(late.status().waiting).toMatch(/an address of wlan0/);
  });

  it('a missing config file is reported, and nothing listens', () => {
    const { agent, dir } = setup('', []);
    rmSync(join(dir, 'uds_passthru.conf'));
    agent.start();
    expect(agent.status().state).toBe('no-sockets');
    expect(agent.status().problems[0]).toMatch(/uds_passthru\.conf: cannot read: ENOENT/);
  });
});
