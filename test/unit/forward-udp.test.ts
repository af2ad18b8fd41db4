// wifibox-forward's UDP lines on loopback: peers on 127.0.0.2 and .3, the target on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../lab/proc';
import { realSystem, type ForwardSystem } from '../../agents/forward/system';
import { echoTarget, freePorts, startAgent, UdpPeer, type RunningAgent } from '../helpers/forward';

let running: RunningAgent | null = null;
const open: UdpPeer[] = [];
const peer = async (address: string) => {
  const p = await UdpPeer.bind(address);
  open.push(p);
  return p;
};
const target = async (port: number) => {
  const t = await echoTarget('127.0.0.1', port);
  open.push(t);
  return t;
};
const agent = async (text: string, limits = {}, sys: ForwardSystem = realSystem) => (running = await startAgent(`${text}\n`, limits, sys));

/** The real system, counting its timers that are armed and have not yet fired nor been cancelled. */
function countingTimers(): { sys: ForwardSystem; armed: () => number } {
  const live = new Set<object>();
  const sys: ForwardSystem = {
    ...realSystem,
    after(ms, fn) {
      const id = {};
      live.add(id);
      const t = realSystem.after(ms, () => {
        live.delete(id);
        fn();
      });
      return { cancel: () => void (live.delete(id), t.cancel()) };
    },
  };
  return { sys, armed: () => live.size };
}

afterEach(async () => {
  for (const p of open.splice(0)) p.close();
  await running?.stop();
  running = null;
});

describe('UDP4-RECV: from anyone, one way', () => {
  it("merges every peer's datagrams toward the target from one socket; the target's replies go nowhere", async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const t = await target(to);
    const a = await agent(`UDP4-RECV:${listen},bind=127.0.0.1,reuseaddr UDP4:127.0.0.1:${to}`);
    const p2 = await peer('127.0.0.2');
    const p3 = await peer('127.0.0.3');
    p2.send('from two', listen);
    p3.send('from three', listen);
    const got = await t.waitFor(2);
    expect(got.map((d) => d.text).sort()).toEqual(['from three', 'from two']);
    expect(new Set(got.map((d) => d.port)).size).toBe(1);
    // The target answered each: nothing may reach the peers, and both replies are counted dropped.
    await waitFor('the replies to be dropped', () => a.line(1).counters.dropped === 2, 3000, 5);
    expect([p2.received, p3.received]).toEqual([[], []]);
    expect(a.line(1)).toMatchObject({
      kind: 'udp-recv',
      listen: `127.0.0.1:${listen}`,
      listening: true,
      active: 0,
      counters: { datagrams: 2, replies: 0, bytesIn: 18 },
    });
  });
});

