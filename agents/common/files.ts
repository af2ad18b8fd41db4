// Files that matter (a bug-report bundle, a daemon's rendered config, the record of our daemons)
// are written atomically: a reader sees the old file or the whole new one, never half of it.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Writes a temp file beside `path`, fsyncs it and renames it over `path`; on failure the temp file is removed. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w', mode);
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true }); // a full /tmp (128 KiB) must not keep a half file too
    throw err;
  }
  // The rename itself survives a power cut only once the folder is synced; not all filesystems allow it.
  try {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    /* best effort */
  }
}
