// Unit tests for one passthru conversation: a real TCP pair on 127.0.0.1 (the client plays the
// host's socat child), a fake PassthruSystem standing in for the datagram side, where the test
// plays the daemon. No root, no network beyond loopback, no real UNIX sockets.
//
// The conversation's timers and clocks are the fake system's: time moves only when a test
// advances it, so "not before the linger" or "a gap of 5 ms" is checked exactly, not by sleeping.
// Only the loopback I/O is waited for, on a condition.
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Conversation, type ConversationLimits } from '../../agents/passthru/conversation';
import type { PortCounters } from '../../agents/common/status';
import { newCounters } from '../../agents/passthru/counters';
import { waitFor as waitForCondition } from '../../lab/proc';
import { FakeSystem, type FakeDatagram } from '../helpers/fake-system';

const DAEMON = '/run/wpa_supplicant/wlan0';
const CLIENT = '/run/wifibox-passthru/9877-1';
/** Limits small enough for the tests to reach each of them (the agent's own are in agents/passthru/agent.ts). */
const LIMITS: ConversationLimits = { maxRequest: 8192, lingerMs: 10, idleMs: 500, maxBuffered: 64 * 1024, detachWaitMs: 50, messageGapMs: 5 };
const log = pino({ level: 'silent' });

/** Loopback I/O takes well under a millisecond: looked at every millisecond. */
const waitFor = (what: string, cond: () => boolean, timeoutMs = 1000) => waitForCondition(what, cond, timeoutMs, 1);

/** The host's socat child: writes one request, half-closes, relays whatever comes back. */
class HostChild {
  /** What it read, one entry per read, with the fake clock's time. */
  readonly chunks: { data: Buffer; at: number }[] = [];
  /** 'data:<text>' / 'end' / 'close', in order. */
  readonly seen: string[] = [];
  ended = false;
  closed = false;

  constructor(
    readonly sock: net.Socket,
    clock: () => number,
  ) {
    sock.on('data', (data: Buffer) => {
      this.chunks.push({ data, at: clock() });
      this.seen.push(`data:${data.length > 64 ? `<${data.length} bytes>` : data.toString()}`);
    });
    sock.on('end', () => {
      this.ended = true;
      this.seen.push('end');
    });
    sock.on('close', () => {
      this.closed = true;
      this.seen.push('close');
    });
    sock.on('error', () => undefined);
  }

  received(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.data));
  }

  /** One datagram's bytes, then the half-close, as the host child does. */
  request(msg: string | Buffer): void {
    this.sock.write(msg);
    this.sock.end();
  }
}

interface Harness {
  sys: FakeSystem;
  dgram: FakeDatagram;
  counters: PortCounters;
  conv: Conversation;
  /** The guest's end of the connection, the one the conversation reads and writes. */
  guest: net.Socket;
  /** The guest has read the host's half-close (and the conversation has seen it). */
  hostEnded: boolean;
  host: HostChild;
  limits: ConversationLimits;
  closedCalls: Conversation[];
  /** Every write the conversation made to its TCP socket, with the fake clock's time. */
  writes: { data: string; at: number }[];
  /** sys.removed as it was when onClosed ran. */
  removedAtClose: string[] | null;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function open(over: Partial<ConversationLimits> = {}, opts: { paused?: boolean; stale?: boolean } = {}): Promise<Harness> {
  const sys = new FakeSystem();
  if (opts.stale) sys.stale.add(CLIENT);
  const counters = newCounters();
  const limits = { ...LIMITS, ...over };
  const partial: Partial<Harness> = { sys, counters, limits, closedCalls: [], removedAtClose: null, writes: [], hostEnded: false };
  const guestSockets: net.Socket[] = [];
  let onConv: (() => void) | null = null;
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    guestSockets.push(sock);
    const h = partial as Harness;
    h.guest = sock;
    const write = sock.write as (...args: unknown[]) => boolean;
    sock.write = ((...args: unknown[]) => {
      h.writes.push({ data: String(args[0]), at: sys.monotonic() });
      return write.apply(sock, args);
    }) as typeof sock.write;
    h.conv = new Conversation(sock, {
      id: 1,
      daemonPath: DAEMON,
      clientPath: CLIENT,
      limits,
      counters,
      sys,
      log,
      onClosed: (c) => {
        h.closedCalls.push(c);
        h.removedAtClose = [...sys.removed];
      },
    });
    // Added after the conversation's own listener: by the time this runs, it has seen the FIN.
    sock.on('end', () => {
      h.hostEnded = true;
    });
    h.dgram = sys.last;
    onConv?.();
  });
  // Nothing to wait out at the end: the conversation's timers are the fake system's, and go with it.
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of guestSockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const convReady = new Promise<void>((resolve) => {
    onConv = resolve;
  });
  const sock = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  const host = new HostChild(sock, () => sys.monotonic());
  if (opts.paused) sock.pause();
  cleanups.push(() => void sock.destroy());
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  await convReady;
  partial.host = host;
  return partial as Harness;
}

