// The bug-report bundle: one .tar.gz a user can attach to an issue. Every member is redacted
// first (the report quotes config lines too), and a file that cannot be read is listed, never fatal.
// The tar is written here because the guest has no npm packages beyond ours, and a bundle needs
// nothing more than ustar's regular files.
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../common/files';
import { isSecretKey, REDACTED, redactSecrets } from './redact';

export interface BundleInput {
  report: string;
  json: unknown;
  files: { name: string; path: string }[];
  now?: Date;
}

export interface BundleSystem {
  /** The file's bytes, or null when it cannot be read (missing, unreadable, a symlink, not a regular file). */
  read(path: string): Buffer | null;
  /** Write a temp file, fsync, rename: `path` is either the old file or the whole new one. */
  writeAtomic(path: string, data: Buffer): void;
}

interface BundleResult {
  file: string;
  bytes: number;
  /** How many secret values were replaced, over all members. */
  redacted: number;
  /** Paths of the files that could not be read (also listed in missing.txt). */
  missing: string[];
}

/** writeBundle could not write the archive; nothing was left at `file`. */
export class BundleWriteError extends Error {
  constructor(
    readonly file: string,
    readonly cause: unknown,
  ) {
    super(`cannot write ${file}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export const fsBundleSystem: BundleSystem = {
  read(path) {
    // A symlink is not followed: one planted in /tmp where a rendered config belongs would put any
    // file of the guest into a bundle the host can read. A FIFO or a device would block or never
    // end (O_NONBLOCK keeps the open from waiting); config files and logs are regular files.
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return null;
    }
    try {
      return fstatSync(fd).isFile() ? readFileSync(fd) : null;
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
  },
  writeAtomic: (path, data) => writeFileAtomic(path, data),
};

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** UTC, so the name is the same whichever side of the VM reads the clock. */
function stamp(now: Date): string {
  return (
    `${now.getUTCFullYear()}${pad2(now.getUTCMonth() + 1)}${pad2(now.getUTCDate())}-` +
    `${pad2(now.getUTCHours())}${pad2(now.getUTCMinutes())}${pad2(now.getUTCSeconds())}`
  );
}

export function defaultBundleName(now: Date): string {
  return `wifibox-diag-${stamp(now)}.tar.gz`;
}

// Each path segment is capped so that any member path (top/files/a/b/c) fits ustar's
// 155-byte prefix plus 100-byte name without a fallback.
const MAX_SEGMENT = 48;
const MAX_DEPTH = 3;

/** A caller's file name as a safe relative path: no `..`, no absolute path, ASCII only. */
function memberName(name: string): string {
  const segments = name
    .split(/[\\/]+/)
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    .map((s) => s.replace(/[^A-Za-z0-9._@+,=-]/g, '_'))
    .map((s) => (s.length > MAX_SEGMENT ? `${s.slice(0, 32)}~${s.slice(-(MAX_SEGMENT - 33))}` : s));
  if (segments.length === 0) return 'unnamed';
  if (segments.length > MAX_DEPTH) {
    const tail = segments.splice(MAX_DEPTH - 1).join('_');
    segments.push(tail.length > MAX_SEGMENT ? `${tail.slice(0, 32)}~${tail.slice(-(MAX_SEGMENT - 33))}` : tail);
  }
  return segments.join('/');
}

/** Writes `value` as zero-padded octal that fills the field, NUL-terminated. */
function octal(header: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new RangeError(`${value} does not fit a ${length}-byte tar field`);
  header.write(`${digits}\0`, offset, length, 'ascii');
}

function ustarHeader(path: string, size: number, mtime: number): Buffer {
  let name = path;
  let prefix = '';
  if (path.length > 100) {
    const cut = path.lastIndexOf('/', 155);
    name = path.slice(cut + 1);
    prefix = path.slice(0, cut);
    if (cut < 0 || name.length > 100) throw new RangeError(`tar member name too long: ${path}`);
  }
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'ascii');
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.write('0', 156, 'ascii'); // regular file
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(prefix, 345, 155, 'ascii');
  // The checksum is summed with its own field as spaces, then stored as 6 octal digits, NUL, space.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

function ustar(members: { path: string; data: Buffer }[], mtime: number): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    blocks.push(ustarHeader(m.path, m.data.length, mtime), m.data);
    const rest = m.data.length % 512;
    if (rest !== 0) blocks.push(Buffer.alloc(512 - rest));
  }
  blocks.push(Buffer.alloc(1024)); // end of archive: two zero blocks
  return Buffer.concat(blocks);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Bytes to text for redaction. Latin-1 for anything that is not UTF-8 (a binary lease file):
 * it maps each byte to one character, so bytes the redaction leaves alone come back unchanged.
 */
function decode(data: Buffer): { text: string; encoding: 'utf8' | 'latin1' } {
  try {
    return { text: utf8.decode(data), encoding: 'utf8' };
  } catch {
    return { text: data.toString('latin1'), encoding: 'latin1' };
  }
}

/** Whole values under secret keys go here, arrays and objects too, which text rules cannot bound. */
const hideSecretValues = (key: string, value: unknown): unknown =>
  key !== '' && value !== null && typeof value !== 'boolean' && isSecretKey(key) ? REDACTED : value;

function reportJson(json: unknown): string {
  try {
    return `${JSON.stringify(json, hideSecretValues, 2) ?? 'null'}\n`;
  } catch (err) {
    // A report that cannot be serialised must not cost the user the rest of the bundle.
    return `${JSON.stringify({ error: `report could not be serialised: ${(err as Error).message}` }, null, 2)}\n`;
  }
}

function assemble(input: BundleInput, sys: BundleSystem): { data: Buffer; redacted: number; missing: string[] } {
  const now = input.now ?? new Date();
  const top = `wifibox-diag-${stamp(now)}`;
  const members: { path: string; data: Buffer }[] = [];
  let redacted = 0;
  const addText = (rel: string, text: string, encoding: 'utf8' | 'latin1' = 'utf8'): void => {
    const r = redactSecrets(text, rel.slice(rel.lastIndexOf('/') + 1));
    redacted += r.count;
    members.push({ path: `${top}/${rel}`, data: Buffer.from(r.text, encoding) });
  };

  addText('report.txt', input.report);
  addText('report.json', reportJson(input.json));
  const missing: { rel: string; path: string }[] = [];
  const used = new Set<string>();
  for (const f of input.files) {
    let rel = `files/${memberName(f.name)}`;
    for (let n = 2; used.has(rel); n++) rel = `files/${memberName(f.name)}~${n}`;
    used.add(rel);
    let data: Buffer | null;
    try {
      data = sys.read(f.path);
    } catch {
      data = null; // a test double or an odd path may throw; the bundle goes on
    }
    if (data === null) {
      missing.push({ rel, path: f.path });
      continue;
    }
    const { text, encoding } = decode(data);
    addText(rel, text, encoding);
  }
  if (missing.length > 0) {
    addText('missing.txt', missing.map((m) => `${m.rel}\t${m.path}\tcould not be read\n`).join(''));
  }
  const tar = ustar(members, Math.max(0, Math.floor(now.getTime() / 1000)));
  return { data: gzipSync(tar, { level: 9 }), redacted, missing: missing.map((m) => m.path) };
}

/** The .tar.gz bytes: report.txt, report.json, files/<name>..., and missing.txt when a file could not be read. */
export function buildBundle(input: BundleInput, sys: BundleSystem = fsBundleSystem): Buffer {
  return assemble(input, sys).data;
}

/** Builds the bundle and writes it atomically; throws BundleWriteError when it cannot be written. */
export function writeBundle(file: string, input: BundleInput, sys: BundleSystem = fsBundleSystem): BundleResult {
  const { data, redacted, missing } = assemble(input, sys);
  try {
    sys.writeAtomic(file, data);
  } catch (err) {
    throw new BundleWriteError(file, err);
  }
  return { file, bytes: data.length, redacted, missing };
}
