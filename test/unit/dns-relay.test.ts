// The DNS relay on loopback: fake upstream servers on 127.0.0.2 and .3, the relay on 127.0.0.1,
// a "LAN" of 127.0.0.0/24 (127.0.1.x is outside it). No root: ports are unprivileged.
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DnsRelay } from '../../agents/init/dns/relay';
import { realRelayNet, type RelayNet } from '../../agents/init/dns/net';
import { canonicalAddress } from '../../agents/init/dns/lan';
import { parseQuery, servfail } from '../../agents/init/dns/message';
import { addressIn, answer, askTcp, askUdp, FakeDnsServer, framed, freePort, query, readQuestion } from '../helpers/fake-dns';
import { malformedPacket, type MalformedKind } from '../helpers/malformed-dns.cjs';
import { rng } from '../helpers/rng';
import { sleep, waitFor } from '../../lab/proc';

const RELAY = '127.0.0.1';
const LAN = { address: RELAY, prefixLength: 24 };
type RelaySettings = ConstructorParameters<typeof DnsRelay>[1];
let relay: DnsRelay;
let up1: FakeDnsServer;
let up2: FakeDnsServer;
let port: number;
let relayPort: number;

beforeEach(async () => {
  port = await freePort();
  relayPort = await freePort();
  up1 = new FakeDnsServer('127.0.0.2', { 'portal.wireless.lab': '192.168.77.1' });
  up2 = new FakeDnsServer('127.0.0.3', { 'portal.wireless.lab': '192.168.77.2', 'only.second.lab': '10.9.9.9' });
  await up1.start(port);
  await up2.start(port);
  relay = await startRelay(relayPort);
  relay.setServers(['127.0.0.2', '127.0.0.3'], 'wireless');
});

/**
 * A relay on the LAN at `listenPort` that asks the fake servers: 300 ms for each server, 256
 * queries in flight, no cache; `over` changes any of these.
 */
async function startRelay(listenPort: number, over: Partial<RelaySettings> = {}, net: RelayNet = realRelayNet): Promise<DnsRelay> {
  const settings = { port: listenPort, upstreamPort: port, timeoutMs: 300, maxInFlight: 256, cache: { names: 0, bytes: 0 }, ...over };
  const r = new DnsRelay(net, settings, pino({ level: 'silent' }), () => new Date());
  await r.listen([LAN]);
  return r;
}

afterEach(() => {
  relay.close();
  up1.close();
  up2.close();
});

const at = () => ({ address: RELAY, port: relayPort });

/**
 * `server` answers each UDP question 50 ms late, and before that come four forged answers saying
 * 6.6.6.N: from another address (on the server's port), from another port of the server's
 * address, with another ID, and for the question `otherName`. Returns how to close the forgers.
 */
async function forgeBefore(server: FakeDnsServer, otherName: string, ttl?: number): Promise<() => void> {
  const forger = createSocket('udp4');
  await new Promise<void>((r) => forger.bind(port, '127.0.0.9', r));
  const otherPort = createSocket('udp4');
  await new Promise<void>((r) => otherPort.bind(0, server.address, r));
  server.mode = 'silent';
  const shape = ttl === undefined ? {} : { ttl };
  server.onUdpQuery = (msg, from) => {
    const forged = (ip: string) => answer(msg, { [readQuestion(msg).name.toLowerCase()]: ip }, false, shape);
    forger.send(forged('6.6.6.1'), from.port, from.address); // another address
    otherPort.send(forged('6.6.6.2'), from.port, from.address); // another port
    const wrongId = forged('6.6.6.3');
    wrongId.writeUInt16BE(msg.readUInt16BE(0) ^ 1, 0);
    server.sendFrom(wrongId, from);
    server.sendFrom(answer(Buffer.concat([msg.subarray(0, 12), query(otherName, 0).subarray(12)]), { [otherName]: '6.6.6.4' }, false, shape), from); // another question
    setTimeout(() => server.sendFrom(answer(msg, server.records), from), 50);
  };
  return () => {
    forger.close();
    otherPort.close();
  };
}

