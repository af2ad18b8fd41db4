// The forwarding agent's plan and reload on loopback: unchanged lines keep their sockets (an
// association's source port, an open TCP connection, the counters), moved lines are renumbered,
// removed lines close, and a file that cannot be read keeps what runs.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS, ForwardAgent, planForward } from '../../agents/forward/agent';
import { findAccount, realSystem, type Account, type ForwardSystem } from '../../agents/forward/system';
import { parseForwardConfig } from '../../agents/forward/config';
import { waitFor } from '../../lab/proc';
import { echoTarget, freePorts, startAgent, UdpPeer, type RunningAgent } from '../helpers/forward';

let running: RunningAgent | null = null;
const cleanup: (() => void)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0)) c();
  await running?.stop();
  running = null;
});

describe('planForward', () => {
  it('opens new lines, closes gone ones, keeps unchanged ones whatever line they moved to', () => {
    const lines = parseForwardConfig('# moved down\nUDP4-RECV:1 UDP4:10.0.0.2:1\nTCP-LISTEN:3 TCP4:10.0.0.2:3\n', 'f').lines;
    const plan = planForward(lines, new Set(['UDP4-RECV:1 UDP4:10.0.0.2:1', 'TCP-LISTEN:2 TCP4:10.0.0.2:2']));
    expect(plan.keep.map((l) => [l.line, l.text])).toEqual([[2, 'UDP4-RECV:1 UDP4:10.0.0.2:1']]);
    expect(plan.open.map((l) => l.text)).toEqual(['TCP-LISTEN:3 TCP4:10.0.0.2:3']);
    expect(plan.close).toEqual(['TCP-LISTEN:2 TCP4:10.0.0.2:2']);
  });
});

describe('reload (SIGHUP)', () => {
  it('keeps the sockets of unchanged lines, opens added ones and closes removed ones', async () => {
    const [udpIn, udpTo, tcpIn, tcpTo, added] = (await freePorts(5)) as [number, number, number, number, number];
    const t = await echoTarget('127.0.0.1', udpTo);
    cleanup.push(() => t.close());
    const echo: Server = createServer((s) => s.pipe(s));
    await new Promise<void>((res) => echo.listen(tcpTo, '127.0.0.1', res));
    cleanup.push(() => echo.close());
    const udpLine = `UDP-LISTEN:${udpIn},bind=127.0.0.1,fork UDP4:127.0.0.1:${udpTo}`;
    const tcpLine = `TCP-LISTEN:${tcpIn},bind=127.0.0.1,fork TCP4:127.0.0.1:${tcpTo}`;
    const a = (running = await startAgent(`${udpLine}\n${tcpLine}\n`));

    const p = await UdpPeer.bind('127.0.0.2');
    cleanup.push(() => p.close());
    p.send('before', udpIn);
    await p.waitFor(1);
    const c: Socket = connect(tcpIn, '127.0.0.1');
    cleanup.push(() => c.destroy());
    const echoed = (text: string) =>
      new Promise<string>((res) => {
        c.once('data', (d) => res(d.toString()));
        c.write(text);
      });
    expect(await echoed('before')).toBe('before');

    // Both lines move down, spaced differently; a third line comes.
    a.reload(`# a comment now\n${udpLine.replace(' ', '   ')}\n\n${tcpLine}\nUDP4-RECV:${added},bind=127.0.0.1 UDP4:127.0.0.1:${udpTo}\n`);
    await waitFor('the added line to listen', () => a.agent.status().lines.length === 3 && a.agent.status().lines.every((l) => l.listening), 3000, 5);
    expect(a.agent.status().lines.map((l) => l.line)).toEqual([2, 4, 5]);
    expect(await echoed('after')).toBe('after');
    p.send('after', udpIn);
    await p.waitFor(2);
    // The same association: the target saw both datagrams from one source port.
    expect(new Set(t.received.map((d) => d.port)).size).toBe(1);
    expect(a.line(2).counters).toMatchObject({ datagrams: 2, replies: 2 });
    expect(a.line(4)).toMatchObject({ active: 1, counters: { connections: 1 } });

    // The TCP line goes: its listener and its connection close; the UDP line stays.
    a.reload(`${udpLine}\n`);
    await new Promise<void>((res) => (c.destroyed ? res() : c.once('close', () => res())));
    const refused = await new Promise<string>((res) =>
      connect(tcpIn, '127.0.0.1')
        .on('error', (e: NodeJS.ErrnoException) => res(e.code ?? ''))
        .on('connect', () => res('connected')),
    );
    expect(refused).toBe('ECONNREFUSED');
    expect(a.agent.status().lines.map((l) => [l.line, l.counters.datagrams])).toEqual([[1, 2]]);
  });

  it('a file that cannot be read keeps the lines read before, and says so', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const a = (running = await startAgent(`UDP4-RECV:${listen},bind=127.0.0.1 UDP4:127.0.0.1:${to}\n`));
    rmSync(a.config);
    a.agent.reload();
    const st = a.agent.status();
    expect(st.lines.map((l) => [l.line, l.listening])).toEqual([[1, true]]);
    expect(st.problems).toEqual([`${a.config}:0: error: cannot read (ENOENT); expected the file forwarding.conf — the lines read before are kept`]);
    expect(st.state).toBe('serving');
  });

  it('a line that cannot listen yet (the port is taken) is retried every second, and listens once it can', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const holder = createServer();
    await new Promise<void>((res) => holder.listen(listen, '127.0.0.1', res));
    running = await startAgent('', {});
    running.reload(`TCP-LISTEN:${listen},bind=127.0.0.1 TCP4:127.0.0.1:${to}\n`);
    const a = running;
    await waitFor('the listen error', () => a.line(1).listenError === 'EADDRINUSE', 3000, 5);
    expect(a.line(1).listening).toBe(false);
    await new Promise((res) => holder.close(res));
    await waitFor('the retry to listen', () => a.line(1).listening, 3000, 20);
    expect(a.line(1).listenError).toBeNull();
  });

  it('a UDP line whose port is taken is retried without gathering sockets', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const holder = createSocket('udp4');
    await new Promise<void>((res) => holder.bind(listen, '127.0.0.1', res));
    const fds = () => readdirSync('/proc/self/fd').length;
    let tries = 0;
    const counting = {
      ...realSystem,
      udp(...args: Parameters<typeof realSystem.udp>) {
        tries++;
        return realSystem.udp(...args);
      },
    };
    running = await startAgent('', {}, counting);
    const a = running;
    a.reload(`UDP4-RECV:${listen},bind=127.0.0.1 UDP4:127.0.0.1:${to}\n`);
    await waitFor('the listen error', () => a.line(1).listenError === 'EADDRINUSE', 3000, 5);
    const before = fds();
    const triedBefore = tries;
    // Two more tries, a second apart: each opens a socket, and must close it again.
    await waitFor('two more tries', () => tries >= triedBefore + 2, 5000, 20);
    expect(fds()).toBeLessThanOrEqual(before);
    await new Promise<void>((res) => holder.close(() => res()));
    await waitFor('the retry to listen', () => a.line(1).listening, 3000, 20);
  });
});

