// What an agent makes for itself under /run: a private folder and its UNIX stream sockets. What a
// crash (or anyone) left at those paths is never followed and never taken for ours: a symlink is
// removed (its target untouched), a socket left by a crash is replaced, and anything else is
// refused with an error that names it.
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname } from 'node:path';

/** Something at a path the agent owns that it will not use. */
class PlantedPathError extends Error {}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function what(st: Stats): string {
  return st.isFile() ? 'a regular file' : st.isDirectory() ? 'a folder' : st.isSocket() ? 'a socket' : 'a special file';
}

/** Removes a symlink (never what it points to); says what it pointed to, for the log. */
function removeLink(path: string): string {
  const target = readlinkSync(path);
  unlinkSync(path);
  return `removed a symbolic link to ${target} that was in its place`;
}

/**
 * Makes `path` a folder of this process's user with mode 0700. A symlink there is removed and a
 * folder made instead, so no chmod, listing or removal ever reaches its target; a file, a socket
 * or a folder of another user is refused. Returns what was removed, for the log, or null. With
 * `owner`, the folder is handed to that user (an agent that drops root keeps a folder it can write).
 */
export function makePrivateDir(path: string, owner?: { uid: number; gid: number }): string | null {
  mkdirSync(dirname(path), { recursive: true });
  let st = lstatOrNull(path);
  let removed: string | null = null;
  if (st?.isSymbolicLink()) {
    removed = removeLink(path);
    st = null;
  }
  if (st === null) mkdirSync(path, { mode: 0o700 });
  else if (!st.isDirectory()) throw new PlantedPathError(`${path} is ${what(st)}, not a folder: refusing to use it; remove it`);
  // The mode is set on what was opened without following a link: what was checked is what changes.
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const own = fstatSync(fd);
    const uid = process.geteuid?.() ?? own.uid;
    // A folder handed to `owner` by an earlier run is this agent's too.
    if (own.uid !== uid && own.uid !== owner?.uid)
      throw new PlantedPathError(`${path} belongs to user ${own.uid}, not to ${uid}: refusing to use it; remove it`);
    fchmodSync(fd, 0o700);
    if (owner) fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
  return removed;
}

/**
 * A file the agent wrote for itself in its private folder (the record of its daemons), or null when
 * there is none. Anything else there is refused (PlantedPathError): a symlink (never followed),
 * not a regular file, another user's, or one others may write.
 */
export function readOwnFile(path: string): string | null {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted there must not hang the open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new PlantedPathError(`${path} is a symbolic link, not a file of ours: not followed`);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const uid = process.geteuid?.() ?? st.uid;
    if (!st.isFile()) throw new PlantedPathError(`${path} is ${what(st)}, not a file of ours: not read`);
    if (st.uid !== uid || (st.mode & 0o022) !== 0)
      throw new PlantedPathError(`${path} belongs to user ${st.uid} with mode ${(st.mode & 0o777).toString(8)}, not to ${uid} alone: not read`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Clears the way for a socket at `path`: a socket (a crash's) or a symlink is removed, never
 * followed; a regular file or a folder is nobody's socket and is refused.
 */
function clearSocketPath(path: string): void {
  const st = lstatOrNull(path);
  if (st === null) return;
  if (st.isSymbolicLink()) removeLink(path);
  else if (st.isSocket()) unlinkSync(path);
  else throw new PlantedPathError(`${path} is ${what(st)}, not a socket: refusing to replace it; remove it`);
}

/**
 * Listens on a UNIX stream socket at `path` that only its owner (root) may connect to: the file is
 * made with mode 0600 from the start (umask), whatever umask the agent was started with. What is
 * in the way is cleared (clearSocketPath); a refusal reaches the server's 'error' listeners.
 */
export function listenPrivately(server: Server, path: string): void {
  try {
    clearSocketPath(path);
  } catch (err) {
    queueMicrotask(() => server.emit('error', err));
    return;
  }
  // Node binds within listen() itself, so the umask holds for exactly that bind.
  const umask = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(umask);
  }
}

/** A status endpoint: each connection gets answer(), then EOF. */
export function serveStatus(path: string, answer: () => string, onError: (err: Error) => void): Server {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.end(answer());
  });
  server.on('error', onError);
  listenPrivately(server, path);
  return server;
}
