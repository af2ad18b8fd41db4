// wifibox-forward's TCP lines on loopback: half-close, backpressure, the connection limit, idle
// cleanup, a refusing target, a reset, range= and a line without fork. Each twice: with the pair
// joined in the kernel (splice, as the agent runs) and carried by Node's streams (what a pair the
// kernel join cannot take, or a -u line, gets).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realSystem, type ForwardSystem } from '../../agents/forward/system';
import { sleep, waitFor } from '../../lab/proc';
import { freePorts, startAgent as startAgentOn, type RunningAgent } from '../helpers/forward';

let running: RunningAgent | null = null;
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await running?.stop();
  running = null;
  for (const s of servers.splice(0)) s.close();
});

/** A target on 127.0.0.1:port; `onConnection` gets each connection (half-open allowed). */
async function target(port: number, onConnection: (s: Socket) => void): Promise<Socket[]> {
  const seen: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    seen.push(s);
    sockets.push(s);
    s.on('error', () => undefined);
    onConnection(s);
  });
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', res));
  servers.push(server);
  return seen;
}

function client(port: number, from = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from, allowHalfOpen: true });
    sockets.push(s);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything a socket receives until its end; null if it is closed by a reset or error. */
function readAll(s: Socket): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', () => resolve(null));
    s.on('close', () => resolve(chunks.length ? Buffer.concat(chunks) : null));
  });
}

/** How a connection that sends nothing ends: reset (refused, before or after connecting), or ended. */
function refusal(port: number, from = '127.0.0.1'): Promise<'reset' | 'ended'> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: from });
    sockets.push(s);
    s.on('data', () => undefined);
    s.on('error', () => resolve('reset'));
    s.on('end', () => resolve('ended'));
  });
}

/** The other side has ended (or reset) the connection. */
const ended = (s: Socket) =>
  new Promise<void>((res) => {
    if (s.readableEnded || s.destroyed) res();
    for (const e of ['end', 'close', 'error']) s.once(e, () => res());
  });

const run = promisify(execFile);

/** A client that sends "a", then "b" as urgent data, then "cdef", ends, and prints what comes back. */
const URGENT_CLIENT = `
use Socket; use IO::Socket::INET;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0], Proto => "tcp") or die "connect: $!";
send($s, "a", 0); select(undef, undef, undef, 0.05);
send($s, "b", MSG_OOB); select(undef, undef, undef, 0.05);
send($s, "cdef", 0); shutdown($s, 1);
my $got = ""; while (sysread($s, my $buf, 4096)) { $got .= $buf } print $got;
`;

let joins = 0;
beforeEach(() => {
  joins = 0;
});

/** The real system, its kernel join counted, or refused as when the kernel join cannot take a pair. */
function systemFor(kernel: boolean): ForwardSystem {
  const noJoin = () => {
    throw Object.assign(new Error('no kernel join in this test'), { code: 'ENOSYS' });
  };
  return {
    ...realSystem,
    join: kernel
      ? (client, target, events) => {
          joins++;
          return realSystem.join(client, target, events);
        }
      : noJoin,
  };
}

