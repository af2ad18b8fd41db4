// @ts-check
// npm run apk: the Alpine package, dist/<pkgname>-<version>-r<pkgrel>.apk, from what is in dist/.
// (`npm run apk` bundles first, with `build.mjs --quick`; this script only packages.)
//
//   node bundle/apk.mjs [--out DIR] [--dist DIR] [--addon FILE] [--record-sizes]
//     --out DIR        where the .apk is written (default: dist/)
//     --dist DIR       where the bundles are read from (default: dist/)
//     --addon FILE     a musl build of wifibox_dgram.node to package, instead of building one
//     --record-sizes   also write the sizes into docs/BENCHMARKS.md (## Bundle sizes)
//   SOURCE_DATE_EPOCH  every timestamp in the package (default: the time of git's HEAD commit)
//   PACKAGER           .PKGINFO's packager (default: a fixed text, so that builds are reproducible)
//
// Same inputs, same bytes: fixed timestamps, sorted entries, uid/gid 0, gzip without name or mtime.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { apkbuildVariables, apkFileName, COMMANDS, installPlan, installScripts, LIB_DIR, pkginfoFields } from '../apk/layout.mjs';
import { muslAddonCommand, muslHookCommand } from '../apk/musl-addon.mjs';
import { buildApk } from '../apk/package-writer.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE_TARGET_BYTES = 300_000; // the target: ≤ 300 KB per agent
const DEFAULT_PACKAGER = 'wifibox-agents (npm run apk)';

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'dist') },
    dist: { type: 'string', default: join(root, 'dist') },
    addon: { type: 'string' },
    'record-sizes': { type: 'boolean', default: false },
  },
  strict: true,
});

/** @param {string} message @returns {never} */
function fail(message) {
  console.error(`apk: ${message}`);
  process.exit(1);
}

/** Writes that others may read meanwhile go to a temporary name first. @param {string} file @param {Buffer | string} data */
function writeAtomic(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** @param {string[]} args @returns {string | undefined} */
function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/** The one time used for every mtime and builddate. */
function buildEpoch() {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && env !== '') {
    if (!/^\d+$/.test(env)) fail(`SOURCE_DATE_EPOCH=${env}; expected whole seconds since 1970`);
    return Number(env);
  }
  const commitTime = git(['log', '-1', '--format=%ct', 'HEAD']);
  if (commitTime === undefined || !/^\d+$/.test(commitTime)) fail('no git commit to take the time from; set SOURCE_DATE_EPOCH');
  return Number(commitTime);
}

/** The headers the addon compiles against: those of the node that runs this, as node-gyp would use. */
function nodeInclude() {
  const candidates = [resolve(process.execPath, '../../include/node'), '/usr/include/node'];
  const found = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (found === undefined) fail(`node_api.h not found in ${candidates.join(' or ')}`);
  return found;
}

/**
 * A file of dist/musl/, built with musl-gcc from files under native/ only when one of them is newer.
 * @param {string} name @param {string[]} sourceNames the C files, then the headers they include
 * @param {(p: { sources: string[], out: string }) => string[]} command
 */
