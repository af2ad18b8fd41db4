// The man page lists each long-running agent's options as its --help does, with the same
// defaults: a page that documents an option the agent no longer has, or an old default, misleads
// the person in the guest who reads it (wifibox-diag's options live in its --help only).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths';

const AGENTS = ['init', 'passthru', 'forward'] as const;
/** Each command's entry: wifibox-init's is its runtime's (agents/parts/), the others their own main.ts. */
const ENTRY: Record<(typeof AGENTS)[number], string[]> = {
  init: ['agents', 'parts', 'wifibox-init.ts'],
  passthru: ['agents', 'passthru', 'main.ts'],
  forward: ['agents', 'forward', 'main.ts'],
};
const NOT_IN_MAN = new Set(['help', 'version']);

interface Documented {
  names: string[];
  text: string;
}

/** The `.It Fl -x` entries of the man page's OPTIONS subsection for one command. */
function manOptions(man: string, command: string): Documented[] {
  const options = man.split(/^\.Sh /m).find((s) => s.startsWith('OPTIONS')) ?? '';
  const section = options.split(/^\.Ss /m).find((s) => s.startsWith(`${command}\n`)) ?? '';
  return section
    .split(/^\.It /m)
    .slice(1)
    .map((entry) => {
      const [head = '', ...body] = entry.split('\n');
      return { names: [...head.matchAll(/Fl -([a-z0-9-]+)/g)].map((m) => m[1]!), text: body.join(' ').replace(/^\.El[\s\S]*/m, '') };
    });
}

/** `--name ARG  help (default: value)` lines of a --help text. */
function helpOptions(help: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const m of help.matchAll(/^ {2}--([a-z0-9-]+)\b(.*)$/gm)) out.set(m[1]!, /\(default: ([^)]*)\)\s*$/.exec(m[2]!)?.[1] ?? null);
  return out;
}

/** The default a man entry states, as written: `(default 30)`, `(default\n.Pa /run/x )`. */
function manDefault(text: string): string | null {
  const m = /\(default\s+(?:\.Pa\s+)?([^\s),]+)/.exec(text);
  return m?.[1]?.replace(/\.$/, '') ?? null;
}

let dir = '';
const help = new Map<string, string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wifibox-man-'));
  for (const a of AGENTS) {
    const out = await build({ entryPoints: [join(REPO, ...ENTRY[a])], bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'silent' });
    const file = join(dir, `${a}.js`);
    writeFileSync(file, out.outputFiles[0]!.contents);
    const r = spawnSync(process.execPath, [file, '--help'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`wifibox-${a} --help failed: ${r.stderr}`);
    help.set(a, r.stdout);
  }
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the man page and --help agree', () => {
  const man = readFileSync(join(REPO, 'apk', 'wifibox-agents.8'), 'utf8');

  it('reads options and defaults out of both (the check itself works)', () => {
    expect(helpOptions('  --max-peers N     UDP peers (default: 64)\n  --help   show this help\n')).toEqual(
      new Map([
        ['max-peers', '64'],
        ['help', null],
      ]),
    );
    const entries = manOptions('.Sh OPTIONS\n.Ss wifibox-x\n.Bl -tag\n.It Fl -a , Fl -b Ar p\nThe a (default\n.Pa /run/a ) .\n.El\n.Sh FILES\n', 'wifibox-x');
    expect(entries.map((e) => e.names)).toEqual([['a', 'b']]);
    expect(manDefault(entries[0]!.text)).toBe('/run/a');
  });

  for (const a of AGENTS) {
    it(`wifibox-${a}: every option of --help is in the man page, with the same default, and no other`, () => {
      const fromHelp = helpOptions(help.get(a)!);
      const entries = manOptions(man, `wifibox-${a}`);
      const documented = new Set(entries.flatMap((e) => e.names));
      expect([...fromHelp.keys()].filter((n) => !NOT_IN_MAN.has(n) && !documented.has(n))).toEqual([]);
      expect([...documented].filter((n) => !fromHelp.has(n))).toEqual([]);
      const wrong: string[] = [];
      for (const e of entries) {
        const stated = manDefault(e.text);
        if (e.names.length !== 1 || stated === null) continue;
        const actual = fromHelp.get(e.names[0]!);
        // The first word: `--hook`'s help says `(default: wifibox-dhcpcd-hook beside this file)`.
        if (actual && actual.split(' ')[0] !== stated) wrong.push(`--${e.names[0]}: man ${stated}, --help ${actual}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});