function sentText(h: Harness): { msg: string; dest: string }[] {
  return h.dgram.sent.map((d) => ({ msg: d.msg.toString(), dest: d.dest }));
}

/** Waits until the guest has read `bytes` bytes from the host in all: what is written next is a read of its own. */
async function readByGuest(h: Harness, bytes: number): Promise<void> {
  await waitFor(`${bytes} bytes read by the guest`, () => h.guest.bytesRead >= bytes);
}

/** The host's half-close is in and the reply through: the linger runs out, and the conversation closes. */
async function lingerOut(h: Harness): Promise<void> {
  await waitFor("the host's half-close at the guest", () => h.hostEnded);
  h.sys.advance(h.limits.lingerMs);
}

/** The host's request, alone at the daemon, then its half-close; after both, the daemon's `reply`. */
async function exchange(h: Harness, request: string, reply: string): Promise<void> {
  h.host.request(request);
  await waitFor(`${request} at the daemon`, () => h.dgram.sent.length === 1);
  expect(sentText(h)).toEqual([{ msg: request, dest: DAEMON }]);
  // The reply comes after the host's half-close, as a real host child's does.
  await waitFor("the host's half-close at the guest", () => h.hostEnded);
  h.dgram.deliver(reply);
}

/** ATTACH, half-close, "OK\n": an attached monitor. */
async function attach(h: Harness): Promise<void> {
  await exchange(h, 'ATTACH', 'OK\n');
  expect(h.conv.attached).toBe(true);
}

describe('Conversation: a peer that streams without end', () => {
  it('is refused once it passes the request limit, and nothing more is buffered', async () => {
    const h = await open({ maxRequest: 4096 });
    for (let i = 0; i < 8; i++) h.host.sock.write(Buffer.alloc(1024, 0x41));
    await waitFor('the refusal', () => h.host.received().toString() === 'FAIL\n');
    await waitFor('the close', () => h.closedCalls.length === 1);
    expect(h.dgram.sent).toEqual([]);
    expect(h.counters.oversized).toBe(1);
  });
});

