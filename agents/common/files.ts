// Files that matter (a bug-report bundle, a daemon's rendered config, the record of our daemons)
// are written atomically: a reader sees the old file or the whole new one, never half of it.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates the temp file afresh: O_CREAT|O_EXCL never follows a symlink planted at its name (in
 * /tmp anyone can plant one). Whatever is there already (a crash's leftover, or planted) is
 * unlinked first, once: the link itself, never what it points to.
 */
function createExclusive(tmp: string, mode: number): number {
  try {
    return openSync(tmp, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    unlinkSync(tmp);
    return openSync(tmp, 'wx', mode);
  }
}

/** Writes a temp file beside `path`, fsyncs it and renames it over `path`; on failure the temp file is removed. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = createExclusive(tmp, mode);
  let open = true;
  try {
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    open = false;
    // A symlink at `path` is replaced, not written through: rename does not follow it.
    renameSync(tmp, path);
  } catch (err) {
    if (open) closeSync(fd);
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

/** Removes a file (a socket, a leftover); one already gone is no error, any other failure is. */
export function removeIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
