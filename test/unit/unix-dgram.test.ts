import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addonPath, injectPollError, openDatagramSocket, type DatagramSocket } from '../../agents/common/unix-dgram';

let dir: string;
const opened: DatagramSocket[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wifibox-dgram-'));
});

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A bound socket that queues what it receives and lets a test await it. */
function receiver(name: string) {
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  const socket = openDatagramSocket((msg) => {
    queue.push(msg);
    wake?.();
  });
  opened.push(socket);
  const socketPath = path.join(dir, name);
  socket.bind(socketPath);
  const next = async (timeoutMs = 2000): Promise<Buffer> => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length === 0) {
      if (Date.now() > deadline) throw new Error(`no datagram on ${socketPath}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 20);
      });
    }
    return queue.shift()!;
  };
  return { socket, path: socketPath, queue, next };
}

function sender(): DatagramSocket {
  const s = openDatagramSocket(() => {
    throw new Error('an unbound socket cannot receive');
  });
  opened.push(s);
  return s;
}

function errorOf(fn: () => void): NodeJS.ErrnoException {
  try {
    fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected an exception');
}

const fdCount = () => fs.readdirSync('/proc/self/fd').length;

describe('unix datagram sockets', () => {
  it('loads the addon from the node-gyp build when running from source', () => {
    expect(addonPath()).toMatch(/native\/build\/Release\/wifibox_dgram\.node$/);
  });

  it('names the places tried when the addon is missing', async () => {
    const saved = process.env.WIFIBOX_DGRAM_ADDON;
    const missing = path.join(dir, 'missing.node');
    process.env.WIFIBOX_DGRAM_ADDON = missing;
    try {
      vi.resetModules();
      const fresh = await import('../../agents/common/unix-dgram.js');
      expect(() => fresh.openDatagramSocket(() => {})).toThrow(`wifibox_dgram.node not found (tried ${missing}); run \`npm run build\``);
    } finally {
      if (saved === undefined) delete process.env.WIFIBOX_DGRAM_ADDON;
      else process.env.WIFIBOX_DGRAM_ADDON = saved;
      vi.resetModules();
    }
  });

  it('delivers datagrams both ways between bound sockets, in order', async () => {
    const a = receiver('a.sock');
    const b = receiver('b.sock');
    a.socket.send(Buffer.from('PING'), b.path);
    a.socket.send(Buffer.from('STATUS'), b.path);
    expect((await b.next()).toString()).toBe('PING');
    expect((await b.next()).toString()).toBe('STATUS');
    b.socket.send(Buffer.from('PONG'), a.path);
    const reply = await a.next();
    expect(Buffer.isBuffer(reply)).toBe(true);
    expect(reply.toString()).toBe('PONG');
  });

  it('delivers a zero-length datagram as an empty Buffer', async () => {
    const r = receiver('r.sock');
    sender().send(Buffer.alloc(0), r.path);
    sender().send(Buffer.from('after'), r.path);
    const empty = await r.next();
    expect(Buffer.isBuffer(empty)).toBe(true);
    expect(empty.length).toBe(0);
    expect((await r.next()).toString()).toBe('after');
  });

  it('delivers a 100 KB datagram whole', async () => {
    const r = receiver('big.sock');
    const big = Buffer.alloc(100 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;
    sender().send(big, r.path);
    const got = await r.next();
    expect(got.length).toBe(big.length);
    expect(got.equals(big)).toBe(true);
  });

  it('throws ENOENT for a missing destination, with Node-style fields', () => {
    const dest = path.join(dir, 'nobody.sock');
    const err = errorOf(() => sender().send(Buffer.from('x'), dest));
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ENOENT');
    expect(err.errno).toBe(-2);
    expect(err.syscall).toBe('sendto');
    expect((err as { address?: string }).address).toBe(dest);
    expect(err.message).toBe(`sendto ENOENT ${dest}`);
  });

  it('throws ECONNREFUSED for a stale socket file', () => {
    const stale = receiver('stale.sock');
    stale.socket.close();
    expect(fs.statSync(stale.path).isSocket()).toBe(true);
    const err = errorOf(() => sender().send(Buffer.from('x'), stale.path));
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('throws EMSGSIZE for a datagram larger than the send buffer', () => {
    const r = receiver('r.sock');
    const err = errorOf(() => sender().send(Buffer.alloc(8 * 1024 * 1024), r.path));
    expect(err.code).toBe('EMSGSIZE');
  });

  it('throws EADDRINUSE when binding over an existing socket file', () => {
    const r = receiver('taken.sock');
    const other = sender();
    const err = errorOf(() => other.bind(r.path));
    expect(err.code).toBe('EADDRINUSE');
    expect(err.syscall).toBe('bind');
  });

  it('throws ENAMETOOLONG for a path that does not fit sun_path', () => {
    const long = path.join(dir, 'x'.repeat(120));
    expect(errorOf(() => sender().send(Buffer.from('x'), long)).code).toBe('ENAMETOOLONG');
    expect(errorOf(() => sender().bind(long)).code).toBe('ENAMETOOLONG');
    // 107 bytes is the longest path that fits.
    const fits = '/' + 'y'.repeat(106);
    expect(errorOf(() => sender().send(Buffer.from('x'), fits)).code).toBe('ENOENT');
  });

  it('rejects bad arguments with TypeErrors', () => {
    const s = sender();
    expect(() => s.send('text' as unknown as Buffer, '/x')).toThrow(TypeError);
    expect(() => s.send(Buffer.from('x'), '')).toThrow(TypeError);
    expect(() => s.bind('/tmp/a\0b')).toThrow(TypeError);
    expect(() => openDatagramSocket(undefined as unknown as () => void)).toThrow(TypeError);
  });

  it('close is idempotent and a closed socket cannot send or bind', () => {
    const r = receiver('r.sock');
    const s = sender();
    expect(s.closed).toBe(false);
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    expect(errorOf(() => s.send(Buffer.from('x'), r.path)).code).toBe('EBADF');
    expect(errorOf(() => s.bind(path.join(dir, 'late.sock'))).code).toBe('EBADF');
  });

  it('a poll error is not ignored: onError hears it, and the socket is closed (no silent, dead socket)', () => {
    const errors: NodeJS.ErrnoException[] = [];
    const s = openDatagramSocket(
      () => undefined,
      (err) => errors.push(err),
    );
    opened.push(s);
    const at = path.join(dir, 'poll.sock');
    s.bind(at);
    injectPollError(s, 5); // EIO
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'EIO', syscall: 'poll' });
    expect(s.closed).toBe(true);
    expect(errorOf(() => s.send(Buffer.from('x'), at)).code).toBe('EBADF');
    // An unbound socket has no poll to fail: nothing happens.
    const unbound = openDatagramSocket(
      () => undefined,
      (err) => errors.push(err),
    );
    opened.push(unbound);
    injectPollError(unbound, 5);
    expect(errors).toHaveLength(1);
    expect(unbound.closed).toBe(false);
  });

  it('is safe to close from inside the message callback', async () => {
    const got: string[] = [];
    const target = path.join(dir, 'self-closing.sock');
    const s: DatagramSocket = openDatagramSocket((msg) => {
      got.push(msg.toString());
      s.close();
      s.close();
    });
    opened.push(s);
    s.bind(target);
    // Queue several before the loop turns, so the native read loop has more
    // waiting when the callback closes the socket.
    const tx = sender();
    for (const m of ['one', 'two', 'three']) tx.send(Buffer.from(m), target);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(got).toEqual(['one']);
    expect(s.closed).toBe(true);
    expect(errorOf(() => tx.send(Buffer.from('four'), target)).code).toBe('ECONNREFUSED');
  });

  it('does not leak fds when many sockets are opened and closed', () => {
    const before = fdCount();
    for (let i = 0; i < 200; i++) {
      const s = openDatagramSocket(() => {});
      if (i % 2 === 0) s.bind(path.join(dir, `leak-${i}.sock`));
      s.close();
    }
    expect(fdCount()).toBe(before);
  });

  // GC and uncaught exceptions are process-wide, so they run in a child.
  function runChild(script: string): string {
    return execFileSync(process.execPath, ['--expose-gc', '-e', script], {
      env: { ...process.env, ADDON: addonPath(), DIR: dir },
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  it('frees the fds of sockets dropped without close() when collected', () => {
    const out = runChild(`
      const fs = require('fs');
      const m = { exports: {} };
      process.dlopen(m, process.env.ADDON);
      const count = () => fs.readdirSync('/proc/self/fd').length;
      const before = count();
      (() => { for (let i = 0; i < 100; i++) m.exports.open(() => {}); })();
      const opened = count() - before;
      // Finalizers run from the event loop after GC, so give them turns.
      let turns = 0;
      const tick = () => {
        global.gc();
        if (count() > before && ++turns < 50) return setImmediate(tick);
        console.log(JSON.stringify({ opened, leaked: count() - before }));
      };
      tick();
    `);
    expect(JSON.parse(out)).toEqual({ opened: 100, leaked: 0 });
  });

  it('turns an exception thrown by onMessage into an uncaught exception', () => {
    const out = runChild(`
      const path = require('path');
      const m = { exports: {} };
      process.dlopen(m, process.env.ADDON);
      const target = path.join(process.env.DIR, 'throws.sock');
      const rx = m.exports.open(() => { throw new Error('boom from onMessage'); });
      m.exports.bind(rx, target);
      process.on('uncaughtException', (err) => {
        m.exports.close(rx);
        console.log('caught: ' + err.message);
      });
      m.exports.send(m.exports.open(() => {}), Buffer.from('x'), target);
    `);
    expect(out.trim()).toBe('caught: boom from onMessage');
  });
});
