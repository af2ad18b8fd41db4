// Property-based fuzzing of the two templates wifibox-init fills with what the wireless network
// says: udhcpd.conf and radvd.conf. The parsers as every parser (no exception, no slow call,
// problems at real lines, a template only from a file without errors); the renderers given
// hostile values: what is not a sound address or name changes nothing, and every line written
// comes from the template.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseRadvdTemplate,
  parseUdhcpdTemplate,
  renderRadvd,
  renderUdhcpd,
  type RadvdTemplate,
  type UdhcpdTemplate,
  type UdhcpdValues,
} from '../../agents/init/config';
import { check, fileParser, fuzzInputs, fuzzParser, hasError, isAddress4, isAddress6, isHostname, timed, upstream, type Problem } from '../helpers/fuzz';

const F = '/media/etc/t.conf';
const STATION = 'wpa_supplicant/appliance';
const AP = 'hostapd/appliance';
const eol = fc.constantFrom('\n', '\r\n');
const blank = fc.constantFrom(' ', '\t', '  ', '\t\t');
const ifaceName = fc.oneof(fc.constantFrom('eth0', 'wlan0', 'br-lan'), fc.stringMatching(/^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,14}$/));
const quad = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
const uint32 = fc.nat({ max: 2 ** 32 - 1 }).map(String);

/** What a hostile DHCP server or RA may send: sound values among newlines, blanks, comments, placeholders, other families. */
const hostile = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.domain(),
  fc.constantFrom(
    '8.8.8.8\nopt router 6.6.6.6',
    'lan\ninterface wlan0',
    'fd00::1 }; interface x {',
    'a #b',
    '%%DNS%%',
    '',
    ' ',
    '1.2.3.4 ',
    '01.2.3.4',
    'fe80::1%eth0',
    'x_y.lan',
    '-a.lan',
    'a..b',
    'fd00::1;',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const values: fc.Arbitrary<UdhcpdValues> = fc.record({
  dns: fc.array(hostile, { maxLength: 4 }),
  domain: fc.option(hostile),
  search: fc.array(hostile, { maxLength: 3 }),
});
const sound = (v: UdhcpdValues): UdhcpdValues => ({
  dns: v.dns.filter(isAddress4),
  domain: v.domain !== null && isHostname(v.domain) ? v.domain : null,
  search: v.search.filter(isHostname),
});

/** A template parser's fuzz: a template exactly when there is no error, and `sound` holds of every template. */
function fuzzTemplate<T>(
  name: string,
  samples: string[],
  hazards: string[],
  parse: (text: string, file: string) => { template: T | null; problems: Problem[] },
  sound: (t: T) => void,
): void {
  fuzzParser(
    fuzzInputs(samples, hazards),
    3000,
    fileParser(name, F, parse, (r) => {
      expect(r.template === null).toBe(hasError(r.problems));
      if (r.template !== null) sound(r.template);
    }),
  );
}

/** `out` is `tpl` with each placeholder word replaced by zero or more of the `allowed` words. */
function filledFrom(out: readonly string[], tpl: readonly string[], isPlaceholder: (w: string) => boolean, allowed: ReadonlySet<string>): boolean {
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i} ${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let ok: boolean;
    const t = tpl[j];
    if (t === undefined) ok = i === out.length;
    else if (isPlaceholder(t)) ok = go(i, j + 1) || (i < out.length && allowed.has(out[i] as string) && go(i + 1, j));
    else ok = out[i] === t && go(i + 1, j + 1);
    memo.set(key, ok);
    return ok;
  };
  return go(0, 0);
}

// ---------------------------------------------------------------------------
// udhcpd.conf