describe('DNS relay', () => {
  it('relays a question to the first server; the host gets its own ID back, the server saw a random one', async () => {
    const a = await askUdp(at(), query('portal.wireless.lab', 0x1234));
    expect(a).not.toBeNull();
    expect(a!.readUInt16BE(0)).toBe(0x1234);
    expect(addressIn(a!)).toBe('192.168.77.1');
    expect(up1.asked).toHaveLength(1);
    expect(up2.asked).toHaveLength(0);
    // Another query: another ID and another source port toward the server.
    await askUdp(at(), query('portal.wireless.lab', 0x1234));
    expect(up1.asked).toHaveLength(2);
    expect(new Set(up1.asked.map((q) => q.id)).size + new Set(up1.asked.map((q) => q.port)).size).toBe(4);
    expect(relay.status()).toMatchObject({
      listening: [RELAY],
      servers: ['127.0.0.2', '127.0.0.3'],
      source: 'wireless',
      counters: { queries: 2, answered: 2, servfail: 0 },
    });
    expect(relay.status().medianUpstreamMs).toBeGreaterThan(0);
  });

  it('a server that does not answer in time: the next one; none at all: SERVFAIL with the question', async () => {
    up1.mode = 'silent';
    const a = await askUdp(at(), query('portal.wireless.lab', 7));
    expect(addressIn(a!)).toBe('192.168.77.2');
    const st = relay.status();
    expect(st.upstream.find((u) => u.server === '127.0.0.2')).toMatchObject({ sent: 1, answered: 0, timeouts: 1 });
    expect(st.upstream.find((u) => u.server === '127.0.0.3')).toMatchObject({ sent: 1, answered: 1, timeouts: 0 });
    up2.mode = 'silent';
    const q = query('portal.wireless.lab', 8);
    const fail = await askUdp(at(), q);
    expect(fail).toEqual(servfail(parseQuery(q)!));
    expect(fail!.readUInt16BE(2) & 15).toBe(2);
    expect(relay.status().counters.servfail).toBe(1);
    relay.setServers([], 'wireless');
    expect(await askUdp(at(), query('x.lab', 9))).toEqual(servfail(parseQuery(query('x.lab', 9))!));
    expect(relay.status().source).toBe('none');
  });

  it('takes an answer only from the server asked, with our ID, to the question asked', async () => {
    const close = await forgeBefore(up1, 'evil.lab');
    const a = await askUdp(at(), query('portal.wireless.lab', 3));
    expect(addressIn(a!)).toBe('192.168.77.1');
    expect(relay.status().upstream.find((u) => u.server === '127.0.0.2')).toMatchObject({ answered: 1, timeouts: 0 });
    close();
  });

  it('never answers a peer outside the LAN network, over UDP or TCP', async () => {
    expect(await askUdp(at(), query('portal.wireless.lab', 1), 500, '127.0.1.5')).toBeNull();
    expect(relay.status().counters).toMatchObject({ droppedOutsidePeer: 1, queries: 0 });
    expect(await askTcp(at(), query('portal.wireless.lab', 2), 500, '127.0.1.5')).toBeNull();
    expect(relay.status().counters).toMatchObject({ droppedOutsidePeer: 2, queries: 0, tcpQueries: 0 });
    expect(up1.asked).toHaveLength(0);
  });

  it('a TCP query longer than 4096 bytes closes its connection unanswered, and is counted', async () => {
    const s = connect(relayPort, RELAY);
    const closed = new Promise<string>((res) => {
      let got = '';
      s.on('data', (d) => (got += d.toString('hex')));
      s.on('close', () => res(got));
      s.on('error', () => undefined);
    });
    s.write(Buffer.concat([Buffer.from([0x13, 0x88]), query('portal.wireless.lab', 4), Buffer.alloc(5000 - query('portal.wireless.lab', 4).length)]));
    expect(await closed).toBe('');
    expect(relay.status().counters).toMatchObject({ droppedOversized: 1, queries: 0, tcpQueries: 0 });
    expect(up1.asked).toHaveLength(0);
  });

  describe('a TCP connection that pipelines queries', () => {
    /** A connection of the host's that sends `n` queries at once and reads nothing back; names of 243 bytes with `long`. */
    function pipeline(n: number, long = false): Socket {
      const s = connect(relayPort, RELAY);
      s.on('error', () => undefined);
      s.pause();
      const tail = long ? `.${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}` : '.lab';
      s.write(Buffer.concat(Array.from({ length: n }, (_, i) => framed(query(`host${i}${long ? 'x'.repeat(46 - String(i).length) : ''}${tail}`, i & 0xffff)))));
      return s;
    }

    it('has sixteen of them in flight at a time', async () => {
      up1.mode = 'silent';
      up2.mode = 'silent';
      relay.setServers(['127.0.0.2'], 'wireless');
      const s = pipeline(100);
      await waitFor('queries in flight', () => relay.status().inFlight >= 16, 2000, 5);
      await sleep(50);
      expect(relay.status()).toMatchObject({ inFlight: 16, counters: { tcpQueries: 16 } });
      s.destroy();
    });

    it('whose host reads nothing back: the answers waiting for it stay near 64 KiB, and it is read no further', async () => {
      const sockets: Socket[] = [];
      relay.close();
      const net: RelayNet = { ...realRelayNet, tcpServer: (a, p, on) => realRelayNet.tcpServer(a, p, (s) => on(sockets[sockets.push(s) - 1]!)) };
      relay = await startRelay(relayPort, {}, net);
      relay.setServers([], 'none'); // every answer a SERVFAIL at once
      // 40,000 SERVFAILs of 261 bytes: 10 MB, more than the kernel's buffers take between the two.
      const s = pipeline(40_000, true);
      let most = 0;
      let before = -1;
      // Until the relay takes no more: the kernel's buffers between the two are full.
      await waitFor(
        'the relay to stop taking queries',
        async () => {
          for (const x of sockets) most = Math.max(most, x.writableLength);
          const now = relay.status().counters.tcpQueries;
          const still = now === before;
          before = now;
          await sleep(100);
          return still;
        },
        20_000,
        0,
      );
      expect(before).toBeLessThan(40_000);
      // 64 KiB, and the answers to the sixteen queries in flight when it was reached (261 bytes each).
      expect(most).toBeLessThan(64 * 1024 + 16 * 263);
      s.destroy();
    });
  });

  it('1000 malformed, truncated and oversized packets: dropped and counted; every later reply carries its own question', async () => {
    const r = rng(1077);
    const sock = createSocket('udp4');
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
    const good = query('portal.wireless.lab', 42);
    const kinds: MalformedKind[] = ['random', 'cut', 'oversized', 'pointer'];
    for (let i = 0; i < 1000; i++) {
      sock.send(malformedPacket(kinds[i % kinds.length]!, good, r), relayPort, RELAY);
      // A good question after every ten: its answer means the ten before it were read (one queue,
      // in order), and the socket's buffer never overflows.
      if (i % 10 === 9) expect(addressIn((await askUdp(at(), good))!)).toBe('192.168.77.1');
    }
    sock.close();
    const c = relay.status().counters;
    expect(c.droppedMalformed + c.droppedOversized).toBe(1000);
    expect(c.droppedOversized).toBe(250);
    expect(c.queries).toBe(100);
    const names = Array.from({ length: 200 }, (_, i) => `host${i}.lab`);
    for (const n of names) up1.records[n] = `10.7.${names.indexOf(n) >> 8}.${names.indexOf(n) & 255}`;
    const answers = await Promise.all(names.map((n, i) => askUdp(at(), query(n, i), 5000)));
    for (const [i, a] of answers.entries()) {
      expect(a, names[i]).not.toBeNull();
      expect(readQuestion(a!).name).toBe(names[i]);
      expect(a!.readUInt16BE(0)).toBe(i);
      expect(addressIn(a!)).toBe(up1.records[names[i]!]);
    }
    expect(relay.status().counters).toMatchObject({ queries: 300, answered: 300, droppedOverload: 0 });
  });

  it('past the in-flight limit, queries are dropped and counted', async () => {
    relay.close();
    relay = await startRelay(relayPort, { timeoutMs: 500, maxInFlight: 2 });
    relay.setServers(['127.0.0.2'], 'wireless');
    up1.mode = 'silent';
    const pending = [1, 2].map((i) => askUdp(at(), query('portal.wireless.lab', i), 2000));
    expect(await waitFor('both queries in flight', () => relay.status().inFlight === 2, 2000, 5)).toBe(true);
    expect(await askUdp(at(), query('portal.wireless.lab', 3), 300)).toBeNull();
    expect(relay.status().counters.droppedOverload).toBe(1);
    for (const a of await Promise.all(pending)) expect(a!.readUInt16BE(2) & 15).toBe(2); // SERVFAIL once the one server timed out
  });

  it('a truncated UDP answer goes back as it is; the host then asks over TCP, relayed over TCP', async () => {
    up1.mode = 'truncated';
    const a = await askUdp(at(), query('portal.wireless.lab', 5));
    expect(a!.readUInt16BE(2) & 0x0200).toBe(0x0200);
    expect(relay.status().counters.truncated).toBe(1);
    up1.mode = 'answer';
    const t = await askTcp(at(), query('portal.wireless.lab', 6));
    expect(t!.readUInt16BE(0)).toBe(6);
    expect(addressIn(t!)).toBe('192.168.77.1');
    expect(up1.asked.at(-1)).toMatchObject({ tcp: true, name: 'portal.wireless.lab' });
    expect(relay.status().counters.tcpQueries).toBe(1);
  });

  it('new servers: the next query goes to them, no restart', async () => {
    relay.setServers(['127.0.0.3'], 'wireless');
    expect(addressIn((await askUdp(at(), query('only.second.lab', 1)))!)).toBe('10.9.9.9');
    expect(up1.asked).toHaveLength(0);
  });

  it('compares IPv6 server addresses as the kernel writes them', () => {
    expect(canonicalAddress('2001:DB8:0:0:0:0:0:53')).toBe('2001:db8::53');
    expect(canonicalAddress('fd00:0:0:1:0:0:0:1')).toBe('fd00:0:0:1::1');
    expect(canonicalAddress('192.168.77.53')).toBe('192.168.77.53');
    expect(canonicalAddress('nonsense')).toBeNull();
  });
});

