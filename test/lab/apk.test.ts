// The Alpine package (`npm run apk`), read back by a reader of its own: gzip members, tar records,
// PAX records and .PKGINFO are parsed here, and nothing is imported from apk/ or bundle/apk.mjs.
// What apk-tools expects of an APK v2 package, and why each check is here:
//  - control and data are separate gzip members; apk-tools hashes the data member as it is in the
//    file and compares it with .PKGINFO's datahash; no .SIGN.* member (unsigned: --allow-untrusted);
//  - the control tar is a segment (no end blocks), so the data tar continues the same archive;
//  - every regular file in the data carries `APK-TOOLS.checksum.SHA1` in a PAX record, which apk
//    records in its database (and `apk audit` compares with the installed file);
//  - a file's directory has an entry of its own before it ("no dirent in archive" otherwise).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths';

const ROOT = REPO;
const DIST = path.join(ROOT, 'dist');
const LIB = 'usr/lib/wifibox-agents';
const BLOCK = 512;

// ---- an independent reader ----------------------------------------------------------------------

interface GzipMember {
  /** the member's bytes in the file, header and trailer included */
  raw: Buffer;
  /** what it decompresses to */
  data: Buffer;
  flags: number;
  mtime: number;
}

/** Splits a file into its gzip members (RFC 1952), checking each one's CRC-32 and length. */
function gzipMembers(file: Buffer): GzipMember[] {
  const members: GzipMember[] = [];
  let pos = 0;
  while (pos < file.length) {
    const start = pos;
    if (file.length - pos < 18) throw new Error(`${file.length - pos} bytes at offset ${pos} are too short for a gzip member`);
    if (file[pos] !== 0x1f || file[pos + 1] !== 0x8b) throw new Error(`no gzip magic at offset ${pos}`);
    if (file[pos + 2] !== 8) throw new Error(`gzip member at ${pos}: compression method ${file[pos + 2]}, not deflate`);
    const flags = file[pos + 3]!;
    if (flags & 0xe0) throw new Error(`gzip member at ${pos}: reserved flags set`);
    const mtime = file.readUInt32LE(pos + 4);
    pos += 10;
    if (flags & 0x04) pos += 2 + file.readUInt16LE(pos); // FEXTRA
    if (flags & 0x08) pos = file.indexOf(0, pos) + 1; // FNAME
    if (flags & 0x10) pos = file.indexOf(0, pos) + 1; // FCOMMENT
    if (flags & 0x02) pos += 2; // FHCRC
    // inflateRaw stops at the end of the deflate stream; bytesWritten says how much input it took.
    const out = zlib.inflateRawSync(file.subarray(pos), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    pos += out.engine.bytesWritten;
    if (file.length - pos < 8) throw new Error(`gzip member at ${start}: trailer missing`);
    const crc = file.readUInt32LE(pos);
    const isize = file.readUInt32LE(pos + 4);
    pos += 8;
    if (zlib.crc32(out.buffer) !== crc) throw new Error(`gzip member at ${start}: CRC-32 mismatch`);
    if (out.buffer.length % 2 ** 32 !== isize) throw new Error(`gzip member at ${start}: ISIZE mismatch`);
    members.push({ raw: file.subarray(start, pos), data: out.buffer, flags, mtime });
  }
  return members;
}

interface TarEntry {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  content: Buffer;
  /** the PAX records of the extended header before it, if any */
  pax: Map<string, string>;
}

function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return raw.toString('utf8', 0, nul < 0 ? length : nul);
}

function octalField(block: Buffer, offset: number, length: number): number {
  const text = field(block, offset, length).trim();
  if (!/^[0-7]+$/.test(text)) throw new Error(`tar: '${text}' at ${offset} is not octal`);
  return parseInt(text, 8);
}