describe('UDP-LISTEN,fork: one association per peer', () => {
  it('each peer gets its own socket toward the target and only its own replies', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const t = await target(to);
    const a = await agent(`UDP-LISTEN:${listen},bind=127.0.0.1,fork,reuseaddr UDP:127.0.0.1:${to}`);
    const peers = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map(peer));
    for (let round = 0; round < 3; round++) peers.forEach((p, i) => p.send(`peer ${i} round ${round}`, listen));
    for (const [i, p] of peers.entries()) {
      const got = await p.waitFor(3);
      expect(got.map((d) => d.text.replace(/^\d+:/, ''))).toEqual([0, 1, 2].map((r) => `peer ${i} round ${r}`));
      expect(got.every((d) => d.from === '127.0.0.1' && d.port === listen)).toBe(true);
      // The same source port toward the target for all of a peer's datagrams.
      expect(new Set(got.map((d) => d.text.split(':')[0])).size).toBe(1);
    }
    expect(new Set(t.received.map((d) => d.port)).size).toBe(3);
    expect(a.line(1)).toMatchObject({ active: 3, counters: { datagrams: 9, replies: 9, refusedLimit: 0, errors: 0 } });
    expect([...a.line(1).peers].sort()).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  });

  it('at rest arms no timer: the idle sweep runs only while a peer has an association', async () => {
    const [listen, recv, to] = (await freePorts(3)) as [number, number, number];
    const t = await target(to);
    const { sys, armed } = countingTimers();
    const a = await agent(
      `-T 0.2 UDP-LISTEN:${listen},bind=127.0.0.1,fork UDP4:127.0.0.1:${to}\nUDP4-RECV:${recv},bind=127.0.0.1 UDP4:127.0.0.1:${to}`,
      {},
      sys,
    );
    expect(armed()).toBe(0);
    const p = await peer('127.0.0.2');
    p.send('one', listen);
    p.send('two', recv);
    await p.waitFor(1);
    await t.waitFor(2);
    expect(armed()).toBe(1);
    await waitFor('the association to idle out', () => a.line(1).active === 0, 3000, 10);
    await waitFor('no timer left', () => armed() === 0, 3000, 10);
    // UDP4-RECV's one socket toward the target stays, untimed, as socat's would.
    expect(a.line(2).counters.datagrams).toBe(1);
  });

  it("closes an association idle for -T; the peer's next datagram opens a new one", async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const t = await target(to);
    const a = await agent(`-T 0.2 UDP-LISTEN:${listen},bind=127.0.0.1,fork UDP4:127.0.0.1:${to}`);
    const p = await peer('127.0.0.2');
    p.send('one', listen);
    await p.waitFor(1);
    expect(a.line(1).active).toBe(1);
    await waitFor('the association to idle out', () => a.line(1).active === 0, 3000, 10);
    expect(a.line(1).counters.idleClosed).toBe(1);
    p.send('two', listen);
    await p.waitFor(2);
    expect(t.received.map((d) => d.text)).toEqual(['one', 'two']);
    expect(t.received[0]!.port).not.toBe(t.received[1]!.port);
  });

  it('refuses peers over --max-peers, and peers outside range=', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    await target(to);
    const a = await agent(`UDP-LISTEN:${listen},bind=127.0.0.1,fork,range=127.0.0.0/30 UDP4:127.0.0.1:${to}`, { maxPeers: 2 });
    const [p1, p2, p3, outside] = await Promise.all(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.9'].map(peer));
    p1!.send('a', listen);
    p2!.send('b', listen);
    await Promise.all([p1!.waitFor(1), p2!.waitFor(1)]);
    p3!.send('c', listen);
    outside!.send('d', listen);
    await waitFor('both refusals', () => a.line(1).counters.refusedLimit === 1 && a.line(1).counters.refusedPeer === 1, 3000, 5);
    expect(a.line(1)).toMatchObject({ range: '127.0.0.0/30', active: 2, counters: { datagrams: 2 } });
    expect(a.line(1).lastRefused).toMatchObject({ peer: expect.stringMatching(/^127\.0\.0\.[39]$/), why: expect.any(String) });
    expect([p3!.received, outside!.received]).toEqual([[], []]);
  });
});

describe('UDP-LISTEN without fork, and -u', () => {
  it('serves one peer at a time: another is refused until the first has been idle for -T', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    await target(to);
    const a = await agent(`-T 0.3 UDP4-LISTEN:${listen},bind=127.0.0.1 UDP4:127.0.0.1:${to}`);
    const [first, second] = await Promise.all(['127.0.0.2', '127.0.0.3'].map(peer));
    first!.send('first', listen);
    await first!.waitFor(1);
    second!.send('too soon', listen);
    await waitFor('the refusal', () => a.line(1).counters.refusedLimit === 1, 3000, 5);
    expect(a.line(1).lastRefused?.why).toMatch(/no fork/);
    await waitFor('the first peer to idle out', () => a.line(1).active === 0, 3000, 10);
    second!.send('now', listen);
    expect((await second!.waitFor(1)).map((d) => d.text.replace(/^\d+:/, ''))).toEqual(['now']);
  });

  it('-u sends to the target only: its replies are dropped', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const t = await target(to);
    const a = await agent(`-u UDP-LISTEN:${listen},bind=127.0.0.1,fork UDP4:127.0.0.1:${to}`);
    const p = await peer('127.0.0.2');
    p.send('hello', listen);
    await t.waitFor(1);
    await waitFor('the reply to be dropped', () => a.line(1).counters.dropped === 1, 3000, 5);
    expect(p.received).toEqual([]);
    expect(a.line(1).counters.replies).toBe(0);
  });
});

describe('broadcast', () => {
  it('a target at a broadcast address is reached only with its broadcast option (SO_BROADCAST)', async () => {
    const [withIt, without, to] = (await freePorts(3)) as [number, number, number];
    const listener = await UdpPeer.bind('0.0.0.0', to);
    open.push(listener);
    const a = await agent(
      [`UDP4-RECV:${withIt},bind=127.0.0.1 UDP4:127.255.255.255:${to},broadcast`, `UDP4-RECV:${without},bind=127.0.0.1 UDP4:127.255.255.255:${to}`].join('\n'),
    );
    const p = await peer('127.0.0.2');
    p.send('allowed', withIt);
    p.send('not allowed', without);
    expect((await listener.waitFor(1)).map((d) => d.text)).toEqual(['allowed']);
    // Without SO_BROADCAST the kernel refuses the socket toward it (EACCES): counted as an error, never sent.
    await waitFor('the refused send', () => a.line(2).counters.errors === 1, 3000, 5);
    expect(listener.received.map((d) => d.text)).toEqual(['allowed']);
  });
});