describe('Conversation: a host that sends on and on', () => {
  /** Requests written one by one, each a read of its own; what reached the daemon, joined. */
  async function sendEach(h: Harness, n: number): Promise<string> {
    const all = Array.from({ length: n }, (_, i) => `R${i};`);
    let bytes = 0;
    for (const r of all) {
      h.host.sock.write(r);
      // Read by the guest, though maybe not taken from its buffer while it holds the host back.
      await readByGuest(h, (bytes += r.length));
      h.sys.advance(3); // requests some time apart, as a host's are: a retry's back-off runs meanwhile
    }
    return all.join('');
  }
  const atDaemon = (h: Harness) => h.dgram.sent.map((d) => d.msg.toString());

  it("is not read while a request waits for room in the daemon's queue: that one is retried alone, and all arrive in order", async () => {
    const h = await open({ idleMs: 10_000 });
    h.sys.onSend = (_msg, _dest, sock) => setImmediate(() => sock.deliver('OK\n'));
    h.sys.failNextSends('EAGAIN', 40);
    const all = await sendEach(h, 20);
    // Its first request still waits for room (60 ms of 40 failures' back-off): none after it was taken in.
    expect(h.counters.bytesIn).toBe('R0;'.length);
    // The retries back off 1, 2, 4, 8, then 16 ms: 40 failures take about 600 ms.
    await h.sys.advanceUntil('everything at the daemon', () => atDaemon(h).join('').length === all.length, 16, 5000);
    expect(atDaemon(h).join('')).toBe(all);
    expect(atDaemon(h)[0]).toBe('R0;');
    expect(h.counters).toMatchObject({ errors: 0, bytesIn: all.length });
  });

  it('is not read while four of its requests are unanswered; each reply lets the next in', async () => {
    const h = await open({ idleMs: 10_000 });
    const all = await sendEach(h, 12);
    // Every request has reached the guest: only the four it took are at the daemon.
    expect(atDaemon(h)).toEqual(['R0;', 'R1;', 'R2;', 'R3;']);
    for (let i = 0; atDaemon(h).join('') !== all; i++) {
      expect(i).toBeLessThan(12);
      const before = atDaemon(h).length;
      h.dgram.deliver('OK\n');
      await waitFor('the next request at the daemon', () => atDaemon(h).length > before);
    }
    expect(h.host.received().toString()).toMatch(/^(OK\n)+$/);
  });
});

describe('Conversation: a client path left by a crashed run', () => {
  it('is removed and bound again', async () => {
    const h = await open({}, { stale: true });
    expect(h.sys.removed).toEqual([CLIENT]);
    expect(h.dgram.binds).toEqual([CLIENT]);
  });
});

