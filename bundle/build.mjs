// npm run build: type-check, build the native addon, bundle each agent into one file in dist/.
//   --quick       no type-check
//   --native-only only the native parts (native/build/: the addon, the dhcpcd hook), for the unit tests
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const quick = process.argv.includes('--quick'); // skip the type-check (tests of the bundle itself)
const nativeOnly = process.argv.includes('--native-only'); // the unit tests need nothing else

function gitRevision() {
  try {
    return execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'nogit';
  }
}
export const version = `${pkg.version}+${gitRevision()}`;

/** @param {string} what @param {() => void} fn */
function step(what, fn) {
  const t = Date.now();
  fn();
  console.log(`build: ${what} (${Date.now() - t} ms)`);
}

const bin = (/** @type {string} */ name) => join(root, 'node_modules', '.bin', name);

if (!quick && !nativeOnly) step('type-check', () => execFileSync(bin('tsc'), ['--noEmit', '-p', root], { stdio: 'inherit' }));

// The addon is rebuilt only when its sources are newer than the last build.
const addon = join(root, 'native', 'build', 'Release', 'wifibox_dgram.node');
const sources = ['unix_dgram.c', 'tcp_join.c', 'addon.h', 'binding.gyp'].map((f) => join(root, 'native', f));
const stale = !existsSync(addon) || sources.some((s) => statSync(s).mtimeMs > statSync(addon).mtimeMs);
// Against the running node's own headers when it has them (Debian's nodejs does): node-gyp would
// otherwise download them, and these machines reach no server but the npm registry.
const nodePrefix = join(dirname(process.execPath), '..');
const nodedir = existsSync(join(nodePrefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodePrefix}`] : [];
if (stale) {
  step('native addon', () =>
    execFileSync(bin('node-gyp'), ['rebuild', ...nodedir, '--directory', join(root, 'native')], { stdio: ['ignore', 'ignore', 'inherit'] }),
  );
}

// The dhcpcd hook: a small C program (dhcpcd runs it for every event), built with the system's cc.
const hook = join(root, 'native', 'build', 'wifibox-dhcpcd-hook');
const hookSource = join(root, 'native', 'dhcpcd_hook.c');
if (!existsSync(hook) || statSync(hookSource).mtimeMs > statSync(hook).mtimeMs) {
  mkdirSync(dirname(hook), { recursive: true });
  step('dhcpcd hook', () => execFileSync('cc', ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', '-o', hook, hookSource], { stdio: 'inherit' }));
}
if (nativeOnly) process.exit(0);

mkdirSync(dist, { recursive: true });
// Outputs of earlier builds that nothing makes any more: packaging takes every bundle it finds.
for (const old of ['wifibox-dhcpcd-hook.js']) rmSync(join(dist, old), { force: true });
// Copy then rename: overwriting a loaded .node in place crashes every process that mapped it.
const tmpAddon = join(dist, `.wifibox_dgram.node.${process.pid}`);
copyFileSync(addon, tmpAddon);
renameSync(tmpAddon, join(dist, 'wifibox_dgram.node'));
const tmpHook = join(dist, `.wifibox-dhcpcd-hook.${process.pid}`);
copyFileSync(hook, tmpHook);
chmodSync(tmpHook, 0o755); // dhcpcd executes it directly
renameSync(tmpHook, join(dist, 'wifibox-dhcpcd-hook'));

const agents = [
  { entry: 'agents/passthru/main.ts', out: 'wifibox-passthru.js', minify: true },
  { entry: 'agents/forward/main.ts', out: 'wifibox-forward.js', minify: true },
  // wifibox-init's runtime: the network part and the passthrough part (agents/parts/).
  { entry: 'agents/parts/wifibox-init.ts', out: 'wifibox-init.js', minify: true },
  { entry: 'agents/diag/main.ts', out: 'wifibox-diag.js', minify: true },
  { entry: 'lab/cli.ts', out: 'lab.js', minify: false },
  { entry: 'bench/main.ts', out: 'bench.js', minify: false },
].filter((a) => existsSync(join(root, a.entry)));

for (const a of agents) {
  await build({
    entryPoints: [join(root, a.entry)],
    outfile: join(dist, a.out),
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    minify: a.minify,
    legalComments: 'none',
    banner: { js: '#!/usr/bin/env node' },
    define: { WIFIBOX_VERSION: JSON.stringify(version) },
    logLevel: 'warning',
  });
  console.log(`build: dist/${a.out} ${statSync(join(dist, a.out)).size} bytes`);
}