const udhcpdFile = fc
  .record({
    range: fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)].map(quad)),
    iface: ifaceName,
    single: fc.record({ max_leases: fc.option(uint32), lease_file: fc.option(fc.stringMatching(/^\/[A-Za-z0-9_./-]{1,30}$/)) }),
    lease: fc.option(uint32),
    dns: fc.option(fc.tuple(fc.boolean(), fc.array(fc.ipV4(), { maxLength: 3 }))),
    domain: fc.option(fc.oneof(fc.constant('%%DOMAIN%%'), fc.domain())),
    search: fc.option(fc.constant('%%SEARCH%%')),
    router: fc.option(fc.ipV4()),
    comments: fc.array(fc.constantFrom('# %%BOGUS%% in a comment', '#opt search %%SEARCH%%', '# 100%% fine'), { maxLength: 2 }),
    opt: fc.constantFrom('opt', 'option', 'OPT'),
    trailing: fc.constantFrom('', ' # %%X%% note'),
    sep: blank,
  })
  .chain((g) => {
    const o = (name: string, ...args: string[]): string => [g.opt, name, ...args].join(g.sep);
    const lines = [
      `start${g.sep}${g.range[0]}`,
      `END${g.sep}${g.range[1]}`,
      `interface${g.sep}${g.iface}${g.trailing}`,
      ...Object.entries(g.single).flatMap(([k, v]) => (v === null ? [] : [`${k}${g.sep}${v}`])),
      ...(g.lease === null ? [] : [o('lease', g.lease)]),
      ...(g.dns === null || (!g.dns[0] && g.dns[1].length === 0) ? [] : [o('dns', ...(g.dns[0] ? ['%%DNS%%'] : []), ...g.dns[1]) + g.trailing]),
      ...(g.domain === null ? [] : [o('domain', g.domain)]),
      ...(g.search === null ? [] : [o('search', g.search)]),
      ...(g.router === null ? [] : [o('router', g.router)]),
      ...g.comments,
    ];
    return fc.tuple(fc.constant(g), fc.shuffledSubarray(lines, { minLength: lines.length }), eol);
  })
  .map(([g, lines, nl]) => {
    const at = (prefix: string): number => lines.findIndex((l) => l.toLowerCase().startsWith(prefix)) + 1;
    const placeholders = lines.filter((l) => !l.startsWith('#')).flatMap((l) => [...l.split('#')[0]!.matchAll(/%%(DNS|DOMAIN|SEARCH)%%/g)].map((m) => m[1]!));
    const expected: Omit<UdhcpdTemplate, 'text' | 'file'> = {
      interface: g.iface,
      lines: { interface: at('interface'), start: at('start'), end: at('end') },
      start: g.range[0]!,
      end: g.range[1]!,
      leaseSeconds: g.lease === null ? null : Number(g.lease),
      leaseFile: g.single.lease_file,
      placeholders: [...new Set(placeholders)] as UdhcpdTemplate['placeholders'],
      fixedDns: g.dns?.[1] ?? [],
      staticLeases: [],
    };
    return { text: lines.join(nl) + nl, expected };
  });

/** Every line udhcpd gets: the header, a template line (placeholders filled with `v`'s words), a line left out, or an override. */
function expectFromTemplate(out: string, t: UdhcpdTemplate, v: UdhcpdValues, overrides: { leaseSeconds?: number; leaseFile?: string }): void {
  const words = (s: string): string[] => s.split(/[ \t\r\f\v]+/).filter((w) => w !== '');
  const tpl = t.text.split('\n').flatMap((l) => [words(l), words(l.split('#')[0]!)]);
  const allowed = new Set([...v.dns, ...(v.domain === null ? [] : [v.domain]), ...v.search]);
  const isPlaceholder = (w: string): boolean => /^%%[A-Z]+%%$/.test(w);
  const over = new Map<string, string>();
  if (overrides.leaseSeconds !== undefined) over.set('lease', String(overrides.leaseSeconds));
  if (overrides.leaseFile !== undefined) over.set('lease_file', overrides.leaseFile);
  const [header, ...rest] = out.split('\n');
  expect(header).toBe(`# Made by wifibox-init from ${t.file}; edit that file instead.`);
  expect(out.endsWith('\n')).toBe(true);
  for (const line of rest.slice(0, -1)) {
    const note = /^# wifibox-init: '(.*)' left out: no value known yet$/s.exec(line);
    const w = words(note === null ? line : (note[1] as string));
    const key =
      (w[0] ?? '').toLowerCase() === 'lease_file' ? 'lease_file' : (w[1] ?? '').toLowerCase() === 'lease' && /^opt(ion)?$/i.test(w[0] ?? '') ? 'lease' : null;
    const overridden = key !== null && over.has(key) && w[w.length - 1] === over.get(key);
    const ok =
      tpl.some(
        (tw) => filledFrom(w, tw, isPlaceholder, allowed) || (overridden && filledFrom(w.slice(0, -1), tw.slice(0, w.length - 1), () => false, allowed)),
      ) ||
      (overridden && w.length === (key === 'lease' ? 3 : 2));
    if (!ok) expect.fail(`line ${JSON.stringify(line)} is not from the template ${JSON.stringify(t.text)}`);
  }
}