function muslBuild(name, sourceNames, command) {
  const out = join(root, 'dist', 'musl', name);
  const files = sourceNames.map((f) => join(root, 'native', f));
  if (existsSync(out) && files.every((f) => statSync(out).mtimeMs >= statSync(f).mtimeMs)) return out;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  const sources = files.filter((f) => f.endsWith('.c')).map((f) => relative(root, f));
  const argv = command({ sources, out: relative(root, tmp) });
  const t = Date.now();
  try {
    execFileSync(argv[0] ?? 'musl-gcc', argv.slice(1), { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    const e = /** @type {NodeJS.ErrnoException} */ (err);
    if (e.code === 'ENOENT') fail("musl-gcc not found: install Debian's musl-tools (apt-get install musl-tools)");
    fail(`musl-gcc failed: ${e.message}`);
  }
  renameSync(tmp, out);
  console.log(`apk: musl build ${relative(root, out)} (${Date.now() - t} ms)`);
  return out;
}

const muslAddon = () =>
  muslBuild('wifibox_dgram.node', ['unix_dgram.c', 'tcp_join.c', 'addon.h'], (p) =>
    muslAddonCommand({ compiler: 'musl-gcc', nodeInclude: nodeInclude(), ...p }),
  );
const muslHook = () => muslBuild('wifibox-dhcpcd-hook', ['dhcpcd_hook.c'], (p) => muslHookCommand({ compiler: 'musl-gcc', ...p }));

/** @param {number} n */
const bytes = (n) => n.toLocaleString('en-US');

/**
 * docs/BENCHMARKS.md's "## Bundle sizes" section, between its markers.
 * @param {{ files: Array<{ path: string, size: number, gzip: number }>, apkName: string, apkSize: number, installedSize: number }} p
 */
function sizesSection(p) {
  const rev = git(['rev-parse', '--short=10', 'HEAD']) ?? 'nogit';
  const dirty = (git(['status', '--porcelain']) ?? '') !== '' ? '+uncommitted changes' : '';
  const lines = [
    '<!-- sizes:start -->',
    '## Bundle sizes',
    '',
    `Command: \`npm run apk -- --record-sizes\` — run ${new Date().toISOString()}, tree ${rev}${dirty}.`,
    "The bundles are esbuild's minified output (`bundle/build.mjs`); the target is",
    `≤ 300 KB per agent, read here as ${bytes(BUNDLE_TARGET_BYTES)} bytes. gzip -9 is for information (the package is compressed that way).`,
    '',
    `| file in /${LIB_DIR} | bytes | gzip -9, bytes | target |`,
    '|---|---:|---:|---|',
  ];
  for (const f of p.files) {
    const name = f.path.slice(LIB_DIR.length + 1);
    const isAgent = name.endsWith('.js');
    const verdict = isAgent ? (f.size <= BUNDLE_TARGET_BYTES ? '≤ 300 KB: ✓' : '≤ 300 KB: ✗') : 'not an agent (a musl build)';
    lines.push(`| \`${name}\` | ${bytes(f.size)} | ${bytes(f.gzip)} | ${verdict} |`);
  }
  lines.push(
    '',
    `Package \`${p.apkName}\`: ${bytes(p.apkSize)} bytes; installed size (\`.PKGINFO\` size, the sum of its files) ${bytes(p.installedSize)} bytes (${(p.installedSize / 1024).toFixed(1)} KiB).`,
    '<!-- sizes:end -->',
  );
  return lines.join('\n');
}

/** Replace the section between its markers, or append it. @param {string} section */
function recordSizes(section) {
  const file = join(root, 'docs', 'BENCHMARKS.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = text.indexOf('<!-- sizes:start -->');
  const end = text.indexOf('<!-- sizes:end -->');
  const next =
    start >= 0 && end > start ? text.slice(0, start) + section + text.slice(end + '<!-- sizes:end -->'.length) : `${text.replace(/\n*$/, '\n')}\n${section}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeAtomic(file, next);
  console.log(`apk: sizes written to ${relative(root, file)}`);
}

const t0 = Date.now();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const apkbuild = apkbuildVariables(readFileSync(join(root, 'apk', 'APKBUILD'), 'utf8'));
const addon = opts.addon !== undefined ? resolve(opts.addon) : muslAddon();

const plan = installPlan({ root, dist: resolve(opts.dist), addon, hook: muslHook(), present: existsSync });
if (plan.missing.length > 0) fail(`missing: ${plan.missing.join(', ')} (run \`npm run build\` first)`);
for (const s of plan.skipped) console.log(`apk: not packaged: ${s}`);

const epoch = buildEpoch();
const commands = COMMANDS.map((c) => c.command).filter((c) => plan.files.some((f) => f.path === `usr/sbin/${c}`));
const contents = plan.files.map((f) => ({ path: f.path, mode: f.mode, content: readFileSync(f.source) }));
/** @type {import('../apk/package-writer.mjs').Entry[]} */
const files = contents.map((f) => ({ type: 'file', ...f }));
/** @type {Array<[string, string | number]>} */
let fields;
try {
  fields = pkginfoFields({ apkbuild, version: pkg.version, builddate: epoch, packager: process.env.PACKAGER || DEFAULT_PACKAGER, commands });
} catch (err) {
  fail(/** @type {Error} */ (err).message);
}
/** @type {Array<{ name: string, content: Buffer }>} */
let scripts = [];
try {
  scripts = installScripts(apkbuild).map((s) => ({ name: s.name, content: readFileSync(join(root, 'apk', s.file)) }));
} catch (err) {
  fail(/** @type {Error} */ (err).message);
}
const built = buildApk({ fields, files, mtime: epoch, comment: 'Generated by wifibox-agents bundle/apk.mjs', scripts });

const outDir = resolve(opts.out);
mkdirSync(outDir, { recursive: true });
const name = apkFileName(apkbuild, pkg.version);
const outFile = join(outDir, name);
writeAtomic(outFile, built.apk);

const libFiles = contents
  .filter((f) => f.path.startsWith(`${LIB_DIR}/`))
  .map((f) => ({ path: f.path, size: f.content.length, gzip: gzipSync(f.content, { level: 9 }).length }));
for (const f of libFiles) {
  const over = f.path.endsWith('.js') && f.size > BUNDLE_TARGET_BYTES ? ` (over the ${bytes(BUNDLE_TARGET_BYTES)}-byte target)` : '';
  console.log(`apk: /${f.path} ${bytes(f.size)} bytes${over}`);
}
const shown = relative(process.cwd(), outFile);
console.log(
  `apk: ${shown.startsWith('..') ? outFile : shown} ${bytes(built.apk.length)} bytes, installed size ${bytes(built.installedSize)} bytes, ${files.length} files (${Date.now() - t0} ms)`,
);
if (opts['record-sizes']) {
  recordSizes(sizesSection({ files: libFiles, apkName: name, apkSize: built.apk.length, installedSize: built.installedSize }));
}
