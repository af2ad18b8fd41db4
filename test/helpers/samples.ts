// The upstream samples as the guest sees them in /media/etc: each folder copied over the one before
// (an overlay over its flavor), `X.sample` installed as `X`, and optionally one file changed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { GUEST_PATHS } from '../../agents/common/paths';
import { loadGuestConfig, type GuestConfig } from '../../agents/init/config';

const GUEST_CONFIG_DIR = GUEST_PATHS.confDir;
import { UPSTREAM } from './paths';

export function sampleFiles(dirs: string[], change: Record<string, (t: string) => string> = {}): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (src: string, rel: string) => {
    for (const f of readdirSync(src, { withFileTypes: true })) {
      if (f.isDirectory()) walk(join(src, f.name), posix.join(rel, f.name));
      else if (f.name.endsWith('.sample')) files.set(posix.join(GUEST_CONFIG_DIR, rel, f.name.slice(0, -7)), readFileSync(join(src, f.name), 'utf8'));
    }
  };
  for (const d of dirs) walk(join(UPSTREAM, d), '');
  for (const [name, fn] of Object.entries(change)) files.set(`${GUEST_CONFIG_DIR}/${name}`, fn(files.get(`${GUEST_CONFIG_DIR}/${name}`) ?? ''));
  return files;
}

/** wifibox-init's config from those files. */
export function sampleConfig(dirs: string[], change: Record<string, (t: string) => string> = {}): GuestConfig {
  const files = sampleFiles(dirs, change);
  return loadGuestConfig({
    read: (p) => files.get(p) ?? null,
    list: (d) => [...files.keys()].filter((k) => posix.dirname(k) === d).map((k) => posix.basename(k)),
  });
}
