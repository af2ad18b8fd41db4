// The contracts the agents share (agents/common/): what a wrong answer here would break in more
// than one agent at once.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../agents/common/files';
import { tempDirEach } from '../helpers/temp-dir';
import { parseIPv4, prefixOfDottedMask, prefixOfMask, sameNetwork4 } from '../../agents/common/ipv4';
import { processStartTime } from '../../agents/common/process';

const dotted = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

describe('IPv4 (common/ipv4.ts)', () => {
  it('reads strict dotted quads only', () => {
    expect(parseIPv4('10.0.0.1')).toBe(0x0a000001);
    expect(parseIPv4('255.255.255.255')).toBe(2 ** 32 - 1);
    expect(parseIPv4('0.0.0.0')).toBe(0);
    // Leading zeros are octal to some tools; signs, spaces and hex are nobody's address.
    for (const bad of ['010.0.0.1', '1.2.3', '1.2.3.4.5', '256.0.0.1', ' 1.2.3.4', '1.2.3.4 ', '+1.2.3.4', '0x1.2.3.4', '1..3.4', '']) {
      expect(parseIPv4(bad), bad).toBeNull();
    }
  });

  it('mask to prefix: every contiguous mask from /0 to /32, nothing else', () => {
    for (let p = 0; p <= 32; p++) {
      const mask = 2 ** 32 - 2 ** (32 - p);
      expect(prefixOfMask(mask), `/${p}`).toBe(p);
      expect(prefixOfDottedMask(dotted(mask)), dotted(mask)).toBe(p);
    }
    for (const bad of ['255.0.255.0', '0.255.255.255', '255.255.255.253', '128.0.0.1', '255.255.255', '255.255.255.00', '24']) {
      expect(prefixOfDottedMask(bad), bad).toBeNull();
    }
  });

  it('same network: /0 holds everything, /32 one address, boundaries where the prefix says', () => {
    const a = parseIPv4('10.0.0.1') as number;
    expect(sameNetwork4(a, parseIPv4('203.0.113.9') as number, 0)).toBe(true);
    expect(sameNetwork4(a, a, 32)).toBe(true);
    expect(sameNetwork4(a, a + 1, 32)).toBe(false);
    expect(sameNetwork4(a, parseIPv4('10.0.0.255') as number, 24)).toBe(true);
    expect(sameNetwork4(a, parseIPv4('10.0.1.0') as number, 24)).toBe(false);
    expect(sameNetwork4(parseIPv4('128.0.0.0') as number, parseIPv4('127.255.255.255') as number, 1)).toBe(false);
  });
});

describe('atomic writes (common/files.ts)', () => {
  const dir = tempDirEach('common-files-');

  it('replaces a file whole, with the mode asked for, and leaves only that file', () => {
    const file = join(dir(), 'udhcpd.conf');
    writeFileSync(file, 'old and much longer than the new text\n');
    writeFileAtomic(file, 'new\n', 0o600);
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(statSync(file).mode & 0o777).toBe(0o600 & ~process.umask());
    writeFileAtomic(file, Buffer.from([0, 1, 2]));
    expect([...readFileSync(file)]).toEqual([0, 1, 2]);
    expect(readdirSync(dir())).toEqual(['udhcpd.conf']);
  });

  it('a rename that fails removes the temp file and leaves the target as it was', () => {
    const target = join(dir(), 'daemons.json');
    mkdirSync(join(target, 'in-the-way'), { recursive: true }); // a folder cannot be replaced by a file
    expect(() => writeFileAtomic(target, '{}')).toThrow();
    expect(readdirSync(dir())).toEqual(['daemons.json']);
    expect(readdirSync(target)).toEqual(['in-the-way']);
  });

  it('a symlink planted at the temp name or at the file is never written through: its target stays as it was', () => {
    const victim = join(dir(), 'victim');
    writeFileSync(victim, 'precious\n');
    const file = join(dir(), 'udhcpd.conf');
    symlinkSync(victim, `${file}.tmp-${process.pid}`);
    writeFileAtomic(file, 'rendered\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('rendered\n');
    // A dangling link would make a new file wherever it points; and a link at the file itself.
    const elsewhere = join(dir(), 'elsewhere');
    symlinkSync(elsewhere, `${file}.tmp-${process.pid}`);
    rmSync(file);
    symlinkSync(victim, file);
    writeFileAtomic(file, 'again\n');
    expect(existsSync(elsewhere)).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('again\n');
    expect(readdirSync(dir()).sort()).toEqual(['udhcpd.conf', 'victim']);
  });
});

describe('process identity (common/process.ts)', () => {
  it('reads field 22 of stat, whatever the command name holds', () => {
    const proc = mkdtempSync(join(tmpdir(), 'common-proc-'));
    try {
      // Fields 3 to 21, then the start time, then more: a name with spaces and ') ' must not shift them.
      const after = ['S', ...Array.from({ length: 18 }, (_, i) => String(i + 4)), '987654', '0', '0'];
      mkdirSync(join(proc, '4242'));
      writeFileSync(join(proc, '4242', 'stat'), `4242 (udhcpd) (x) S 1) ${after.join(' ')}\n`);
      expect(processStartTime(4242, proc)).toBe('987654');
      expect(processStartTime(4243, proc)).toBeNull();
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it('the real /proc: this process has a start time, and it does not change', () => {
    const start = processStartTime(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(processStartTime(process.pid)).toBe(start);
  });
});