/** "LEN KEY=VALUE\n" records; LEN counts the whole record. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = Number(data.toString('latin1', pos, space));
    if (!Number.isInteger(length) || length <= 0) throw new Error(`pax: bad length at ${pos}`);
    const record = data.subarray(pos, pos + length);
    if (record.length !== length || record[length - 1] !== 0x0a) throw new Error(`pax: record at ${pos} does not end where its length says`);
    const text = record.toString('utf8', space - pos + 1, length - 1);
    const eq = text.indexOf('=');
    records.set(text.slice(0, eq), text.slice(eq + 1));
    pos += length;
  }
  return records;
}

/** The entries of a tar, and how many all-zero blocks end it (nothing may follow them). */
function readTar(data: Buffer): { entries: TarEntry[]; endBlocks: number } {
  if (data.length % BLOCK !== 0) throw new Error(`tar: ${data.length} bytes is not a whole number of blocks`);
  const entries: TarEntry[] = [];
  let pax = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const block = data.subarray(pos, pos + BLOCK);
    if (block.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (octalField(block, 148, 8) !== sum) throw new Error(`tar: header checksum wrong at ${pos}`);
    if (block.toString('latin1', 257, 265) !== 'ustar\u000000') throw new Error(`tar: not a POSIX ustar header at ${pos}`);
    const size = octalField(block, 124, 12);
    const content = data.subarray(pos + BLOCK, pos + BLOCK + size);
    const typeflag = String.fromCharCode(block[156]!);
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x') {
      pax = paxRecords(content);
      continue;
    }
    const prefix = field(block, 345, 155);
    const name = pax.get('path') ?? (prefix ? `${prefix}/` : '') + field(block, 0, 100);
    entries.push({
      name,
      typeflag,
      mode: octalField(block, 100, 8),
      uid: octalField(block, 108, 8),
      gid: octalField(block, 116, 8),
      uname: field(block, 265, 32),
      gname: field(block, 297, 32),
      mtime: octalField(block, 136, 12),
      content,
      pax,
    });
    pax = new Map();
  }
  const rest = data.subarray(pos);
  if (!rest.every((b) => b === 0)) throw new Error('tar: data after the end-of-archive blocks');
  return { entries, endBlocks: rest.length / BLOCK };
}

function pkginfo(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-z_]+) = (.+)$/.exec(line);
    if (!m) throw new Error(`.PKGINFO: '${line}' is not "key = value"`);
    fields.set(m[1]!, [...(fields.get(m[1]!) ?? []), m[2]!]);
  }
  return fields;
}

/** APKBUILD's one-line assignments. */
function apkbuildVars(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(ROOT, 'apk', 'APKBUILD'), 'utf8').split('\n')) {
    const m = /^([a-z_]+)=(?:"([^"]*)"|(\S*))$/.exec(line);
    if (m) vars.set(m[1]!, m[2] ?? m[3] ?? '');
  }
  return vars;
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---- building ---------------------------------------------------------------------------------------

let work: string;
let snapshot: string;
const version: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const vars = apkbuildVars();
const apkName = `${vars.get('pkgname')}-${version}-r${vars.get('pkgrel')}.apk`;