describe('Conversation: one request, one reply', () => {
  it('relays a request sent before the host half-closes, relays the reply after, then closes after the linger', async () => {
    const h = await open();
    expect(h.dgram.binds).toEqual([CLIENT]);
    // A fresh path is bound straight away: nothing to remove first.
    expect(h.sys.removed).toEqual([]);

    h.host.request('PING');
    await waitFor('PING at the daemon', () => h.dgram.sent.length >= 1);
    await waitFor("the host's half-close at the guest", () => h.hostEnded);
    h.sys.advance(30); // the host's FIN is in; nothing more may be sent, and nothing closed yet
    expect(sentText(h)).toEqual([{ msg: 'PING', dest: DAEMON }]);
    expect(h.host.seen).toEqual([]);
    expect(h.guest.writableEnded).toBe(false);
    expect(h.conv.isClosed).toBe(false);
    expect(h.closedCalls).toEqual([]);

    expect(h.dgram.deliver('PONG\n')).toBe(true);
    // Closed after the linger, not at once.
    expect(h.conv.lingering).toBe(true);
    h.sys.advance(LIMITS.lingerMs - 1);
    expect(h.guest.writableEnded).toBe(false);
    expect(h.closedCalls).toEqual([]);
    h.sys.advance(1);
    expect(h.guest.writableEnded).toBe(true);
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.received().toString()).toBe('PONG\n');
    expect(h.host.seen.slice(0, 2)).toEqual(['data:PONG\n', 'end']);
    expect(h.conv.lingering).toBe(true);

    expect(h.closedCalls).toEqual([h.conv]);
    expect(h.conv.isClosed).toBe(true);
    expect(h.dgram.closed).toBe(true);
    // Removed on close, before onClosed ran.
    expect(h.removedAtClose).toEqual([CLIENT]);
    expect(h.sys.removed).toEqual([CLIENT]);
    expect(h.counters).toEqual({ ...newCounters(), requests: 1, replies: 1, bytesIn: 4, bytesOut: 5 });
    expect(h.dgram.sent).toHaveLength(1);
  });

  it('relays a reply that comes before the host half-closes, and closes only after the half-close', async () => {
    const h = await open();
    h.host.sock.write('PING');
    await waitFor('PING at the daemon', () => h.dgram.sent.length === 1);
    h.dgram.deliver('PONG\n');
    await waitFor('the reply', () => h.host.chunks.length === 1);
    h.sys.advance(30); // past the linger: still open, the host has not half-closed
    expect(h.guest.writableEnded).toBe(false);
    expect(h.host.ended).toBe(false);
    expect(h.conv.isClosed).toBe(false);
    h.host.sock.end();
    await lingerOut(h);
    expect(h.closedCalls).toHaveLength(1);
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.received().toString()).toBe('PONG\n');
  });

  it('relays a datagram that straggles in during the linger, as a read of its own', async () => {
    const h = await open();
    await exchange(h, 'PING', 'PONG\n');
    await waitFor('the reply', () => h.host.chunks.length === 1);
    h.sys.advance(LIMITS.lingerMs - 1);
    expect(h.conv.lingering).toBe(true);
    expect(h.conv.isClosed).toBe(false);
    h.dgram.deliver('PONG2\n');
    await lingerOut(h);
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.seen.slice(0, 3)).toEqual(['data:PONG\n', 'data:PONG2\n', 'end']);
    expect(h.counters).toMatchObject({ requests: 1, replies: 2, bytesOut: 11 });
  });

  it('turns an empty reply into a single "\\n"', async () => {
    const h = await open();
    h.host.request('BSS RANGE=ALL MASK=0x2');
    await waitFor('the request at the daemon', () => h.dgram.sent.length === 1);
    h.dgram.deliver(Buffer.alloc(0));
    await lingerOut(h);
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.received().toString('hex')).toBe(Buffer.from('\n').toString('hex'));
    expect(h.host.seen.slice(0, 2)).toEqual(['data:\n', 'end']);
    expect(h.closedCalls).toHaveLength(1);
    expect(h.counters).toEqual({
      ...newCounters(),
      requests: 1,
      replies: 1,
      emptyReplies: 1,
      bytesIn: 'BSS RANGE=ALL MASK=0x2'.length,
      bytesOut: 1,
    });
  });

  it('gathers a large request split across TCP writes into one datagram', async () => {
    const h = await open();
    const a = Buffer.alloc(3000, 'a');
    const b = Buffer.alloc(3000, 'b');
    h.host.sock.write(a);
    await readByGuest(h, a.length);
    h.host.sock.write(b);
    await readByGuest(h, a.length + b.length);
    h.host.sock.end();
    await waitFor('the request at the daemon', () => h.dgram.sent.length >= 1);
    h.sys.advance(40); // longer than the gather's quiet spell: no second datagram follows
    expect(h.dgram.sent).toHaveLength(1);
    expect(h.dgram.sent[0]!.dest).toBe(DAEMON);
    expect(h.dgram.sent[0]!.msg.length).toBe(6000);
    expect(h.dgram.sent[0]!.msg.equals(Buffer.concat([a, b]))).toBe(true);
    h.dgram.deliver('OK\n');
    await lingerOut(h);
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.received().toString()).toBe('OK\n');
    expect(h.counters).toMatchObject({ requests: 1, replies: 1, bytesIn: 6000, bytesOut: 3, oversized: 0, errors: 0 });
  });

  it('gathers a large request from a host that does not half-close, after a quiet spell', async () => {
    const h = await open();
    const req = Buffer.alloc(2000, 'x');
    h.host.sock.write(req);
    await readByGuest(h, req.length);
    expect(h.dgram.sent).toEqual([]); // gathering
    h.sys.advance(30); // the quiet spell
    expect(h.dgram.sent).toHaveLength(1);
    h.sys.advance(30);
    expect(h.dgram.sent).toHaveLength(1);
    expect(h.dgram.sent[0]!.msg.equals(req)).toBe(true);
    expect(h.host.ended).toBe(false);
  });

  it('passes a request of exactly maxRequest bytes', async () => {
    const h = await open();
    const req = Buffer.alloc(LIMITS.maxRequest, 'r');
    h.host.request(req);
    await waitFor('the request at the daemon', () => h.dgram.sent.length >= 1);
    expect(h.dgram.sent[0]!.msg.equals(req)).toBe(true);
    expect(h.counters.oversized).toBe(0);
  });

  it('refuses a request larger than maxRequest with FAIL, sending nothing to the daemon', async () => {
    const h = await open();
    h.host.request(Buffer.alloc(9000, 'z'));
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.received().toString()).toBe('FAIL\n');
    expect(h.host.seen.slice(0, 2)).toEqual(['data:FAIL\n', 'end']);
    expect(h.dgram.attempts).toBe(0);
    expect(h.dgram.sent).toEqual([]);
    await waitFor('onClosed', () => h.closedCalls.length === 1);
    expect(h.counters).toMatchObject({ oversized: 1, requests: 0, replies: 0, bytesOut: 5, errors: 0 });
  });

  it('retries a send that meets EAGAIN (the daemon queue is full) and still relays the reply', async () => {
    const h = await open();
    h.sys.failNextSends('EAGAIN', 3);
    h.host.request('STATUS');
    await waitFor('the first attempt', () => h.dgram.attempts >= 1);
    expect(h.dgram.attempts).toBe(1);
    expect(h.dgram.sent).toEqual([]);
    h.sys.advance(1 + 2 + 4); // the retries back off 1, 2, then 4 ms
    expect(h.dgram.attempts).toBe(4);
    expect(sentText(h)).toEqual([{ msg: 'STATUS', dest: DAEMON }]);
    h.dgram.deliver('wpa_state=COMPLETED\n');
    await lingerOut(h);
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.received().toString()).toBe('wpa_state=COMPLETED\n');
    h.sys.advance(20);
    expect(h.dgram.sent).toHaveLength(1);
    expect(h.counters).toMatchObject({ requests: 1, replies: 1, errors: 0 });
  });

  it('closes the connection without a byte when the daemon is not there (ENOENT)', async () => {
    const h = await open();
    h.sys.failNextSends('ENOENT', 1);
    h.host.request('PING');
    await waitFor("the host child's end", () => h.host.ended);
    await waitFor('onClosed', () => h.closedCalls.length === 1);
    expect(h.host.chunks).toEqual([]);
    expect(h.host.seen[0]).toBe('end');
    expect(h.dgram.sent).toEqual([]);
    expect(h.dgram.attempts).toBe(1);
    expect(h.dgram.closed).toBe(true);
    expect(h.removedAtClose).toEqual([CLIENT]);
    expect(h.counters).toMatchObject({ errors: 1, replies: 0, bytesOut: 0 });
  });
});

