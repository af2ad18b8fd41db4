// /media/etc/wifibox-agents.conf: the one place a user changes the agents' behaviour (the image
// is read-only, the appliance folder is theirs). INI, read with the `ini` package; one section per
// agent. An absent file means every default. A bad value is named with file and line, and that
// key keeps its default: the rest of the file, and the agent, go on.
import { decode, unsafe } from 'ini';
import { shorten, type ConfigProblem } from './problems';

export const AGENTS_CONF = 'wifibox-agents.conf';

export type Setting =
  | { kind: 'boolean'; default: boolean; help: string }
  | { kind: 'number'; default: number; min: number; max: number; integer?: boolean; unit?: string; help: string };

export type SectionSpec = Record<string, Setting>;

export type SettingsOf<S extends SectionSpec> = { -readonly [K in keyof S]: S[K] extends { kind: 'boolean' } ? boolean : number };

/** Every agent's section: a section named here is never "unknown" to another agent. */
const AGENT_SECTIONS = ['init'] as const;

const TRUE = new Set(['yes', 'true', 'on', '1']);
const FALSE = new Set(['no', 'false', 'off', '0']);

// What `ini` (5.x) takes a line for: a section, or a key with or without `= value`.
const INI_LINE = /^\[([^\]]*)\]\s*$|^([^=]+)(=(.*))?$/;

/**
 * Where each section (first time) and key (last time: a key set twice has its later value) is
 * written, for FILE:LINE; `ini` itself keeps no lines. Read as `ini` reads: a CR also ends a
 * line, names are unquoted with its own `unsafe`, `key[]` is `key`.
 */
function locate(text: string): { sections: Map<string, number>; keys: Map<string, number> } {
  const sections = new Map<string, number>();
  const keys = new Map<string, number>();
  let section = '';
  text.split('\n').forEach((physical, i) => {
    for (const line of physical.split('\r')) {
      const m = /^\s*([;#]|$)/.test(line) ? null : INI_LINE.exec(line);
      if (m === null) continue;
      if (m[1] !== undefined) {
        section = unsafe(m[1]);
        if (!sections.has(section)) sections.set(section, i + 1);
        continue;
      }
      const key = unsafe(m[2]!);
      keys.set(`${section}\0${key.length > 2 && key.endsWith('[]') ? key.slice(0, -2) : key}`, i + 1);
    }
  });
  return { sections, keys };
}

function describe(s: Setting): string {
  if (s.kind === 'boolean') return 'yes or no';
  return `${s.integer ? 'a whole number' : 'a number'} from ${s.min} to ${s.max}${s.unit ? ` (${s.unit})` : ''}`;
}

function valueOf(s: Setting, raw: unknown): boolean | number | null {
  // `ini` reads true and false as booleans, and a value in single quotes as JSON: '5' is the number 5.
  const text = typeof raw === 'boolean' || typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim().toLowerCase() : null;
  if (text === null) return null;
  if (s.kind === 'boolean') return TRUE.has(text) ? true : FALSE.has(text) ? false : null;
  if (!(s.integer ? /^\d+$/ : /^\d+(\.\d+)?$/).test(text)) return null;
  const n = Number(text);
  return n >= s.min && n <= s.max ? n : null;
}

/**
 * One agent's settings from the file's text (null: no file). Unknown sections and keys are
 * warnings (a typo must not pass silently); a value that is not what the key takes is an error,
 * and the key keeps its default.
 */
export function readAgentsConf<S extends SectionSpec>(
  text: string | null,
  file: string,
  section: (typeof AGENT_SECTIONS)[number],
  spec: S,
): { settings: SettingsOf<S>; problems: ConfigProblem[] } {
  const settings = Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, s.default])) as SettingsOf<S>;
  const problems: ConfigProblem[] = [];
  if (text === null) return { settings, problems };
  const where = locate(text);
  // `ini` folds [a.b] into [a]: such a section, or key, is found by its dotted name.
  const sectionLine = (name: string): number => where.sections.get(name) ?? [...where.sections].find(([n]) => n.startsWith(`${name}.`))?.[1] ?? 0;
  const problem = (line: number, severity: ConfigProblem['severity'], message: string) => problems.push({ file, line, severity, message });
  const parsed = decode(text) as Record<string, unknown>;
  const known = [...AGENT_SECTIONS].map((n) => `[${n}]`).join(', ');
  for (const [name, value] of Object.entries(parsed)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (!(AGENT_SECTIONS as readonly string[]).includes(name))
        problem(sectionLine(name), 'warning', `unknown section [${shorten(name)}] (ignored); expected ${known}`);
    } else if (where.sections.has(name)) {
      // `ini` then drops the whole section of that name: every setting in it would go unread.
      problem(
        where.keys.get(`\0${name}`) ?? 0,
        'error',
        `'${shorten(name)}' outside any section hides the section [${shorten(name)}] (line ${where.sections.get(name)}): none of its settings is read; remove this line or put it under a section`,
      );
    } else {
      problem(where.keys.get(`\0${name}`) ?? 0, 'warning', `'${shorten(name)}' is outside any section (ignored); expected it under ${known}`);
    }
  }
  const mine = parsed[section];
  if (mine === null || typeof mine !== 'object' || Array.isArray(mine)) return { settings, problems };
  for (const [key, raw] of Object.entries(mine as Record<string, unknown>)) {
    const line = where.keys.get(`${section}\0${key}`) ?? (sectionLine(`${section}.${key}`) || sectionLine(section));
    // Own keys only: `constructor` or `toString` are no settings, whatever the spec object inherits.
    const s = Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (s === undefined) {
      problem(line, 'warning', `unknown key '${shorten(key)}' in [${section}] (ignored); expected one of ${Object.keys(spec).join(', ')}`);
      continue;
    }
    const v = valueOf(s, raw);
    if (v === null) {
      // `ini` makes `key[] = …` a list and [section.key] a section: neither is one value.
      const found = Array.isArray(raw)
        ? `${key} is a list (${key}[] = …)`
        : typeof raw === 'object' && raw !== null
          ? `${key} is a section ([${section}.${key}])`
          : `${key} = '${shorten(String(raw))}' is not valid`;
      problem(line, 'error', `${found}; expected ${describe(s)} (the default, ${s.kind === 'boolean' ? (s.default ? 'yes' : 'no') : s.default}, is used)`);
      continue;
    }
    (settings as Record<string, boolean | number>)[key] = v;
  }
  return { settings, problems };
}