function buildApk(out: string, env: Record<string, string | undefined> = {}): Buffer {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bundle', 'apk.mjs'), '--dist', snapshot, '--out', out], {
    cwd: work,
    env: childEnv,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`bundle/apk.mjs failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return fs.readFileSync(path.join(out, apkName));
}

let apk: Buffer;
let members: GzipMember[];
let control: ReturnType<typeof readTar>;
let data: ReturnType<typeof readTar>;
let info: Map<string, string[]>;
let commitTime: number;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'wifibox-apk-'));
  // Built from a copy of dist/, so that a rebuild of dist/ meanwhile cannot change the inputs.
  snapshot = path.join(work, 'dist');
  fs.mkdirSync(snapshot);
  for (const f of fs.readdirSync(DIST).filter((n) => /^wifibox-.*\.js$/.test(n))) {
    fs.copyFileSync(path.join(DIST, f), path.join(snapshot, f));
  }
  commitTime = Number(execFileSync('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd: ROOT }).toString().trim());
  apk = buildApk(path.join(work, 'a'), { SOURCE_DATE_EPOCH: undefined, PACKAGER: undefined });
  members = gzipMembers(apk);
  control = readTar(members[0]!.data);
  data = readTar(members[1]!.data);
  info = pkginfo(control.entries[0]!.content.toString('utf8'));
});

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const one = (key: string) => {
  const values = info.get(key);
  expect(values, `.PKGINFO ${key}`).toHaveLength(1);
  return (values as string[])[0]!;
};
const entry = (name: string) => {
  const e = data.entries.find((x) => x.name === name);
  if (!e) throw new Error(`${name} is not in the package`);
  return e;
};
const hasDiag = () => fs.existsSync(path.join(snapshot, 'wifibox-diag.js'));

// ---- the tests ---------------------------------------------------------------------------------------

describe('npm run apk: the APK v2 package', () => {
  it('is two gzip members, control then data, with no signature, no file name and no timestamp', () => {
    expect(members).toHaveLength(2);
    for (const m of members) {
      expect(m.flags).toBe(0);
      expect(m.mtime).toBe(0);
    }
    expect(control.entries.map((e) => e.name)).toEqual(['.PKGINFO', '.pre-install']);
    expect(control.endBlocks).toBe(0); // a segment: the data tar continues it
    expect(data.endBlocks).toBeGreaterThanOrEqual(2);
    expect(data.entries.some((e) => e.name.startsWith('.'))).toBe(false);
  });

  it("adds the package's user before its files are installed (.pre-install, APKBUILD's install=): wifibox-forward serves as it", () => {
    const script = control.entries.find((e) => e.name === '.pre-install')!;
    expect(script.mode & 0o777).toBe(0o755);
    expect(script.content.toString('utf8')).toBe(fs.readFileSync(path.join(ROOT, 'apk', 'wifibox-agents.pre-install'), 'utf8'));
    expect(script.content.toString('utf8')).toMatch(/^adduser -S -D -H .* -G wifibox .* wifibox /m);
    const sh = spawnSync('sh', ['-n'], { input: script.content });
    expect(sh.status).toBe(0);
  });

  it('has every .PKGINFO field, from APKBUILD and package.json, and the datahash of the data member', () => {
    const regular = data.entries.filter((e) => e.typeflag === '0');
    const expected: Record<string, string[]> = {
      pkgname: ['wifibox-agents'],
      pkgver: [`${version}-r${vars.get('pkgrel')}`],
      pkgdesc: [vars.get('pkgdesc') as string],
      url: [vars.get('url') as string],
      builddate: [String(commitTime)],
      packager: [one('packager')],
      size: [String(regular.reduce((n, e) => n + e.content.length, 0))],
      arch: ['x86_64'],
      origin: ['wifibox-agents'],
      license: ['BSD-2-Clause'],
      depend: ['nodejs', 'iproute2', 'iptables'],
      provides: ['wifibox-diag', 'wifibox-forward', 'wifibox-init', 'wifibox-passthru']
        .filter((c) => c !== 'wifibox-diag' || hasDiag())
        .map((c) => `cmd:${c}=${version}-r${vars.get('pkgrel')}`),
      datahash: [sha256(members[1]!.raw)],
    };
    expect(Object.fromEntries(info)).toEqual(expected);
    expect(vars.get('pkgname')).toBe('wifibox-agents');
    expect(vars.get('pkgver')).toBe(version);
    expect(vars.get('license')).toBe('BSD-2-Clause');
    expect(one('packager')).not.toBe('');
    expect(Number(one('size'))).toBeGreaterThan(0); // apk-tools 2 treats size 0 as a virtual package
  });

  it('gives every regular file its SHA-1 in a PAX record, and nothing else one', () => {
    for (const e of data.entries) {
      if (e.typeflag === '0') {
        expect(e.pax.get('APK-TOOLS.checksum.SHA1'), e.name).toBe(sha1(e.content));
        expect([...e.pax.keys()], e.name).toEqual(['APK-TOOLS.checksum.SHA1']);
      } else {
        expect(e.typeflag, e.name).toBe('5');
        expect(e.pax.size, e.name).toBe(0);
      }
    }
  });

  it('installs the agents, services and man page with their modes, owned by root, stamped with the commit time', () => {
    const sbin = ['wifibox-diag', 'wifibox-forward', 'wifibox-init', 'wifibox-passthru'].filter((c) => c !== 'wifibox-diag' || hasDiag());
    const files: Record<string, number> = {
      'etc/conf.d/forwarding': 0o644,
      'etc/conf.d/uds_passthru': 0o644,
      'etc/conf.d/wifibox-init': 0o644,
      'etc/init.d/forwarding': 0o755,
      'etc/init.d/uds_passthru': 0o755,
      'etc/init.d/wifibox-init': 0o755,
      [`${LIB}/wifibox-dhcpcd-hook`]: 0o755, // dhcpcd execs it
      'usr/share/doc/wifibox-agents/wifibox-agents.conf.sample': 0o644,
      [`${LIB}/wifibox_dgram.node`]: 0o644,
      'usr/share/man/man8/wifibox-agents.8': 0o644,
    };
    for (const c of sbin) {
      files[`usr/sbin/${c}`] = 0o755;
      files[`${LIB}/${c}.js`] = 0o644;
    }
    const dirs = [
      'etc',
      'etc/conf.d',
      'etc/init.d',
      'usr',
      'usr/lib',
      LIB,
      'usr/sbin',
      'usr/share',
      'usr/share/doc',
      'usr/share/doc/wifibox-agents',
      'usr/share/man',
      'usr/share/man/man8',
    ];
    const listed = Object.fromEntries(data.entries.map((e) => [e.name, e.mode]));
    expect(listed).toEqual({ ...files, ...Object.fromEntries(dirs.map((d) => [`${d}/`, 0o755])) });

    for (const e of data.entries) {
      expect([e.uid, e.gid, e.uname, e.gname, e.mtime], e.name).toEqual([0, 0, 'root', 'root', commitTime]);
    }
    expect(control.entries[0]!.mtime).toBe(commitTime);
    // Bytewise sorted, so each directory comes before what is in it.
    const names = data.entries.map((e) => e.name.replace(/\/$/, ''));
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('carries the bundles, wrappers, OpenRC files and man page unchanged', () => {
    const same = (name: string, source: string) => expect(entry(name).content.equals(fs.readFileSync(source)), name).toBe(true);
    for (const f of fs.readdirSync(snapshot)) same(`${LIB}/${f}`, path.join(snapshot, f));
    for (const service of ['wifibox-init', 'uds_passthru', 'forwarding']) {
      same(`etc/init.d/${service}`, path.join(ROOT, 'init', `${service}.initd`));
      same(`etc/conf.d/${service}`, path.join(ROOT, 'init', `${service}.confd`));
      expect(entry(`etc/init.d/${service}`).content.toString()).toMatch(/^#!\/sbin\/openrc-run\n/);
    }
    for (const e of data.entries.filter((x) => x.name.startsWith('usr/sbin/') && x.typeflag === '0')) {
      const command = path.basename(e.name);
      // Every agent runs with a small heap: the guest has 64-128 MB; the resident ones settle after a
      // burst (--expose-gc); wifibox-init without optimized code.
      const settles = command === 'wifibox-diag' ? '' : '--expose-gc ';
      const flags = `--max-semi-space-size=1 --max-old-space-size=16 ${settles}${command === 'wifibox-init' ? '--no-opt --lite-mode ' : ''}`;
      // wifibox-forward boots at the lowest priority, so that a resume's network comes first.
      const nice = command === 'wifibox-forward' ? 'nice -n 19 ' : '';
      expect(e.content.toString()).toMatch(new RegExp(`^#!/bin/sh\n(#[^\n]*\n)*exec ${nice}node ${flags}/${LIB}/${command}\\.js "\\$@"\n$`));
      entry(`${LIB}/${command}.js`);
    }
    const man = entry('usr/share/man/man8/wifibox-agents.8').content.toString();
    expect(man).toMatch(/^\.Dd .+\n\.Dt WIFIBOX-AGENTS 8\n\.Os\n/);
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'STATUS ENDPOINTS', 'FILES']) {
      expect(man).toContain(`\n.Sh ${section}\n`);
    }
  });

  it('is byte-identical when built again from the same inputs, and takes its time from SOURCE_DATE_EPOCH', () => {
    const again = buildApk(path.join(work, 'b'), { SOURCE_DATE_EPOCH: undefined, PACKAGER: undefined, TZ: 'Pacific/Kiritimati', LC_ALL: 'C' });
    expect(again.equals(apk)).toBe(true);

    const later = buildApk(path.join(work, 'c'), { SOURCE_DATE_EPOCH: String(commitTime + 86_400), PACKAGER: undefined });
    expect(later.equals(apk)).toBe(false);
    const laterMembers = gzipMembers(later);
    const laterInfo = pkginfo(readTar(laterMembers[0]!.data).entries[0]!.content.toString());
    expect(laterInfo.get('builddate')).toEqual([String(commitTime + 86_400)]);
    expect(readTar(laterMembers[1]!.data).entries.every((e) => e.mtime === commitTime + 86_400)).toBe(true);
  });
});