describe('udhcpd.conf', () => {
  const samples = upstream(`${STATION}/udhcpd.conf.sample`, `${AP}/udhcpd.conf.sample`);
  const hazards = [
    '%%DNS%%',
    '%%DOMAIN%%',
    '%%SEARCH%%',
    '%%X%%',
    '%%',
    '%%%DNS%%',
    'opt',
    'option',
    'lease',
    'dns',
    'start',
    'end',
    'interface',
    '4294967296',
    '10.0.0.300',
  ];

  it('mutated samples and arbitrary text: never throws, problems at real lines, a sound template exactly when there is no error', () => {
    fuzzTemplate('parseUdhcpdTemplate', samples, hazards, parseUdhcpdTemplate, (t) => {
      expect(/^[A-Za-z0-9_.@+-]{1,15}$/.test(t.interface) && isAddress4(t.start) && isAddress4(t.end) && t.fixedDns.every(isAddress4)).toBe(true);
      // What udhcpd gets is as sound as the template, with or without values.
      for (const v of [
        { dns: [], domain: null, search: [] },
        { dns: ['10.9.9.9'], domain: 'lan', search: ['a.lan'] },
      ]) {
        const out = timed('renderUdhcpd', () => renderUdhcpd(t, v, { leaseSeconds: 60 }));
        expect(out).not.toContain('%%');
        expect(hasError(parseUdhcpdTemplate(out, 'r').problems)).toBe(false);
        expectFromTemplate(out, t, v, { leaseSeconds: 60 });
      }
    });
  });

  it('generated files: read exactly as written', () => {
    check(udhcpdFile, 2000, ({ text, expected }) => {
      const r = timed('parseUdhcpdTemplate', () => parseUdhcpdTemplate(text, F));
      expect(r.problems).toEqual([]);
      expect(r.template).toEqual({ file: F, text, ...expected });
    });
  });

  it('hostile values: only sound addresses and names get in, and every line comes from the template', () => {
    const overrides = fc.record(
      { leaseSeconds: fc.nat({ max: 2 ** 32 - 1 }), leaseFile: fc.stringMatching(/^\/[A-Za-z0-9_./-]{1,20}$/) },
      { requiredKeys: [] },
    );
    check(fc.tuple(udhcpdFile, values, overrides), 2000, ([{ text }, v, o]) => {
      const t = parseUdhcpdTemplate(text, F).template as UdhcpdTemplate;
      const out = timed('renderUdhcpd', () => renderUdhcpd(t, v, o));
      expect(out).toBe(renderUdhcpd(t, sound(v), o));
      expectFromTemplate(out, t, sound(v), o);
    });
  });
});

// ---------------------------------------------------------------------------
// radvd.conf

const rdnss = fc.record({ dns: fc.boolean(), fixed: fc.array(fc.ipV6(), { maxLength: 2 }), options: fc.boolean() }).filter((r) => r.dns || r.fixed.length > 0);
const radvdFile = fc
  .tuple(
    fc.uniqueArray(fc.record({ name: ifaceName, prefix: fc.option(fc.ipV6()), rdnss: fc.array(rdnss, { maxLength: 2 }) }), {
      minLength: 1,
      maxLength: 3,
      selector: (i) => i.name,
    }),
    fc.constantFrom(' ', '\n', '\n\t'),
    fc.constantFrom(';', ' ;'),
    fc.boolean(),
    eol,
  )
  .map(([ifaces, gap, semi, comments, nl]) => {
    const block = (head: string, body: string[]): string => `${head}${gap}{${gap}${body.join(gap)}${gap}}${semi}`;
    const text = ifaces
      .map((i) => {
        // A comment runs to the end of its line: only where a line ends after it.
        const body = [`AdvSendAdvert on${semi}`, ...(comments && gap !== ' ' ? ['# RDNSS %%X%% in a comment'] : [])];
        if (i.prefix !== null) body.push(block(`prefix ${i.prefix}/64`, [`AdvOnLink on${semi}`]));
        for (const r of i.rdnss)
          body.push(block(['RDNSS', ...(r.dns ? ['%%DNS%%'] : []), ...r.fixed].join(' '), r.options ? [`AdvRDNSSLifetime 30${semi}`] : []));
        return block(`interface ${i.name}`, body);
      })
      .join('\n')
      .replace(/\n/g, nl);
    const withDns = ifaces.flatMap((i) => i.rdnss).filter((r) => r.dns);
    return {
      text: `${text}${nl}`,
      expected: { interfaces: ifaces.map((i) => i.name), hasDnsPlaceholder: withDns.length > 0, fixedDns: withDns.flatMap((r) => r.fixed) },
    };
  });