describe.each([
  ['the kernel (splice)', true],
  ["Node's streams", false],
] as const)('TCP-LISTEN,fork → TCP4, carried by %s', (_by, kernel) => {
  const startAgent = (text: string) => startAgentOn(text, {}, systemFor(kernel));

  it('passes a half-close on and keeps the other direction open for a late reply', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    await target(to, (s) => {
      let got = '';
      s.on('data', (c) => (got += c));
      // The reply comes 700 ms after the client's end: socat's default -t (0.5 s) would cut it off.
      s.on('end', () => void sleep(700).then(() => s.end(`got ${got}`)));
    });
    const a = (running = await startAgent(`TCP4-LISTEN:${listen},bind=127.0.0.1,fork,reuseaddr TCP4:127.0.0.1:${to}\n`));
    const c = await client(listen);
    const reply = readAll(c);
    c.end('hello');
    expect((await reply)?.toString()).toBe('got hello');
    await waitFor('the pair to be gone', () => a.line(1).active === 0, 3000, 5);
    expect(a.line(1).counters).toMatchObject({ connections: 1, bytesIn: 5, bytesOut: 9, errors: 0 });
    expect(joins).toBe(kernel ? 1 : 0);
  });

  it("a client's reset mid-transfer closes the target's side and is counted as an error", async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const seen = await target(to, (s) => s.on('data', (d) => s.write(d)));
    const a = (running = await startAgent(`TCP-LISTEN:${listen},bind=127.0.0.1,fork TCP:127.0.0.1:${to}\n`));
    const c = await client(listen);
    c.write('ping');
    expect((await new Promise<Buffer>((res) => c.once('data', res))).toString()).toBe('ping');
    c.resetAndDestroy();
    await waitFor("the target's side to be closed", () => seen[0]?.destroyed === true || seen[0]?.readableEnded === true, 3000, 5);
    await waitFor('the pair to be gone', () => a.line(1).active === 0, 3000, 5);
    expect(a.line(1).counters).toMatchObject({ connections: 1, bytesIn: 4, bytesOut: 4, errors: 1 });
  });

  it('requests of a MiB or more, each waiting for its answer: their last bytes are carried without an end to push them', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    // Sizes around the 16 pipes' worth (1 MiB) the kernel join carries per wake-up, so some request's
    // last bytes come in a wake-up's last round.
    const sizes = Array.from({ length: 60 }, (_, i) => (1 << 20) + (i - 30) * 4096);
    await target(to, (s) => {
      let got = 0;
      let i = 0;
      s.on('data', (d) => {
        got += d.length;
        if (got === sizes[i]) {
          s.write(`got ${got};`);
          got = 0;
          i++;
        }
      });
    });
    running = await startAgent(`TCP-LISTEN:${listen},bind=127.0.0.1,fork TCP:127.0.0.1:${to}\n`);
    const c = await client(listen);
    for (const size of sizes) {
      const answer = new Promise<string>((res) => c.once('data', (d) => res(d.toString())));
      c.write(Buffer.alloc(size, 1));
      expect(await answer).toBe(`got ${size};`);
    }
  });

  it('urgent (MSG_OOB) data is skipped as a stream read skips it, and what follows it still arrives', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    await target(to, (s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
    running = await startAgent(`TCP-LISTEN:${listen},bind=127.0.0.1,fork TCP:127.0.0.1:${to}\n`);
    // Node cannot send urgent data; perl (Debian's perl-base, always there) can.
    const { stdout } = await run('perl', ['-e', URGENT_CLIENT, String(listen)], { timeout: 10_000 });
    expect(stdout).toBe('acdef');
  });

  it('backpressure: a target that does not read holds the client back, then everything arrives intact', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    let resume = () => undefined as void;
    const hashes: Promise<string>[] = [];
    await target(to, (s) => {
      s.pause();
      resume = () => void s.resume();
      hashes.push(
        new Promise((res) => {
          const h = createHash('sha256');
          s.on('data', (c) => h.update(c));
          s.on('end', () => res(h.digest('hex')));
        }),
      );
    });
    const a = (running = await startAgent(`TCP-LISTEN:${listen},bind=127.0.0.1,fork TCP:127.0.0.1:${to}\n`));
    const c = await client(listen);
    const block = Buffer.alloc(1 << 20, 7);
    const sent = createHash('sha256');
    let written = 0;
    // 64 MiB handed to the client at once: what the relay does not take waits in the client.
    while (written < 64 << 20) {
      sent.update(block);
      written += block.length;
      c.write(block);
    }
    await sleep(300);
    const relayed = a.line(1).counters.bytesIn;
    // Only what the sockets' buffers hold (a few MiB on loopback) has crossed the relay.
    expect(relayed).toBeLessThan(24 << 20);
    expect(relayed).toBeGreaterThan(0);
    await sleep(300);
    expect(a.line(1).counters.bytesIn).toBe(relayed); // stays held back
    resume();
    c.end();
    expect(await hashes[0]).toBe(sent.digest('hex'));
    expect(a.line(1).counters.bytesIn).toBe(written);
  });

  it('refuses connections over max-children=, and closes a connection idle for -T at both ends', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    const seen = await target(to, () => undefined);
    const a = (running = await startAgent(`-T 0.4 TCP-LISTEN:${listen},bind=127.0.0.1,fork,max-children=2 TCP:127.0.0.1:${to}\n`));
    const c1 = await client(listen);
    const c2 = await client(listen);
    await waitFor('two connections to the target', () => seen.length === 2, 3000, 5);
    expect(await refusal(listen)).toBe('reset');
    expect(a.line(1).counters).toMatchObject({ connections: 2, refusedLimit: 1 });
    // Keep c1 busy; c2 stays silent and is closed after 0.4 s, its target side too.
    const busy = setInterval(() => c1.write('.'), 50);
    try {
      await ended(c2);
      await ended(seen[1]!);
      expect(a.line(1).counters.idleClosed).toBe(1);
      expect(c1.destroyed).toBe(false);
    } finally {
      clearInterval(busy);
    }
  });

  it("a target that refuses: the client's connection is closed and the error counted", async () => {
    const [listen, nobody] = (await freePorts(2)) as [number, number];
    const a = (running = await startAgent(`TCP-LISTEN:${listen},bind=127.0.0.1,fork TCP:127.0.0.1:${nobody}\n`));
    expect(await refusal(listen)).toBe('reset');
    await waitFor('the error', () => a.line(1).counters.errors === 1, 3000, 5);
    expect(a.line(1).active).toBe(0);
  });

  it('range=: a peer outside is refused; without fork a second connection waits its turn', async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    await target(to, (s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
    const a = (running = await startAgent(`TCP-LISTEN:${listen},bind=127.0.0.1,range=127.0.0.2/32 TCP:127.0.0.1:${to}\n`));
    expect(await refusal(listen, '127.0.0.3')).toBe('reset');
    expect(a.line(1).counters.refusedPeer).toBe(1);
    const first = await client(listen, '127.0.0.2');
    first.write('ping');
    await new Promise((res) => first.once('data', res));
    expect(await refusal(listen, '127.0.0.2')).toBe('reset');
    expect(a.line(1).counters.refusedLimit).toBe(1);
    first.end();
    await ended(first);
    await waitFor('the first connection to be gone', () => a.line(1).active === 0, 3000, 5);
    const next = await client(listen, '127.0.0.2');
    next.write('pong');
    expect((await new Promise<Buffer>((res) => next.once('data', res))).toString()).toBe('pong');
  });
});

describe('TCP-LISTEN → TCP4 with -u (one way)', () => {
  it("carries the client's bytes to the target and nothing back; the target's end closes the connection", async () => {
    const [listen, to] = (await freePorts(2)) as [number, number];
    let got = '';
    await target(to, (s) => {
      s.on('data', (d) => {
        got += d;
        s.end('not for the client');
      });
    });
    const a = (running = await startAgentOn(`-u TCP-LISTEN:${listen},bind=127.0.0.1,fork TCP:127.0.0.1:${to}\n`, {}, systemFor(true)));
    const c = await client(listen);
    const reply = readAll(c);
    c.write('one way');
    expect((await reply)?.length ?? 0).toBe(0);
    expect(got).toBe('one way');
    c.end();
    await waitFor('the pair to be gone', () => a.line(1).active === 0, 3000, 5);
    expect(a.line(1).counters).toMatchObject({ connections: 1, bytesIn: 7, bytesOut: 0 });
    expect(joins).toBe(0); // a one-way line is carried by Node's streams: the kernel join carries both ways
  });
});
