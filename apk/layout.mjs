// @ts-check
// What goes into the package, where, and with which mode; and the package's metadata, read from
// apk/APKBUILD so that `npm run apk` and an abuild run on Alpine describe the same package.
// Pure: paths in, a plan out. bundle/apk.mjs reads the files and writes the .apk.
import { join } from 'node:path';

export const LIB_DIR = 'usr/lib/wifibox-agents';

/**
 * The commands in /usr/sbin and the bundles they start. wifibox-diag is packaged once its
 * bundle exists; the others are required.
 */
export const COMMANDS = [
  { command: 'wifibox-init', bundle: 'wifibox-init.js', required: true },
  { command: 'wifibox-passthru', bundle: 'wifibox-passthru.js', required: true },
  { command: 'wifibox-forward', bundle: 'wifibox-forward.js', required: true },
  { command: 'wifibox-diag', bundle: 'wifibox-diag.js', required: false },
];

/**
 * @typedef {{ path: string, mode: number, source: string }} PlannedFile
 *   path: inside the package, no leading slash; source: the file on this machine to copy
 */

/**
 * @param {{ root: string, dist: string, addon: string, hook: string, present: (file: string) => boolean }} p
 *   root: the repository; dist: where the bundles are; addon, hook: the musl builds of the addon
 *   and of the dhcpcd hook;
 *   present: whether a file exists (a parameter so that a test can fake it)
 * @returns {{ files: PlannedFile[], missing: string[], skipped: string[] }}
 */
export function installPlan(p) {
  /** @type {PlannedFile[]} */
  const files = [];
  /** @type {string[]} */
  const missing = [];
  /** @type {string[]} */
  const skipped = [];
  const want = (/** @type {PlannedFile} */ f) => {
    if (p.present(f.source)) files.push(f);
    else missing.push(f.source);
  };

  for (const c of COMMANDS) {
    const bundle = join(p.dist, c.bundle);
    if (!c.required && !p.present(bundle)) {
      skipped.push(`${c.command} (no ${bundle} yet)`);
      continue;
    }
    want({ path: `${LIB_DIR}/${c.bundle}`, mode: 0o644, source: bundle });
    want({ path: `usr/sbin/${c.command}`, mode: 0o755, source: join(p.root, 'apk', 'sbin', c.command) });
  }
  // dhcpcd runs its hook with execve (dhcpcd -c).
  want({ path: `${LIB_DIR}/wifibox-dhcpcd-hook`, mode: 0o755, source: p.hook });
  want({ path: `${LIB_DIR}/wifibox_dgram.node`, mode: 0o644, source: p.addon });

  for (const service of ['wifibox-init', 'uds_passthru', 'forwarding']) {
    want({ path: `etc/init.d/${service}`, mode: 0o755, source: join(p.root, 'init', `${service}.initd`) });
    want({ path: `etc/conf.d/${service}`, mode: 0o644, source: join(p.root, 'init', `${service}.confd`) });
  }
  want({ path: 'usr/share/man/man8/wifibox-agents.8', mode: 0o644, source: join(p.root, 'apk', 'wifibox-agents.8') });
  // Copied to /media/etc (the host's appliance folder) by whoever wants to change a setting.
  want({ path: 'usr/share/doc/wifibox-agents/wifibox-agents.conf.sample', mode: 0o644, source: join(p.root, 'apk', 'wifibox-agents.conf.sample') });
  return { files, missing, skipped };
}

/**
 * The plain `name=value`, `name="value"` and `name='value'` assignments of an APKBUILD, one per line.
 * Anything else (functions, multi-line values, expansions) is left alone; values that use `$` are
 * returned as written.
 * @param {string} text
 * @returns {Map<string, string>}
 */
export function apkbuildVariables(text) {
  /** @type {Map<string, string>} */
  const vars = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-z_][a-z0-9_]*)=(?:"([^"]*)"|'([^']*)'|([^\s"'#]*))\s*(?:#.*)?$/.exec(line);
    if (m?.[1] !== undefined) vars.set(m[1], m[2] ?? m[3] ?? m[4] ?? '');
  }
  return vars;
}

/** The install scripts apk-tools runs, by the suffix abuild gives their files. */
const SCRIPT_KINDS = ['pre-install', 'post-install', 'pre-upgrade', 'post-upgrade', 'pre-deinstall', 'post-deinstall'];

/**
 * APKBUILD's install= scripts: each file (beside APKBUILD, in apk/) and its name in the control
 * segment (`.pre-install`), as abuild packs them.
 * @param {Map<string, string>} apkbuild
 * @returns {Array<{ file: string, name: string }>}
 */
export function installScripts(apkbuild) {
  const pkgname = apkbuild.get('pkgname') ?? '';
  const names = (apkbuild.get('install') ?? '')
    .replace(/\$\{?pkgname\}?/g, pkgname)
    .split(/\s+/)
    .filter(Boolean);
  return names.map((file) => {
    const kind = SCRIPT_KINDS.find((k) => file === `${pkgname}.${k}`);
    if (!kind) throw new Error(`apk/APKBUILD: install= names ${file}; expected ${pkgname}.<${SCRIPT_KINDS.join('|')}>`);
    return { file, name: `.${kind}` };
  });
}

/**
 * .PKGINFO's fields (all but size and datahash, which come from the data) in abuild's order.
 * @param {{ apkbuild: Map<string, string>, version: string, builddate: number, packager: string, commands: string[] }} p
 *   version: package.json's; commands: the /usr/sbin commands in the package
 * @returns {Array<[string, string | number]>}
 */
export function pkginfoFields(p) {
  const need = (/** @type {string} */ name) => {
    const value = p.apkbuild.get(name);
    if (value === undefined || value === '') throw new Error(`apk/APKBUILD: ${name}= is missing or empty`);
    return value;
  };
  const pkgver = need('pkgver');
  if (pkgver !== p.version) {
    throw new Error(`apk/APKBUILD: pkgver=${pkgver} but package.json has version ${p.version}; make them equal`);
  }
  const pkgrel = need('pkgrel');
  if (!/^\d+$/.test(pkgrel)) throw new Error(`apk/APKBUILD: pkgrel=${pkgrel}; expected a whole number`);
  const arch = need('arch');
  if (arch !== 'x86_64') throw new Error(`apk/APKBUILD: arch=${arch}; this build makes x86_64 only`);
  const full = `${pkgver}-r${pkgrel}`;
  /** @type {Array<[string, string | number]>} */
  const fields = [
    ['pkgname', need('pkgname')],
    ['pkgver', full],
    ['pkgdesc', need('pkgdesc')],
    ['url', need('url')],
    ['builddate', p.builddate],
    ['packager', p.packager],
    ['arch', arch],
    ['origin', need('pkgname')],
    ['license', need('license')],
  ];
  for (const dep of need('depends').split(/\s+/).filter(Boolean)) fields.push(['depend', dep]);
  // abuild adds these itself for every executable in /usr/sbin ("# automatically detected").
  for (const command of [...p.commands].sort()) fields.push(['provides', `cmd:${command}=${full}`]);
  return fields;
}

/** The file name abuild gives the package. @param {Map<string, string>} apkbuild @param {string} version */
export function apkFileName(apkbuild, version) {
  return `${apkbuild.get('pkgname')}-${version}-r${apkbuild.get('pkgrel')}.apk`;
}