/** radvd's words and punctuation, comments left out. */
const radvdTokens = (text: string): string[] => text.replace(/#[^\n]*/g, ' ').match(/[{};]|[^\s{};]+/g) ?? [];

/** The template's tokens with %%DNS%% as `servers`; with none, an RDNSS statement left without an address goes whole. */
function expectedTokens(text: string, servers: string[]): string[] {
  const t = radvdTokens(text);
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    const starts = /^rdnss$/i.test(t[i] as string) && (i === 0 || ['{', '}', ';'].includes(t[i - 1] as string));
    let end = i + 1;
    while (end < t.length && !['{', ';'].includes(t[end] as string)) end++;
    const words = t.slice(i + 1, end);
    if (!starts || !words.includes('%%DNS%%')) {
      out.push(...(t[i] === '%%DNS%%' ? servers : [t[i] as string]));
      continue;
    }
    const addresses = words.flatMap((w) => (w === '%%DNS%%' ? servers : [w]));
    if (addresses.length > 0) {
      out.push(t[i] as string, ...addresses);
      i = end - 1;
      continue;
    }
    // Skip the statement: through its block and the ';' that closes it.
    let depth = 0;
    for (i = end; i < t.length; i++) {
      if (t[i] === '{') depth++;
      if (t[i] === '}') depth--;
      if (depth === 0 && t[i] === ';') break;
    }
  }
  return out;
}

describe('radvd.conf', () => {
  const samples = upstream('optional/ipv6/wpa_supplicant/appliance/radvd.conf.sample', 'optional/ipv6/hostapd/appliance/radvd.conf.sample');
  const hazards = ['{', '}', '};', ';', '%%DNS%%', '%%DNS', '%%X%%', 'RDNSS', 'interface', 'eth0', '{ '.repeat(20)];
  const dns6 = fc.array(hostile, { maxLength: 4 });

  const expectRendered = (t: RadvdTemplate, servers: string[]): void => {
    const sound = servers.filter(isAddress6);
    const out = timed('renderRadvd', () => renderRadvd(t, servers));
    expect(out).toBe(renderRadvd(t, sound));
    const again = parseRadvdTemplate(out, 'r');
    expect(again.problems).toEqual([]);
    expect(again.template?.hasDnsPlaceholder).toBe(false);
    expect(radvdTokens(out)).toEqual(expectedTokens(t.text, sound));
    // No line added: a statement left out leaves a note at most where it stood.
    expect(out.split('\n').length).toBeLessThanOrEqual(t.text.split('\n').length);
  };

  it('mutated samples and arbitrary text: never throws, problems at real lines, a template exactly when there is no error', () => {
    fuzzTemplate('parseRadvdTemplate', samples, hazards, parseRadvdTemplate, (t) => {
      expect(t.interfaces.length > 0 && t.fixedDns.every(isAddress6)).toBe(true);
      for (const servers of [[], ['fd00::53', 'fd00::54\n};', '10.0.0.1', 'fe80::1%eth0']]) expectRendered(t, servers);
    });
  });

  it('generated files: read exactly as written; hostile servers change nothing but sound addresses', () => {
    check(fc.tuple(radvdFile, dns6), 2500, ([{ text, expected }, servers]) => {
      const r = timed('parseRadvdTemplate', () => parseRadvdTemplate(text, F));
      expect(r.problems).toEqual([]);
      expect(r.template).toEqual({ file: F, text, ...expected });
      expectRendered(r.template as RadvdTemplate, servers);
    });
  });
});
