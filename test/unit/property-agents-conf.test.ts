// Property-based fuzzing of /media/etc/wifibox-agents.conf (INI, read with the `ini` package):
// whatever the file holds, no exception, no slow call, problems at real lines in the project's
// words, and every setting within its spec. Generated files are checked against a model of
// what `ini` reads: each valid value taken however it is quoted, each bad one an error on its
// own line, each unknown key or section a warning on its own line.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAgentsConf, type Setting } from '../../agents/common/agents-conf';
import { INIT_SETTINGS, type InitSettings } from '../../agents/init/settings';
import { check, expectProblemsOnRealLines, fuzzInputs, fuzzParser, timed, withoutComments } from '../helpers/fuzz';
import { REPO } from '../helpers/paths';

const F = '/media/etc/wifibox-agents.conf';
const read = (text: string) => readAgentsConf(text, F, 'init', INIT_SETTINGS);
const SPEC: Record<string, Setting> = INIT_SETTINGS;
const KNOWN = Object.keys(SPEC);
const DEFAULTS = Object.fromEntries(KNOWN.map((k) => [k, SPEC[k]!.default]));

/** Every setting has the type and range its spec gives. */
function expectWithinSpec(settings: InitSettings): void {
  expect(Object.keys(settings).sort()).toEqual([...KNOWN].sort());
  for (const [k, v] of Object.entries(settings)) {
    const s = SPEC[k]!;
    const ok = s.kind === 'boolean' ? typeof v === 'boolean' : typeof v === 'number' && v >= s.min && v <= s.max && (!s.integer || Number.isInteger(v));
    if (!ok) expect.fail(`setting ${k} = ${String(v)} is outside its spec ${JSON.stringify(s)}`);
  }
}