describe('npm run apk: the dhcpcd hook inside, a static musl program', () => {
  it('readelf: an x86-64 executable with no interpreter and no library; it runs here and says where it failed', () => {
    const hook = path.join(work, 'wifibox-dhcpcd-hook');
    fs.writeFileSync(hook, entry(`${LIB}/wifibox-dhcpcd-hook`).content, { mode: 0o755 });
    const header = execFileSync('readelf', ['-h', hook]).toString();
    expect(header).toMatch(/Type:\s+EXEC|Type:\s+DYN/);
    expect(header).toMatch(/Machine:\s+Advanced Micro Devices X86-64/);
    expect(execFileSync('readelf', ['-l', hook]).toString()).not.toContain('INTERP');
    expect(execFileSync('readelf', ['-d', hook]).toString()).not.toContain('(NEEDED)');
    const r = spawnSync(hook, [], { env: { WIFIBOX_HOOK_SOCKET: path.join(work, 'nobody.sock'), reason: 'BOUND' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/nobody\.sock: connect: /);
  });
});

describe('npm run apk: the native addon inside, built for musl', () => {
  let addon: string;
  beforeAll(() => {
    addon = path.join(work, 'wifibox_dgram.node');
    fs.writeFileSync(addon, entry(`${LIB}/wifibox_dgram.node`).content);
  });

  it('readelf: an x86-64 shared object with no glibc dependency', () => {
    const header = execFileSync('readelf', ['-h', addon]).toString();
    expect(header).toMatch(/Type:\s+DYN/);
    expect(header).toMatch(/Machine:\s+Advanced Micro Devices X86-64/);
    const dynamic = execFileSync('readelf', ['-d', addon]).toString();
    expect(dynamic).not.toMatch(/libc\.so\.6|ld-linux/);
    expect(dynamic).not.toContain('(NEEDED)'); // -nostdlib: libc and node-api come from the node process
    const versions = execFileSync('readelf', ['-V', '-W', addon]).toString();
    expect(versions).not.toContain('GLIBC_');
    const symbols = execFileSync('readelf', ['--dyn-syms', '-W', addon]).toString();
    expect(symbols).not.toMatch(/@GLIBC|__\w+_chk\b/);
  });

  it("loads in this machine's node (glibc) and carries a datagram", () => {
    const script = `
      const fs = require('node:fs'), path = require('node:path'), os = require('node:os');
      const m = { exports: {} };
      process.dlopen(m, process.argv[1]);
      const b = m.exports, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wifibox-apk-dgram-'));
      const done = (code, text) => { console.log(text); fs.rmSync(dir, { recursive: true }); process.exit(code); };
      const rx = b.open((msg) => done(0, 'got ' + msg.toString()));
      b.bind(rx, path.join(dir, 'rx'));
      const tx = b.open(() => {});
      b.send(tx, Buffer.from('PING'), path.join(dir, 'rx'));
      setTimeout(() => done(1, 'nothing received'), 2000);
    `;
    const out = execFileSync(process.execPath, ['-e', script, addon], { timeout: 10_000 }).toString();
    expect(out.trim()).toBe('got PING');
  });

  it('joins two TCP connections in the kernel (splice): an echo comes back through it, its bytes counted', () => {
    const script = `
      const net = require('node:net');
      const m = { exports: {} };
      process.dlopen(m, process.argv[1]);
      const b = m.exports, seen = [];
      const tell = (line) => { seen.push(line); if (seen.length === 2) { console.log(seen.sort().join('\\n')); process.exit(0); } };
      const echo = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)).listen(0, '127.0.0.1', () => {
        const front = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (c) => {
          const t = net.connect({ port: echo.address().port, host: '127.0.0.1', allowHalfOpen: true }, () => {
            const h = b.join(c._handle.fd, t._handle.fd);
            c.destroy(); t.destroy();
            h.ondone = () => { tell('carried ' + b.joinInfo(h).slice(0, 2).join(' ')); b.joinClose(h, false); };
          });
        }).listen(0, '127.0.0.1', () => {
          const k = net.connect({ port: front.address().port, host: '127.0.0.1', allowHalfOpen: true });
          let got = '';
          k.on('data', (d) => (got += d));
          k.on('end', () => tell('echoed ' + got));
          k.end('PING');
        });
      });
      setTimeout(() => { console.log(seen.join('\\n') || 'nothing'); process.exit(1); }, 5000);
    `;
    const out = execFileSync(process.execPath, ['-e', script, addon], { timeout: 10_000 }).toString();
    expect(out.trim()).toBe('carried 4 4\nechoed PING');
  });

  it("loads under musl's dynamic linker, every libc symbol found in musl", () => {
    // A musl program that stands in for node: it exports a stub for each node-api/libuv symbol the
    // addon imports, and dlopens the addon with every symbol bound at once.
    const undefinedSymbols = execFileSync('readelf', ['--dyn-syms', '-W', addon])
      .toString()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[6] === 'UND' && f[7])
      .map((f) => f[7]!);
    const fromNode = undefinedSymbols.filter((s) => /^(napi|uv)_/.test(s));
    expect(fromNode.length).toBeGreaterThan(0);
    const dir = path.join(work, 'musl-harness');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'harness.c'),
      [
        '#include <dlfcn.h>',
        '#include <stdio.h>',
        ...fromNode.map((s) => `void ${s}(void) {}`),
        'int main(int argc, char **argv) {',
        '  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);',
        '  if (!h) { printf("%s\\n", dlerror()); return 1; }',
        '  if (!dlsym(h, "napi_register_module_v1")) { printf("no napi_register_module_v1\\n"); return 1; }',
        '  printf("loaded\\n");',
        '  return 0;',
        '}',
        '',
      ].join('\n'),
    );
    execFileSync('musl-gcc', ['-rdynamic', '-o', path.join(dir, 'harness'), path.join(dir, 'harness.c')]);
    const interp = execFileSync('readelf', ['-l', path.join(dir, 'harness')]).toString();
    expect(interp).toContain('ld-musl-x86_64.so.1');
    const run = spawnSync(path.join(dir, 'harness'), [addon], { encoding: 'utf8', timeout: 10_000 });
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('loaded');
    expect(run.status).toBe(0);
  });
});

describe('apk/APKBUILD', () => {
  it('builds from a source tarball with the toolchain the addon needs, and depends on nodejs', () => {
    expect(vars.get('makedepends')).toBe('nodejs-dev npm python3 make g++');
    expect(vars.get('depends')).toBe('nodejs iproute2 iptables');
    expect(vars.get('arch')).toBe('x86_64');
    expect(vars.get('source')).toBe('$pkgname-$pkgver.tar.gz');
    const text = fs.readFileSync(path.join(ROOT, 'apk', 'APKBUILD'), 'utf8');
    expect(text).toMatch(/^build\(\) \{$/m);
    expect(text).toMatch(/^package\(\) \{$/m);
  });
});
