// @ts-check
// The APK v2 package format, as apk-tools reads it: pure functions from entries to bytes, no I/O.
//
//   .apk = gzip(control) ‖ gzip(data)            (an unsigned package: no signature member)
//   control = a tar *segment* (no end-of-archive blocks) holding .PKGINFO
//   data    = a whole POSIX tar (with its two end blocks); each regular file is preceded by a PAX
//             header carrying `APK-TOOLS.checksum.SHA1=<hex sha1 of the content>`
//   .PKGINFO's `datahash` = sha256 of the compressed data member, bytes as they are in the file.
//
// apk-tools treats the gzip member boundaries as section boundaries, and parses the two tars as one
// stream; so the control segment must end exactly where its member ends.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

const BLOCK = 512;

/**
 * @typedef {{ type: 'dir', path: string, mode: number }
 *         | { type: 'file', path: string, mode: number, content: Buffer }} Entry
 * A path is relative to the root, without a leading slash ('usr/sbin/wifibox-init');
 * a directory's path has no trailing slash here: the writer adds it, as GNU tar does.
 *
 * @typedef {{ mtime: number }} TarOptions  mtime: seconds since the epoch, for every header
 */

/**
 * An octal field of `width` bytes: zero-padded digits and a NUL, as tar writes them.
 * @param {number} value @param {number} width
 */
function octal(value, width) {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new RangeError(`tar: ${value} does not fit in ${width - 1} octal digits`);
  return digits.padStart(width - 1, '0') + '\0';
}

/**
 * One 512-byte ustar header (POSIX.1-1988 layout, magic "ustar\0", version "00").
 * @param {{ name: string, mode: number, size: number, mtime: number, typeflag: string }} h
 */
