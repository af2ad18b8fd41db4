// One port of the passthru agent over loopback: a daemon restart closes the connections begun with
// the old daemon, never those begun with the new one; a socket made anew is a new daemon even if
// its file system hands out the same inode number again.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../agents/passthru/agent';
import { PassthruPort } from '../../agents/passthru/port';
import { realSystem } from '../../agents/passthru/system';
import { openDatagramSocket } from '../../agents/common/unix-dgram';
import { waitFor } from '../../lab/proc';

let dir: string;
const clean: Array<() => void> = [];
afterEach(() => {
  for (const c of clean.splice(0)) c();
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', () => undefined);
    clean.push(() => s.destroy());
  });
}

const closed = (s: Socket) => new Promise<boolean>((resolve) => (s.closed ? resolve(true) : s.once('close', () => resolve(true))));

describe('passthru port: the daemon a connection began with', () => {
  it('a restart closes the connections of the old daemon only', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wbx-port-'));
    clean.push(() => rmSync(dir, { recursive: true, force: true }));
    let daemon: string | null = 'daemon-A';
    // The daemon's identity is the test's to change, and pollDaemon() its to call: no inotify.
    const sys = { ...realSystem, socketIdentity: () => daemon, watchPath: () => ({ close: () => undefined }) };
    const tcpPort = 20000 + Math.floor(Math.random() * 30000);
    const port = new PassthruPort(
      { path: join(dir, 'wlan0'), port: tcpPort, line: 1, extra: {} },
      {
        listenAddress: '127.0.0.1',
        network: { address: '127.0.0.1', mask: '255.0.0.0', prefixLength: 8 },
        runtimeDir: dir,
        maxConnections: 8,
        limits: DEFAULTS.limits,
        maxRequest: 0,
        sys,
        log: pino({ level: 'silent' }),
      },
    );
    clean.push(() => void port.stop());
    port.start();
    await waitFor('listening', () => port.status().listening, 5000, 10);
    const old = await open(tcpPort);
    await waitFor('one connection', () => port.status().active === 1, 5000, 10);
    daemon = 'daemon-B'; // restarted: the next connection begins with the new one, before any poll
    const fresh = await open(tcpPort);
    await waitFor('two connections', () => port.status().active === 2, 5000, 10);
    port.pollDaemon();
    expect(await closed(old)).toBe(true);
    await waitFor('only the new connection', () => port.status().active === 1, 5000, 10);
    expect(fresh.closed).toBe(false);
    expect(port.status().daemon).toBe('up');
  });

  it('a socket made anew at the same path has a new identity', () => {
    dir = mkdtempSync(join(tmpdir(), 'wbx-port-'));
    clean.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'wlan0');
    const first = openDatagramSocket(() => undefined);
    first.bind(path);
    const a = realSystem.socketIdentity(path);
    first.close();
    rmSync(path);
    expect(realSystem.socketIdentity(path)).toBeNull();
    const second = openDatagramSocket(() => undefined);
    second.bind(path);
    clean.push(() => second.close());
    const b = realSystem.socketIdentity(path);
    expect(a).toMatch(/^\d+:\d+:\d+$/);
    expect(b).not.toBe(a);
  });

  it('a daemon is seen by inotify as it comes, restarts (its folder removed and made again) and goes, with no poll', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wbx-port-'));
    clean.push(() => rmSync(dir, { recursive: true, force: true }));
    const folder = join(dir, 'run', 'wpa_supplicant');
    const path = join(folder, 'wlan0');
    const seen: Array<string | null> = [];
    const watch = realSystem.watchPath(path, () => {
      const id = realSystem.socketIdentity(path);
      if (seen[seen.length - 1] !== id) seen.push(id);
    });
    clean.push(() => watch.close());
    const daemon = () => {
      mkdirSync(folder, { recursive: true });
      const s = openDatagramSocket(() => undefined);
      s.bind(path);
      return s;
    };
    // Its folder does not exist yet: the watch waits above it.
    const first = daemon();
    await waitFor('the first daemon seen', () => seen.length === 1 && seen[0] !== null, 5000, 5);
    // A restart: the socket and its folder removed, both made again.
    first.close();
    rmSync(folder, { recursive: true });
    await waitFor('the daemon gone', () => seen[seen.length - 1] === null, 5000, 5);
    const second = daemon();
    clean.push(() => second.close());
    await waitFor('the second daemon seen', () => seen.length === 3 && seen[2] !== null, 5000, 5);
    expect(seen[2]).not.toBe(seen[0]);
    // And a third, in the folder made again: the watch followed it.
    second.close();
    rmSync(path);
    const third = openDatagramSocket(() => undefined);
    third.bind(path);
    clean.push(() => third.close());
    // (Its removal may be looked at after it was made again: a null between them is not promised.)
    await waitFor('the third daemon seen', () => ![null, seen[2]].includes(seen[seen.length - 1]!), 5000, 5);
    expect(realSystem.socketIdentity(path)).toBe(seen[seen.length - 1]);
  });
});
