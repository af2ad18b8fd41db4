// Which files go into a bug-report bundle: the configuration as the user wrote it, what the
// agents rendered from it, and the log. bundle.ts redacts every one of them. A symlink is listed
// but never followed (bundle.ts reads none): its name shows in missing.txt, not what it points to.
import { basename, join } from 'node:path';
import { daemonOutputFile } from './agents';
import type { DiagOptions } from './options';
import type { DiagReport } from './report';
import type { DiagSystem } from './system';

const MAX_FILES = 64;

/** A file goes into the bundle's list; so does a symlink (named, never followed). */
const listed = (kind: ReturnType<DiagSystem['kind']>): boolean => kind === 'file' || kind === 'link';

function walk(sys: DiagSystem, dir: string, prefix: string, depth: number, out: { name: string; path: string }[]): void {
  let entries: string[];
  try {
    entries = sys.list(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    if (out.length >= MAX_FILES) return;
    const path = join(dir, e);
    const kind = sys.kind(path);
    if (listed(kind)) out.push({ name: `${prefix}/${e}`, path });
    else if (kind === 'dir' && depth > 0) walk(sys, path, `${prefix}/${e}`, depth - 1, out);
  }
}

export function bundleFiles(sys: DiagSystem, opts: DiagOptions, report: DiagReport): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  walk(sys, opts.confDir, 'appliance', 1, out);
  walk(sys, opts.wpaSupplicantConfDir, 'wpa_supplicant', 0, out);
  walk(sys, opts.hostapdConfDir, 'hostapd', 0, out);
  const rendered = [report.dhcp.udhcpd.config, join(opts.tmpDir, 'radvd.conf')];
  for (const path of rendered) if (listed(sys.kind(path))) out.push({ name: `rendered/${basename(path)}`, path });
  if (listed(sys.kind(opts.syslogFile))) out.push({ name: `log/${basename(opts.syslogFile)}`, path: opts.syslogFile });
  // Each daemon's last output, which wifibox-init keeps in its run folder (redacted as every member is).
  for (const d of report.agents.init.daemons) {
    const path = daemonOutputFile(opts, d.name);
    if (path !== null && listed(sys.kind(path))) out.push({ name: `run/${d.name}.out`, path });
  }
  return out.slice(0, MAX_FILES);
}