describe('wifibox-agents.conf', () => {
  const sample = readFileSync(join(REPO, 'apk', 'wifibox-agents.conf.sample'), 'utf8');
  const uncommented = sample.replace(/^#(\w+ = )/gm, '$1');
  const samples = [sample, uncommented, withoutComments(uncommented)];
  const hazards = [
    '[init]',
    '[',
    ']',
    '[]',
    '=',
    ' = ',
    ';',
    '#',
    '"',
    "'",
    '\\',
    '.',
    '[init.x]',
    '__proto__',
    'constructor',
    'yes',
    'no',
    'null',
    'true',
    '1e1',
    '-1',
    "'5'",
    ...KNOWN,
  ];

  it('mutated sample and arbitrary text: never throws, problems at real lines, every setting within its spec', () => {
    // Line 0 (the file as a whole) stays allowed here: `ini` folds [a.b] into [a], and such a key has no line of its own.
    fuzzParser(fuzzInputs(samples, hazards), 3000, {
      name: 'readAgentsConf',
      file: F,
      wholeFile: true,
      parse: read,
      problems: (r) => r.problems,
      sound: (r) => expectWithinSpec(r.settings),
    });
  });

  type Line = { text: string; section?: string; key?: string; value?: boolean | number | 'bad' };
  const quoting = (v: string): fc.Arbitrary<string> => fc.constantFrom(v, `"${v}"`, `'${v}'`, ` ${v} `);
  /** A value that `key` takes (with what it means), or one it does not. */
  const valueFor = (key: string): fc.Arbitrary<{ text: string; value: boolean | number | 'bad' }> => {
    const s = Object.hasOwn(SPEC, key) ? SPEC[key] : undefined;
    const bad = fc.constantFrom('maybe', '', 'yes please', '1e1', '-1', '0x10', 'null', 'on off').map((text) => ({ text, value: 'bad' as const }));
    if (s === undefined)
      return fc.oneof(
        bad,
        fc.constantFrom('yes', '5').map((text) => ({ text, value: 'bad' as const })),
      );
    if (s.kind === 'boolean') {
      const words: [string, boolean][] = [
        ['yes', true],
        ['no', false],
        ['true', true],
        ['False', false],
        ['ON', true],
        ['off', false],
        ['1', true],
        ['0', false],
      ];
      const good = fc.constantFrom(...words).chain(([w, v]) => quoting(w).map((text) => ({ text, value: v })));
      return fc.oneof(
        good,
        bad,
        fc.constantFrom('2', 'yess').map((text) => ({ text, value: 'bad' as const })),
      );
    }
    const scale = s.integer ? 1 : 100;
    const good = fc
      .integer({ min: Math.round(s.min * scale), max: Math.round(s.max * scale) })
      .chain((n) => quoting(String(n / scale)).map((text) => ({ text, value: n / scale })));
    const outside = fc
      .constantFrom(String(s.min - 1), String(s.max + 1), ...(s.integer ? [`${s.min}.5`] : []))
      .map((text) => ({ text, value: 'bad' as const }));
    return fc.oneof(good, bad, outside);
  };
  const keyLine = fc
    .tuple(
      fc.constantFrom(...KNOWN, ...KNOWN, 'constructor', 'toString', 'hasOwnProperty', '__proto__', 'relai', 'RELAY'),
      fc.constantFrom('bare', 'double', 'single'),
      fc.constantFrom('=', ' = ', '= ', '\t=\t'),
      fc.constantFrom('', ' ', '  '),
    )
    .chain(([key, quote, eq, indent]) =>
      valueFor(key).map(({ text, value }) => {
        const k = quote === 'bare' ? key : quote === 'double' ? `"${key}"` : `'${key}'`;
        // An inline comment only after a bare value: `ini` reads "x" ; c as the text "x", quotes and all.
        const comment = /^[a-z0-9.]+$/i.test(text) && text.length % 2 === 0 ? ' ; note' : '';
        return { text: `${indent}${k}${eq}${text}${comment}`, key, value } as Line;
      }),
    );
  const sectionLine = fc
    .tuple(fc.constantFrom('init', 'init', 'forwarding', 'Init', 'passthru', '__proto__'), fc.constantFrom('', ' '))
    .map(([name, pad]) => ({ text: `[${pad}${name}${pad}]`, section: name }) as Line);
  const other = fc.constantFrom<Line>({ text: '' }, { text: '# a comment' }, { text: '; relay = maybe' });
  const confFile = fc.tuple(fc.array(fc.oneof({ weight: 3, arbitrary: keyLine }, sectionLine, other), { maxLength: 12 }), fc.constantFrom('\n', '\r\n'));

  it('generated files: settings and problems as the model of `ini` says, each at its own line', () => {
    check(confFile, 3000, ([lines, eol]) => {
      const text = lines.map((l) => l.text).join(eol);
      // The model: later keys win, sections merge, __proto__ (key or section) is dropped by `ini`.
      let section = '';
      const keys = new Map<string, Map<string, { value: Line['value']; line: number }>>();
      const sections = new Map<string, number>();
      lines.forEach((l, i) => {
        if (l.section !== undefined) {
          section = l.section;
          if (!sections.has(section)) sections.set(section, i + 1);
        } else if (l.key !== undefined && l.key !== '__proto__' && section !== '__proto__') {
          if (!keys.has(section)) keys.set(section, new Map());
          keys.get(section)!.set(l.key, { value: l.value, line: i + 1 });
        }
      });
      const settings: Record<string, boolean | number> = { ...DEFAULTS };
      const want: string[] = [];
      for (const [name, line] of sections) if (name !== 'init' && name !== '__proto__') want.push(`${line} warning`);
      for (const [key, { line }] of keys.get('') ?? []) want.push(`${line} warning ${key}`);
      for (const [key, { value, line }] of keys.get('init') ?? []) {
        if (!KNOWN.includes(key)) want.push(`${line} warning ${key}`);
        else if (value === 'bad') want.push(`${line} error ${key}`);
        else settings[key] = value as boolean | number;
      }
      const r = timed('readAgentsConf', () => read(text));
      expectProblemsOnRealLines(r.problems, text, F);
      expectWithinSpec(r.settings);
      expect(r.settings).toEqual(settings);
      const key = (m: string): string =>
        /^(?:unknown key '([^']*)'|'([^']*)' is outside|(\w+) = )/
          .exec(m)
          ?.slice(1)
          .find((x) => x !== undefined) ?? '';
      const got = r.problems.map((p) => `${p.line} ${p.severity}${p.message.startsWith('unknown section') ? '' : ` ${key(p.message)}`}`);
      expect(got.sort()).toEqual(want.sort());
    });
  });
});