export function tarHeader(h) {
  const name = Buffer.from(h.name, 'utf8');
  if (name.length === 0) throw new Error('tar: an entry needs a name (an empty name reads as the end of the archive)');
  if (name.length > 100) throw new Error(`tar: name longer than 100 bytes: ${h.name}`);
  const b = Buffer.alloc(BLOCK);
  name.copy(b, 0);
  b.write(octal(h.mode, 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1'); // uid
  b.write(octal(0, 8), 116, 'latin1'); // gid
  b.write(octal(h.size, 12), 124, 'latin1');
  b.write(octal(h.mtime, 12), 136, 'latin1');
  b.write(h.typeflag, 156, 'latin1');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  b.write('root', 265, 'latin1'); // uname
  b.write('root', 297, 'latin1'); // gname
  b.write(octal(0, 8), 329, 'latin1'); // devmajor
  b.write(octal(0, 8), 337, 'latin1'); // devminor
  // The checksum is the byte sum of the header with its own field read as eight spaces.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(octal(sum, 7) + ' ', 148, 'latin1');
  return b;
}

/** Zeros up to the next 512-byte boundary after `length` bytes. @param {number} length */
function padding(length) {
  return Buffer.alloc((BLOCK - (length % BLOCK)) % BLOCK);
}

/**
 * One PAX extended-header record, "LEN KEY=VALUE\n", where LEN counts the whole record,
 * its own digits included.
 * @param {string} key @param {string} value
 */
export function paxRecord(key, value) {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`);
}

/** Where GNU tar names a PAX header ("%d/PaxHeaders/%f"); apk-tools ignores the name. @param {string} path */
function paxHeaderName(path) {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? `PaxHeaders/${path}` : `${path.slice(0, slash)}/PaxHeaders/${path.slice(slash + 1)}`;
}

/**
 * Tar records for the entries, in the order given.
 * Regular files get a PAX header with their SHA-1, as abuild-tar --hash writes it.
 * @param {Entry[]} entries @param {TarOptions} options @param {{ checksums: boolean }} how
 */
export function tarRecords(entries, options, how) {
  /** @type {Buffer[]} */
  const out = [];
  for (const e of entries) {
    if (e.type === 'dir') {
      out.push(tarHeader({ name: `${e.path}/`, mode: e.mode, size: 0, mtime: options.mtime, typeflag: '5' }));
      continue;
    }
    if (how.checksums) {
      const sha1 = createHash('sha1').update(e.content).digest('hex');
      const pax = paxRecord('APK-TOOLS.checksum.SHA1', sha1);
      out.push(tarHeader({ name: paxHeaderName(e.path), mode: 0o644, size: pax.length, mtime: options.mtime, typeflag: 'x' }));
      out.push(pax, padding(pax.length));
    }
    out.push(tarHeader({ name: e.path, mode: e.mode, size: e.content.length, mtime: options.mtime, typeflag: '0' }));
    out.push(e.content, padding(e.content.length));
  }
  return Buffer.concat(out);
}

/** A gzip member with no name and mtime 0 (zlib's own header), as `gzip -n -9` makes. @param {Buffer} data */
export function gzipMember(data) {
  return gzipSync(data, { level: 9 });
}

/**
 * Paths sorted bytewise (as `LC_ALL=C sort`), so a directory comes before what is in it,
 * and every parent directory of every file listed once.
 * @param {Entry[]} files regular files only
 * @param {number} dirMode
 * @returns {Entry[]}
 */
export function withParentDirs(files, dirMode) {
  /** @type {Map<string, Entry>} */
  const byPath = new Map();
  for (const f of files) {
    if (byPath.has(f.path)) throw new Error(`apk: ${f.path} listed twice`);
    byPath.set(f.path, f);
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir)) byPath.set(dir, { type: 'dir', path: dir, mode: dirMode });
    }
  }
  const key = (/** @type {string} */ p) => Buffer.from(p, 'utf8');
  return [...byPath.values()].sort((a, b) => Buffer.compare(key(a.path), key(b.path)));
}

/**
 * .PKGINFO text: "key = value" lines in the given order, a key repeated for each of its values.
 * @param {Array<[string, string | number]>} fields
 * @param {string} comment first line, after "# "
 */
export function pkginfoText(fields, comment) {
  const lines = [`# ${comment}`];
  for (const [key, value] of fields) {
    const text = String(value);
    if (text.includes('\n') || text === '') throw new Error(`.PKGINFO: ${key} must be one non-empty line, got ${JSON.stringify(text)}`);
    lines.push(`${key} = ${text}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The whole package. `fields` are .PKGINFO's fields except `size` and `datahash`, which are
 * computed here: size is the installed size (the sum of the regular files' sizes, as abuild
 * counts it), and datahash is appended last, as abuild does.
 * `scripts` are the install scripts (e.g. `.pre-install`), after .PKGINFO in the control segment.
 * @param {{ fields: Array<[string, string | number]>, files: Entry[], mtime: number, comment: string, scripts?: Array<{ name: string, content: Buffer }> }} p
 */
export function buildApk(p) {
  const entries = withParentDirs(p.files, 0o755);
  const installedSize = p.files.reduce((n, f) => n + (f.type === 'file' ? f.content.length : 0), 0);

  const dataTar = Buffer.concat([tarRecords(entries, { mtime: p.mtime }, { checksums: true }), Buffer.alloc(2 * BLOCK)]);
  const data = gzipMember(dataTar);
  const datahash = createHash('sha256').update(data).digest('hex');

  /** @type {Array<[string, string | number]>} */
  const fields = [];
  for (const [key, value] of p.fields) {
    fields.push([key, value]);
    if (key === 'packager') fields.push(['size', installedSize]); // abuild's order
  }
  if (!fields.some(([key]) => key === 'size')) fields.push(['size', installedSize]);
  fields.push(['datahash', datahash]);
  const pkginfo = Buffer.from(pkginfoText(fields, p.comment));

  // A segment: no end blocks, so the data tar continues the same archive.
  /** @type {Entry[]} */
  const controlEntries = [{ type: 'file', path: '.PKGINFO', mode: 0o644, content: pkginfo }];
  for (const s of p.scripts ?? []) controlEntries.push({ type: 'file', path: s.name, mode: 0o755, content: s.content });
  const controlTar = tarRecords(controlEntries, { mtime: p.mtime }, { checksums: false });
  const control = gzipMember(controlTar);

  return { apk: Buffer.concat([control, data]), pkginfo: pkginfo.toString(), datahash, installedSize, entries };
}
