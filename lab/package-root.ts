// The package as `apk add` would lay it down, for a lab guest under real OpenRC: `npm run apk`'s
// package built into a folder, its data member unpacked into a root, and the lab's own settings
// for its services (what a guest image's conf.d would hold here). Used by the package test and
// the resume bench.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_SYS_BUS_PCI } from './guest';
import { repoRoot } from './paths';
import { must } from './proc';

export interface PackageRoot {
  /** The unpacked package: usr/, etc/. */
  root: string;
  /** The lab's etc/ files for its services, laid over the package's. */
  etc: string;
  version: string;
}

/** Builds the package into `dir` and unpacks it there; `initOpts` go to WIFIBOX_INIT_OPTS after the lab's own. */
export async function packageRoot(dir: string, o: { initOpts?: string; passthruOpts?: string; forwardingOpts?: string } = {}): Promise<PackageRoot> {
  await must([process.execPath, join(repoRoot(), 'bundle', 'apk.mjs'), '--out', dir], { timeoutMs: 120_000 });
  const apk = readdirSync(dir).find((f) => f.endsWith('.apk'));
  const version = apk ? /^wifibox-agents-(.+)-r\d+\.apk$/.exec(apk)?.[1] : undefined;
  if (!apk || !version) throw new Error(`npm run apk left no wifibox-agents-<version>-r<n>.apk in ${dir}`);
  // What `apk add --allow-untrusted` would lay down: the data member's files (GNU tar reads the
  // concatenated gzip members; apk's own PAX records are not its business).
  const root = join(dir, 'root');
  mkdirSync(root);
  await must(['tar', '-xzf', join(dir, apk), '-C', root, '--warning=no-unknown-keyword', '--exclude=.PKGINFO']);
  // The lab's settings for the services, and a stand-in for Alpine's localmount (Debian's
  // OpenRC has none): what the guest image's runlevels would provide.
  const etc = join(dir, 'etc-lab');
  mkdirSync(join(etc, 'conf.d'), { recursive: true });
  mkdirSync(join(etc, 'init.d'), { recursive: true });
  writeFileSync(
    join(etc, 'conf.d', 'wifibox-init'),
    `WIFIBOX_INIT_OPTS="--loglevel info --udhcpd /run/lab-bin/udhcpd --sys-bus-pci ${LAB_SYS_BUS_PCI}${o.initOpts ? ` ${o.initOpts}` : ''}"\nRESPAWN_DELAY=1\n`,
  );
  writeFileSync(join(etc, 'conf.d', 'uds_passthru'), `UDS_PASSTHRU_OPTS="${o.passthruOpts ?? '--loglevel info'}"\n`);
  if (o.forwardingOpts !== undefined) writeFileSync(join(etc, 'conf.d', 'forwarding'), `FORWARDING_OPTS="${o.forwardingOpts}"\n`);
  writeFileSync(join(etc, 'init.d', 'localmount'), '#!/sbin/openrc-run\nstart() { :; }\n', { mode: 0o755 });
  return { root, etc, version };
}
