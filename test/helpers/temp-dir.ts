// A folder of its own for each test, under the system's temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/**
 * Called in a describe: before each of its tests a new, empty folder whose name starts with
 * `prefix`, removed with all it holds after the test. Returns how a test finds its folder.
 */
export function tempDirEach(prefix: string): () => string {
  let dir: string | null = null;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });
  return () => {
    if (dir === null) throw new Error('tempDirEach: the folder exists only while a test runs');
    return dir;
  };
}
