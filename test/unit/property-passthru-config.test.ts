// Property-based fuzzing of uds_passthru.conf: its shell subset (shell-assignments.ts) and the
// passthru config on top. Whatever the input: no exception, no slow call, problems at real lines
// in the project's words, and every socket returned can be served as it is.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_SOCKET_PATH, parsePassthruConfig, type PassthruConfig } from '../../agents/passthru/config';
import { AssignmentReader, type Assignment } from '../../agents/passthru/shell-assignments';
import { collector } from '../../agents/common/problems';
import { check, expectProblemsOnRealLines, fileParser, fuzzInputs, fuzzParser, hasError, isAddress4, timed, upstream, type Problem } from '../helpers/fuzz';
import { FIXTURES } from '../helpers/paths';

const F = '/media/etc/uds_passthru.conf';
const HAZARDS = [
  '"',
  "'",
  '${',
  '${_sockdir}',
  '$_perms',
  '${x',
  '$(',
  ')',
  '`',
  '\\',
  '\\\n',
  '$1',
  '$@',
  ',',
  '=',
  'path=',
  'port=',
  'port=0',
  'port=65536',
  ':',
  'sockets=',
  'network=',
  ';',
  '|',
  '&',
  '<',
  '> x',
  'export ',
  '/'.repeat(120),
];
const SAMPLES = [
  ...upstream('wpa_supplicant/appliance/uds_passthru.conf.sample', 'hostapd/appliance/uds_passthru.conf.sample'),
  // The older samples, with ", " between the fields.
  ...['uds_passthru.wpa_supplicant.conf', 'uds_passthru.hostapd.conf'].map((n) => readFileSync(join(FIXTURES, n), 'utf8')),
];

/** Every socket can be listened for and connected to; the network is a contiguous one. */
function expectServable(c: PassthruConfig, text: string): void {
  const lineCount = text.split('\n').length;
  const ports = new Set<number>();
  for (const s of c.sockets) {
    const ok =
      s.path.startsWith('/') &&
      Buffer.byteLength(s.path) <= MAX_SOCKET_PATH &&
      Number.isInteger(s.port) &&
      s.port >= 1 &&
      s.port <= 65535 &&
      !ports.has(s.port) &&
      Number.isInteger(s.line) &&
      s.line >= 1 &&
      s.line <= lineCount;
    if (!ok) expect.fail(`unservable socket ${JSON.stringify(s)} from ${JSON.stringify(text)}`);
    ports.add(s.port);
  }
  const n = c.network;
  if (
    n !== null &&
    !(
      isAddress4(n.address) &&
      isAddress4(n.mask) &&
      n.prefixLength >= 0 &&
      n.prefixLength <= 32 &&
      n.mask === [24, 16, 8, 0].map((s) => (Number((0xffffffffn << BigInt(32 - n.prefixLength)) & 0xffffffffn) >>> s) & 255).join('.')
    )
  ) {
    expect.fail(`bad network ${JSON.stringify(n)} from ${JSON.stringify(text)}`);
  }
}