describe('Conversation: its client socket fails', () => {
  it('a poll error on the client socket closes the connection, removes the socket file and counts an error', async () => {
    const h = await open();
    await attach(h);
    h.dgram.failPoll('EIO');
    await waitFor("the host child's end", () => h.host.ended);
    await waitFor('onClosed', () => h.closedCalls.length === 1);
    expect(h.conv.isClosed).toBe(true);
    expect(h.removedAtClose).toEqual([CLIENT]);
    expect(h.counters.errors).toBe(1);
  });
});

describe('Conversation: monitors', () => {
  it('keeps an attached monitor open, paces its events, and DETACHes on close', async () => {
    const h = await open();
    await attach(h);
    h.sys.advance(LIMITS.idleMs + 100); // far past the linger and the idle timeout
    expect(h.guest.writableEnded).toBe(false);
    expect(h.conv.attached).toBe(true);
    expect(h.conv.isClosed).toBe(false);
    expect(h.conv.lingering).toBe(false);
    expect(h.closedCalls).toEqual([]);
    await waitFor('the OK', () => h.host.received().toString() === 'OK\n');
    expect(h.host.ended).toBe(false);

    h.dgram.deliver('<3>CTRL-EVENT-A');
    h.dgram.deliver('<3>CTRL-EVENT-B');
    await waitFor('the first event', () => h.host.chunks.length >= 2);
    h.sys.advance(LIMITS.messageGapMs - 1);
    expect(h.writes.map((w) => w.data)).toEqual(['OK\n', '<3>CTRL-EVENT-A']);
    h.sys.advance(1);
    // Everything written has been read: no other chunk is on its way.
    await waitFor('both events', () => h.host.received().length === h.counters.bytesOut);
    const [ok, evA, evB, ...rest] = h.host.chunks;
    expect(rest).toEqual([]);
    expect(ok!.data.toString()).toBe('OK\n');
    // Two separate reads on the host, so socat makes two datagrams of them.
    expect(evA!.data.toString()).toBe('<3>CTRL-EVENT-A');
    expect(evB!.data.toString()).toBe('<3>CTRL-EVENT-B');
    // messageGapMs apart as the client sees them.
    expect(evB!.at - evA!.at).toBeGreaterThanOrEqual(LIMITS.messageGapMs);
    expect(h.counters).toMatchObject({ requests: 1, replies: 1, events: 2, bytesOut: 3 + 15 + 15 });

    h.conv.close('test');
    expect(sentText(h)).toEqual([
      { msg: 'ATTACH', dest: DAEMON },
      { msg: 'DETACH', dest: DAEMON },
    ]);
    // Not gone before the daemon answered DETACH.
    h.sys.advance(LIMITS.detachWaitMs - 1);
    expect(h.closedCalls).toEqual([]);
    expect(h.sys.removed).toEqual([]);
    h.dgram.deliver('OK\n');
    expect(h.closedCalls).toEqual([h.conv]);
    expect(h.conv.isClosed).toBe(true);
    expect(h.removedAtClose).toEqual([CLIENT]);
    expect(h.dgram.closed).toBe(true);
    await waitFor("the host child's end", () => h.host.ended);
    // The DETACH reply is not relayed to the host.
    expect(h.host.received().toString()).toBe('OK\n<3>CTRL-EVENT-A<3>CTRL-EVENT-B');
    expect(h.counters.replies).toBe(1);
  });

  it('gives up waiting for the DETACH reply after detachWaitMs', async () => {
    const h = await open();
    await attach(h);
    h.conv.close('test');
    expect(sentText(h).map((d) => d.msg)).toEqual(['ATTACH', 'DETACH']);
    h.sys.advance(LIMITS.detachWaitMs - 1);
    expect(h.closedCalls).toEqual([]);
    expect(h.dgram.closed).toBe(false);
    h.sys.advance(1);
    expect(h.closedCalls).toEqual([h.conv]);
    expect(h.removedAtClose).toEqual([CLIENT]);
    expect(h.dgram.closed).toBe(true);
  });

  it('DETACHes a monitor whose host child goes away', async () => {
    const h = await open();
    await attach(h);
    // The host child had already half-closed, so its exit sends nothing: the guest finds out
    // on writing the next events (RST, then EPIPE), or through keepalive.
    h.host.sock.destroy();
    await waitFor('the host child gone', () => h.host.closed);
    h.sys.advance(100);
    expect(h.conv.isClosed).toBe(false);
    expect(h.dgram.sent).toHaveLength(1);
    for (let k = 0; k < 5; k++) {
      h.dgram.deliver(`<3>CTRL-EVENT-${k}`);
      h.sys.advance(LIMITS.messageGapMs);
    }
    await waitFor('DETACH at the daemon', () => h.dgram.sent.length === 2);
    expect(sentText(h)[1]).toEqual({ msg: 'DETACH', dest: DAEMON });
    h.dgram.deliver('OK\n');
    expect(h.closedCalls).toEqual([h.conv]);
  });

  it('closes after the linger, without DETACH, when ATTACH is refused', async () => {
    const h = await open();
    await exchange(h, 'ATTACH', 'FAIL\n');
    expect(h.conv.attached).toBe(false);
    h.sys.advance(LIMITS.lingerMs - 1);
    expect(h.closedCalls).toEqual([]);
    h.sys.advance(1);
    expect(h.closedCalls).toHaveLength(1);
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.received().toString()).toBe('FAIL\n');
    expect(sentText(h).map((d) => d.msg)).toEqual(['ATTACH']);
  });
});

