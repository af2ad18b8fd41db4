// @ts-check
// The first step of `npm run lab`, `npm test`, `npm run test:unit` and `npm run bench`: whatever a
// fresh machine lacks, installed once. Plain Node and no dependencies, because it runs before
// `npm ci`. When everything is there it only asks dpkg once and looks at two timestamps.
//
//   node bundle/setup.mjs unit|lab|test|bench
//     unit   node_modules (and the compiler the addon needs); runs as any user
//     lab    + root, and the Debian packages of the lab
//     test   + the tools the packaging and service-file tests use
//     bench  + what the benchmarks compare against (the old ifupdown-ng sequence)
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Debian packages, by what needs them. One list: .ci/run and the README point here. */
export const PACKAGES = {
  // node-gyp builds the datagram addon with these.
  addon: ['g++', 'make', 'python3'],
  // socat: the host's half; wpasupplicant/hostapd: the daemons (wired driver); iproute2: ip, ss;
  // util-linux: unshare, nsenter, findmnt; mount: the guest's mount namespace; dhcpcd, busybox
  // (udhcpd, udhcpc), iptables, radvd: what wifibox-init drives; ndisc6: rdisc6 reads the guest's
  // router advertisements; dnsmasq-base: the wireless network's DNS server.
  lab: ['socat', 'wpasupplicant', 'hostapd', 'iproute2', 'util-linux', 'mount', 'dhcpcd', 'busybox', 'iptables', 'radvd', 'ndisc6', 'dnsmasq-base'],
  // shellcheck and openrc: the service files, linted and run; musl-tools, binutils: the Alpine
  // (musl) build of the addon, checked with readelf; tar: the diag bundle read back.
  test: ['shellcheck', 'openrc', 'musl-tools', 'binutils', 'tar'],
  // The old glue's `networking` service, measured against wifibox-init; ISC dhclient, the host's
  // DHCP client in the resume bench (FreeBSD's dhclient descends from it).
  bench: ['ifupdown-ng', 'isc-dhcp-client'],
};

const NEEDS = {
  unit: ['addon'],
  lab: ['addon', 'lab'],
  test: ['addon', 'lab', 'test'],
  bench: ['addon', 'lab', 'test', 'bench'],
};

/** @param {string} message @returns {never} */
function fail(message) {
  process.stderr.write(`setup: ${message}\n`);
  process.exit(1);
}

/**
 * The packages of `names` dpkg does not have installed; null when this is no Debian (no dpkg).
 * @param {string[]} names
 * @returns {string[] | null}
 */
export function missingPackages(names) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\\n', ...names], { encoding: 'utf8' });
  if (r.error) return null;
  const installed = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((w) => w[1] === 'ii')
      .map((w) => w[0]),
  );
  return names.filter((n) => !installed.has(n));
}

/** @param {string[]} argv @param {object} [opts] */
function mustRun(argv, opts = {}) {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) fail(`${argv[0]}: ${r.error.message}`);
  if (r.status !== 0) fail(`${argv.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/** @param {string[]} wanted @param {boolean} root */
function ensurePackages(wanted, root) {
  const missing = missingPackages(wanted);
  if (missing === null) {
    fail(`this is not a Debian machine (no dpkg-query): install the equivalents of ${wanted.join(' ')} by hand`);
  }
  if (missing.length === 0) return;
  if (!root) {
    fail(
      `missing Debian packages: ${missing.join(' ')}.\n` +
        `  Install them as root: apt-get update && apt-get install --no-install-recommends ${missing.join(' ')}`,
    );
  }
  console.log(`setup: installing ${missing.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  mustRun(['apt-get', 'update', '-qq'], { env });
  mustRun(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  const still = missingPackages(missing) ?? missing;
  if (still.length) fail(`apt-get did not install ${still.join(' ')}`);
}

/** npm writes node_modules/.package-lock.json on every install: older than the lock file = stale. */
function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log('setup: npm ci');
  // The npm that runs this script when there is one, so the same version installs.
  const npm = process.env.npm_execpath;
  mustRun(npm ? [process.execPath, npm, 'ci', '--no-audit', '--no-fund'] : ['npm', 'ci', '--no-audit', '--no-fund']);
}

function main() {
  const what = /** @type {keyof typeof NEEDS} */ (process.argv[2] ?? '');
  if (!(what in NEEDS)) fail(`usage: node bundle/setup.mjs ${Object.keys(NEEDS).join('|')}`);
  const isRoot = process.getuid?.() === 0;
  if (what !== 'unit' && !isRoot) {
    const command = what === 'test' ? 'npm test' : `npm run ${what}`;
    fail(
      `${command} needs root: the lab builds network namespaces, veth links and mounts.\n` +
        `  Run it as root${what === 'test' ? ', or run the unit tests alone with `npm run test:unit` (no root needed)' : ''}.`,
    );
  }
  ensurePackages(
    NEEDS[what].flatMap((k) => PACKAGES[/** @type {keyof typeof PACKAGES} */ (k)]),
    isRoot,
  );
  ensureNodeModules();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