type Style = 'single' | 'double' | 'bare';
/** `value` as the shell would read it back in `style`; null when that style cannot hold it. */
function quoted(value: string, style: Style): string | null {
  if (style === 'single') return value.includes("'") ? null : `'${value}'`;
  if (style === 'double') return `"${value.replace(/[\\"$`]/g, '\\$&')}"`;
  return /[\s]/.test(value) || value === '' ? null : value.replace(/[\\"'$`;&|<>()]/g, '\\$&');
}

const style = fc.constantFrom<Style>('single', 'double', 'bare');
const literal = fc.stringMatching(/^[A-Za-z0-9 _.,:=@+\/$`"'\\#-]{0,20}$/);
const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);

describe('shell assignments', () => {
  it('any input: never throws, ends, problems at real lines, every value character placed on a real line', () => {
    const readAll = (text: string): { assignments: Assignment[]; problems: Problem[] } => {
      const { problems, report } = collector(F);
      const reader = new AssignmentReader(text, report);
      const assignments: Assignment[] = [];
      for (let a = reader.next(); a !== null; a = reader.next()) assignments.push(a);
      return { assignments, problems };
    };
    fuzzParser(fuzzInputs(SAMPLES, HAZARDS), 3000, {
      name: 'AssignmentReader',
      file: F,
      parse: readAll,
      problems: (r) => r.problems,
      sound(r, text) {
        const lineCount = text.split('\n').length;
        for (const a of r.assignments) {
          const v = a.value;
          const ok =
            /^[A-Za-z_][A-Za-z0-9_]*$/.test(a.name) &&
            a.line >= 1 &&
            a.line <= lineCount &&
            v.lines.length === v.text.length &&
            v.bad.length === v.text.length &&
            v.lines.every((l) => l >= 1 && l <= lineCount);
          if (!ok) expect.fail(`bad assignment ${JSON.stringify(a)} from ${JSON.stringify(text)}`);
        }
      },
    });
  });

  it('generated assignments, however quoted: each value read back as written', () => {
    const assignments = fc.array(fc.tuple(name, literal, style, fc.constantFrom('', ' # note', '\t')), { minLength: 1, maxLength: 6 });
    check(assignments, 3000, (list) => {
      const written = list.flatMap(([n, v, s, after]) => {
        const q = quoted(v, s);
        return q === null ? [] : [{ line: `${n}=${q}${after}`, name: n, value: v }];
      });
      fc.pre(written.length > 0);
      const { problems, report } = collector(F);
      const reader = new AssignmentReader(written.map((w) => w.line).join('\n'), report);
      for (const [i, w] of written.entries()) expect(reader.next()).toMatchObject({ name: w.name, line: i + 1, value: { text: w.value } });
      expect(reader.next()).toBeNull();
      expect(problems).toEqual([]);
    });
  });
});

const path = fc.stringMatching(/^(\/[A-Za-z0-9_.@+-]{1,20}){1,5}$/).filter((p) => !/\/\.\.?(\/|$)/.test(p));
const socketsFile = fc
  .record({
    network: fc.option(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))),
    sockets: fc.uniqueArray(fc.tuple(path, fc.integer({ min: 1, max: 65535 }), fc.boolean(), fc.constantFrom(',', ', ')), {
      minLength: 1,
      maxLength: 4,
      selector: (s) => s[1],
    }),
    sockdir: fc.option(path),
    style: fc.constantFrom<Style>('single', 'double'),
    comments: fc.boolean(),
  })
  .map((g) => {
    const lines = ['# generated'];
    if (g.network !== null) {
      const [ip, prefix] = g.network;
      const mask = [24, 16, 8, 0].map((s) => (Number((0xffffffffn << BigInt(32 - prefix)) & 0xffffffffn) >>> s) & 255).join('.');
      lines.push(`network=${ip}:${mask}`);
    }
    // Paths under a helper variable come through ${…} when the quoting expands it.
    const dir = g.sockdir !== null && g.style === 'double' ? g.sockdir : null;
    if (dir !== null) lines.push(`_sockdir=${dir}`);
    if (g.comments) lines.push('', '# the sockets');
    const first = lines.length + 1;
    const entries = g.sockets.map(([p, port, extra, sep]) => {
      const fields = [`path=${dir === null ? p : `\${_sockdir}${p}`}`, ...(extra ? ['user=root', 'group=0', 'mode=770'] : []), `port=${port}`];
      return fields.join(sep);
    });
    const body = g.style === 'single' ? `'${entries.join('\n')}'` : `"${entries.join('\n')}"`;
    lines.push(`sockets=${body}`);
    const sockets = g.sockets.map(([p, port, extra], i) => ({
      path: dir === null ? p : dir + p,
      port,
      line: first + i,
      extra: extra ? { user: 'root', group: '0', mode: '770' } : {},
    }));
    const network = g.network === null ? null : { address: g.network[0], mask: lines[1]!.split(':')[1]!, prefixLength: g.network[1] };
    return { text: `${lines.join('\n')}\n`, sockets, network };
  });

describe('uds_passthru.conf', () => {
  it('mutated samples and arbitrary text: never throws, problems at real lines, every socket servable', () => {
    fuzzParser(fuzzInputs(SAMPLES, HAZARDS), 4000, fileParser('parsePassthruConfig', F, parsePassthruConfig, expectServable));
  });

  it('generated files: every socket read as written; a path too long for a socket address is an error', () => {
    check(socketsFile, 2500, ({ text, sockets, network }) => {
      const c = timed('parsePassthruConfig', () => parsePassthruConfig(text, F));
      expectProblemsOnRealLines(c.problems, text, F);
      expectServable(c, text);
      const tooLong = sockets.filter((s) => Buffer.byteLength(s.path) > MAX_SOCKET_PATH);
      expect(hasError(c.problems)).toBe(tooLong.length > 0);
      if (tooLong.length === 0) expect(c.problems).toEqual([]);
      expect(c.sockets).toEqual(sockets.filter((s) => !tooLong.includes(s)));
      expect(c.network).toEqual(network);
    });
  });
});