describe('DNS relay with its cache', () => {
  let cached: DnsRelay;
  let cachedPort: number;
  const atCached = () => ({ address: RELAY, port: cachedPort });

  beforeEach(async () => {
    cachedPort = await freePort();
    cached = await startRelay(cachedPort, { cache: { names: 100, bytes: 1 << 20 } });
    cached.setServers(['127.0.0.2', '127.0.0.3'], 'wireless');
  });

  afterEach(() => cached.close());

  it('a repeated name is answered from the cache, over UDP and TCP, each host with its own ID; the server is asked once', async () => {
    for (const id of [1, 2, 3]) {
      const a = await askUdp(atCached(), query('portal.wireless.lab', id));
      expect(a!.readUInt16BE(0)).toBe(id);
      expect(addressIn(a!)).toBe('192.168.77.1');
    }
    expect(addressIn((await askTcp(atCached(), query('PORTAL.wireless.lab', 4)))!)).toBe('192.168.77.1');
    expect(up1.asked).toHaveLength(1);
    expect(cached.status().cache).toMatchObject({ capacity: 100, names: 1, hits: 3, misses: 1, flushes: 0 });
  });

  it('new servers empty it: the next answer comes from the new network', async () => {
    await askUdp(atCached(), query('portal.wireless.lab', 1));
    cached.setServers(['127.0.0.3'], 'wireless');
    expect(addressIn((await askUdp(atCached(), query('portal.wireless.lab', 2)))!)).toBe('192.168.77.2');
    expect(up2.asked).toHaveLength(1);
    expect(cached.status().cache).toMatchObject({ names: 1, flushes: 1 });
  });

  it('a truncated UDP answer is asked again over TCP and kept whole, never truncated', async () => {
    up1.mode = 'truncated';
    const a = await askUdp(atCached(), query('portal.wireless.lab', 5));
    expect(a!.readUInt16BE(2) & 0x0200).toBe(0); // the whole answer fits the host's 512 bytes
    expect(addressIn(a!)).toBe('192.168.77.1');
    expect(up1.asked.map((q) => q.tcp)).toEqual([false, true]);
    const again = await askUdp(atCached(), query('portal.wireless.lab', 6));
    expect(again!.readUInt16BE(2) & 0x0200).toBe(0);
    expect(up1.asked).toHaveLength(2);
  });

  it("a forged answer (another address, port, ID or question) is never kept: what is kept is the server's", async () => {
    const close = await forgeBefore(up1, 'portal.wireless.lab.evil', 3600);
    expect(addressIn((await askUdp(atCached(), query('portal.wireless.lab', 3)))!)).toBe('192.168.77.1');
    up1.onUdpQuery = () => undefined;
    for (const name of ['portal.wireless.lab', 'portal.wireless.lab.evil']) {
      const a = await askUdp(atCached(), query(name, 4));
      // The forged answer to another question was not kept: that name is asked, of the next server.
      expect(addressIn(a!)).toBe(name === 'portal.wireless.lab' ? '192.168.77.1' : 'rcode=3');
    }
    expect(up2.asked.map((q) => q.name)).toEqual(['portal.wireless.lab.evil']);
    expect(cached.status().cache).toMatchObject({ names: 1, hits: 1 });
    close();
  });
});
