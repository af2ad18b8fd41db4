// Where the tests find the repository's own files: the upstream samples, fixtures, the bundles.
import { join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..');
/** The upstream guest configuration samples, unchanged (upstream-config/README.md). */
export const UPSTREAM = join(REPO, 'upstream-config');
export const FIXTURES = join(REPO, 'test', 'fixtures');
/** The bundles `npm run build` writes: only lab tests use them. */
export const DIST = join(REPO, 'dist');
