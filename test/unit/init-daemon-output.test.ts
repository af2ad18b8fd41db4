// wifibox-init's daemons write their output to a file in its run folder, not to a pipe: a pipe's
// reader is wifibox-init, and once it is killed a daemon's next line would kill the daemon with
// SIGPIPE (udhcpd says "received SIGTERM" before it writes its lease file).
import { mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realSystem } from '../../agents/init/system';
import { waitFor } from '../../lab/proc';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wbx-out-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const talker = [process.execPath, '-e', "console.log('to stdout'); console.error('to stderr'); setInterval(() => {}, 1000)"];

describe("wifibox-init: a daemon's output", () => {
  it('goes to its file (stdout and stderr), emptied at each start; its end is the tail after it exits', async () => {
    const out = join(dir, 'udhcpd.out');
    writeFileSync(out, 'what the previous one said\n');
    const h = realSystem.startDaemon(talker, out);
    expect(readlinkSync(`/proc/${h.pid}/fd/1`)).toBe(out);
    expect(readlinkSync(`/proc/${h.pid}/fd/2`)).toBe(out);
    await waitFor('both lines in the file', () => readFileSync(out, 'utf8').includes('to stderr'), 10_000, 20);
    expect(readFileSync(out, 'utf8')).not.toContain('previous');
    h.kill('SIGTERM');
    expect(await h.exited).toMatchObject({ signal: 'SIGTERM' });
    expect(h.tail()).toContain('to stdout');
    expect(h.tail()).toContain('to stderr');
  });

  it('a symlink at its file is not followed: the daemon runs without it, and the tail says why', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const out = join(dir, 'udhcpd.out');
    symlinkSync(victim, out);
    const h = realSystem.startDaemon(talker, out);
    expect(h.pid).toBeGreaterThan(0);
    h.kill('SIGTERM');
    await h.exited;
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(h.tail()).toMatch(/its output is not kept: ELOOP/);
  });
});
