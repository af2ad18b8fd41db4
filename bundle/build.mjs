// npm run build: type-check, build the native addon, bundle each agent into one file in dist/.
//   --quick       no type-check
//   --addon-only  only the native addon (native/build/), for the unit tests
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const quick = process.argv.includes('--quick'); // skip the type-check (tests of the bundle itself)
const addonOnly = process.argv.includes('--addon-only'); // the unit tests need nothing else

function gitRevision() {
  try {
    return execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString().trim();
  } catch {
    return 'nogit';
  }
}
export const version = `${pkg.version}+${gitRevision()}`;

function step(what, fn) {
  const t = Date.now();
  fn();
  console.log(`build: ${what} (${Date.now() - t} ms)`);
}

const bin = (name) => join(root, 'node_modules', '.bin', name);

if (!quick && !addonOnly) step('type-check', () => execFileSync(bin('tsc'), ['--noEmit', '-p', root], { stdio: 'inherit' }));

// The addon is rebuilt only when its sources are newer than the last build.
const addon = join(root, 'native', 'build', 'Release', 'wifibox_dgram.node');
const sources = ['unix_dgram.c', 'binding.gyp'].map((f) => join(root, 'native', f));
const stale = !existsSync(addon) || sources.some((s) => statSync(s).mtimeMs > statSync(addon).mtimeMs);
// Against the running node's own headers when it has them (Debian's nodejs does): node-gyp would
// otherwise download them, and these machines reach no server but the npm registry.
const nodePrefix = join(dirname(process.execPath), '..');
const nodedir = existsSync(join(nodePrefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodePrefix}`] : [];
if (stale) {
  step('native addon', () =>
    execFileSync(bin('node-gyp'), ['rebuild', ...nodedir, '--directory', join(root, 'native')], { stdio: ['ignore', 'ignore', 'inherit'] }));
}

if (addonOnly) process.exit(0);

mkdirSync(dist, { recursive: true });
// Copy then rename: overwriting a loaded .node in place crashes every process that mapped it.
const tmpAddon = join(dist, `.wifibox_dgram.node.${process.pid}`);
copyFileSync(addon, tmpAddon);
renameSync(tmpAddon, join(dist, 'wifibox_dgram.node'));

const agents = [
  { entry: 'agents/passthru/main.ts', out: 'wifibox-passthru.js', minify: true },
  { entry: 'agents/init/main.ts', out: 'wifibox-init.js', minify: true },
  { entry: 'agents/init/hook.ts', out: 'wifibox-dhcpcd-hook.js', minify: true, executable: true },
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
  // dhcpcd runs its hook directly (execve), so the hook must be executable itself.
  if (a.executable) chmodSync(join(dist, a.out), 0o755);
  console.log(`build: dist/${a.out} ${statSync(join(dist, a.out)).size} bytes`);
}