describe('Conversation: limits', () => {
  it('closes a connection that says nothing after idleMs', async () => {
    const idleMs = 100;
    const h = await open({ idleMs });
    h.sys.advance(idleMs - 1);
    expect(h.guest.writableEnded).toBe(false);
    expect(h.conv.isClosed).toBe(false);
    h.sys.advance(1);
    expect(h.closedCalls).toHaveLength(1);
    await waitFor("the host child's end", () => h.host.ended);
    expect(h.host.chunks).toEqual([]);
    expect(h.dgram.attempts).toBe(0);
    expect(h.removedAtClose).toEqual([CLIENT]);
    expect(h.counters).toEqual(newCounters());
  });

  it('drops events beyond maxBuffered for a host that does not read (burst)', async () => {
    const maxBuffered = 4096;
    const h = await open({ maxBuffered }, { paused: true });
    await attach(h);
    h.sys.advance(10);
    const n = 64;
    const event = (i: number) => Buffer.from(`<3>EV ${String(i).padStart(4, '0')} `.padEnd(1024, '.'));
    for (let i = 0; i < n; i++) h.dgram.deliver(event(i));
    h.sys.advance(80); // the paced queue drains
    expect(h.counters.events).toBe(n);
    expect(h.counters.dropped).toBeGreaterThan(0);
    expect(h.counters.bytesOut).toBeLessThanOrEqual(3 + maxBuffered + 1024);
    // Whatever was not dropped reaches the host once it reads, whole and in order.
    h.host.sock.resume();
    await waitFor('everything written', () => h.host.received().length === h.counters.bytesOut);
    const got = h.host.received();
    expect(got.subarray(0, 3).toString()).toBe('OK\n');
    const body = got.subarray(3);
    expect(body.length % 1024).toBe(0);
    const seqs: number[] = [];
    for (let off = 0; off < body.length; off += 1024) seqs.push(Number(body.subarray(off + 6, off + 10).toString()));
    expect(seqs.length + h.counters.dropped).toBe(n);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('keeps what it buffers toward a stalled host within maxBuffered once the kernel buffers are full', async () => {
    const maxBuffered = 4096;
    const h = await open({ maxBuffered, messageGapMs: 0 }, { paused: true });
    await attach(h);
    const size = 1024;
    let i = 0;
    let maxWritable = 0;
    // The socket buffers of a loopback pair take a few MB; deliver until drops begin (at most 64 MB).
    while (h.counters.dropped === 0 && i < 64 * 1024) {
      h.dgram.deliver(Buffer.from(`<3>EV ${String(i).padStart(6, '0')} `.padEnd(size, '.')));
      i++;
      maxWritable = Math.max(maxWritable, h.guest.writableLength);
      if (i % 32 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(h.counters.dropped).toBeGreaterThan(0);
    expect(maxWritable).toBeLessThanOrEqual(maxBuffered);
    // More bursts after the first drop: still bounded.
    for (let k = 0; k < 256; k++) {
      h.dgram.deliver(Buffer.from(`<3>EV ${String(i).padStart(6, '0')} `.padEnd(size, '.')));
      i++;
      maxWritable = Math.max(maxWritable, h.guest.writableLength);
    }
    expect(maxWritable).toBeLessThanOrEqual(maxBuffered);
    expect(h.counters.dropped).toBeGreaterThanOrEqual(256);
    expect(h.counters.bytesOut).toBeLessThanOrEqual(3 + (i - h.counters.dropped) * size);
    h.host.sock.resume();
    await waitFor('everything written', () => h.host.received().length === h.counters.bytesOut, 3000);
    expect(h.host.received().length).toBe(3 + (i - h.counters.dropped) * size);
  });
});

/** Both clocks `fraction` into a millisecond, at least 20 ms on: any gap since the last message is long past. */
function toFractionOfMillisecond(h: Harness, fraction: number): void {
  const t = h.sys.monotonic();
  h.sys.advance(Math.floor(t) + 20 + fraction - t);
}

// Regression: pacing once kept `lastWrite` as Date.now(), in whole milliseconds, so two
// messages that straddled a millisecond boundary left up to ~1 ms sooner than messageGapMs
// apart (timers add their own 1 ms granularity). With a gap of 1 ms the second message went
// out at once, and the host read both as one datagram. The fake wall clock, like Date.now(),
// gives whole milliseconds.
describe('Conversation: message pacing', () => {
  it('keeps at least messageGapMs between two events that straddle a millisecond boundary', async () => {
    const h = await open({ messageGapMs: 5 });
    await attach(h);
    const gaps: number[] = [];
    // The first event late in a millisecond, the second 0.1 ms into the next.
    for (const [k, late] of [0.9, 0.99, 0.5].entries()) {
      toFractionOfMillisecond(h, late);
      h.dgram.deliver(`<3>CTRL-EVENT-A${k}`);
      h.sys.advance(1 - late + 0.1);
      h.dgram.deliver(`<3>CTRL-EVENT-B${k}`);
      h.sys.advance(5 + 1);
      const [a, b] = h.writes.slice(1 + 2 * k);
      expect([a!.data, b!.data]).toEqual([`<3>CTRL-EVENT-A${k}`, `<3>CTRL-EVENT-B${k}`]);
      gaps.push(b!.at - a!.at);
    }
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(5);
  });

  it('does not write the second of two events at once with messageGapMs 1', async () => {
    // Before the fix the second event was written in the same tick as the first (~0.15 ms later),
    // and the host read the two as one: this test's client then saw "<3>CTRL-EVENT-A<3>CTRL-EVENT-B".
    const h = await open({ messageGapMs: 1 });
    await attach(h);
    toFractionOfMillisecond(h, 0.9);
    h.dgram.deliver('<3>CTRL-EVENT-A');
    h.sys.advance(0.2); // the wall clock's next millisecond
    h.dgram.deliver('<3>CTRL-EVENT-B');
    expect(h.writes.map((w) => w.data)).toEqual(['OK\n', '<3>CTRL-EVENT-A']);
    h.sys.advance(1);
    const [, a, b] = h.writes;
    expect([a!.data, b!.data]).toEqual(['<3>CTRL-EVENT-A', '<3>CTRL-EVENT-B']);
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(1);
    await waitFor('both events received', () => h.host.received().length === 3 + 30);
  });
});

describe('Conversation: one open connection (a client that keeps it)', () => {
  it('answers each new request at once: pacing holds back only messages the host has not asked for', async () => {
    const h = await open({ messageGapMs: 200 });
    for (let i = 0; i < 3; i++) {
      const before = h.writes.length;
      h.host.sock.write(`PING${i}`);
      await waitFor('the request', () => h.dgram.sent.length === i + 1);
      h.dgram.deliver('PONG\n');
      expect(h.writes).toHaveLength(before + 1); // at once: the fake clock has not moved
    }
    const gaps = h.writes.slice(1).map((w, i) => w.at - h.writes[i]!.at);
    // Without the reset each reply would wait out the 200 ms gap.
    expect(Math.max(...gaps)).toBeLessThan(100);
    expect(h.counters).toMatchObject({ requests: 3, replies: 3 });
  });
});