describe('root dropped once the lines are bound', () => {
  /** The real system, as root to the agent, recording binds and the drop in order; no socket is real. */
  function asRoot(user: Account | null) {
    const events: string[] = [];
    const sys: ForwardSystem = {
      ...realSystem,
      isRoot: () => true,
      lookupUser: (name) => (user && name === user.name ? user : null),
      makeRunDir: (path, owner) => {
        events.push(`run dir ${path} for ${owner?.uid ?? 'root'}`);
        return null;
      },
      dropTo: (a) => void events.push(`drop to ${a.uid}:${a.gid}`),
      normalPriority: () => (events.push('normal priority'), null),
      statusServer: () => ({ close: () => undefined }) as never,
      async udp(o) {
        events.push(`bind udp ${o.port}`);
        return { send: () => undefined, queued: () => 0, close: () => undefined };
      },
      async tcpServer(_address, port) {
        events.push(`bind tcp ${port}`);
        return { close: () => undefined };
      },
    };
    return { sys, events };
  }
  const conf = 'UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223\nTCP-LISTEN:80,fork TCP4:10.0.0.2:8080\nUDP-LISTEN:11224,fork UDP:10.0.0.2:11224\n';
  const agentOn = (sys: ForwardSystem, dir: string) =>
    new ForwardAgent(
      { ...DEFAULTS, config: join(dir, 'forwarding.conf'), runDir: join(dir, 'run'), statusSocket: join(dir, 'run', 'status.sock') },
      sys,
      pino({ level: 'silent' }),
    );

  it('a port below 1024 is bound as root, then the normal priority taken back and root dropped, then the other lines are bound by the user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbx-fwd-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'forwarding.conf'), conf);
    const { sys, events } = asRoot({ name: 'wifibox', uid: 1234, gid: 1235 });
    const agent = agentOn(sys, dir);
    await agent.start();
    expect(events).toEqual([`run dir ${join(dir, 'run')} for 1234`, 'bind tcp 80', 'normal priority', 'drop to 1234:1235', 'bind udp 11223', 'bind udp 11224']);
    expect(agent.status()).toMatchObject({ user: 'wifibox', state: 'serving' });
    expect(agent.status().lines.map((l) => [l.line, l.listening])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    await agent.stop();
  });

  it('without the user (or with a user of uid 0) it serves nothing, and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbx-fwd-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'forwarding.conf'), conf);
    for (const user of [null, { name: 'wifibox', uid: 0, gid: 0 }]) {
      const { sys, events } = asRoot(user);
      await expect(agentOn(sys, dir).start()).rejects.toThrow(
        user
          ? /user 'wifibox' is root: the wireless side is not served as root/
          : /user 'wifibox' is not in \/etc\/passwd: the wireless side is not served as root/,
      );
      expect(events).toEqual([]);
    }
  });
});

describe('findAccount', () => {
  it('reads a passwd line, and nothing else', () => {
    const text = 'root:x:0:0:root:/root:/bin/sh\nwifibox:x:201:202:Wifibox agents:/var/empty:/sbin/nologin\nbad:x::1::/:/bin/sh\n';
    expect(findAccount(text, 'wifibox')).toEqual({ name: 'wifibox', uid: 201, gid: 202 });
    expect(findAccount(text, 'wifi')).toBeNull();
    expect(findAccount(text, 'bad')).toBeNull();
  });
});
