// Property-based fuzzing of wifibox-init's line parsers: interfaces.conf, sysctl, hostname and
// iptables. Whatever the input: no exception, no slow call, problems at real lines in the
// project's words, and what is returned is usable as it is (or there is an error).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkIptablesRestore, parseHostname, parseInterfaces, parseSysctl, sysctlPath, type IfaceConfig } from '../../agents/init/config';
import {
  check,
  expectProblemsOnRealLines,
  fileParser,
  fuzzInputs,
  fuzzParser,
  hasError,
  isAddress4,
  isAddress6,
  isHostname,
  sameNetwork4,
  timed,
  upstream,
} from '../helpers/fuzz';

const STATION = 'wpa_supplicant/appliance';
const AP = 'hostapd/appliance';
const STATION6 = 'optional/ipv6/wpa_supplicant/appliance';
const AP6 = 'optional/ipv6/hostapd/appliance';
const F = '/media/etc/f';
const lineCount = (text: string): number => text.split('\n').length;
const layout = { indent: fc.constantFrom('', ' ', '  ', '\t'), eol: fc.constantFrom('\n', '\r\n') };

// ---------------------------------------------------------------------------
// interfaces.conf

/** Every interface in the result can be configured as it is. */
function expectUsable({ interfaces }: { interfaces: IfaceConfig[] }, text: string): void {
  for (const i of interfaces) {
    const v4 = i.inet?.method === 'static' ? i.inet : null;
    const ok =
      /^[A-Za-z0-9_.@+-]{1,15}$/.test(i.name) &&
      i.name !== '.' &&
      i.name !== '..' &&
      i.line >= 1 &&
      i.line <= lineCount(text) &&
      (v4 === null ||
        (isAddress4(v4.address) &&
          Number.isInteger(v4.prefixLength) &&
          v4.prefixLength >= 0 &&
          v4.prefixLength <= 32 &&
          (v4.gateway === null || (isAddress4(v4.gateway) && sameNetwork4(v4.gateway, v4.address, v4.prefixLength))))) &&
      (i.inet6 === null ||
        (isAddress6(i.inet6.address) &&
          Number.isInteger(i.inet6.prefixLength) &&
          i.inet6.prefixLength >= 0 &&
          i.inet6.prefixLength <= 128 &&
          (i.inet6.gateway === null || isAddress6(i.inet6.gateway))));
    if (!ok) expect.fail(`unusable interface ${JSON.stringify(i)} from ${JSON.stringify(text)}`);
  }
}

interface Stanza {
  name: string;
  family: 'inet' | 'inet6';
  /** The iface line's words after the name. */
  head: readonly string[];
  options: [string, string][];
  /** What the parser must make of it, when every value is sound. */
  expected: IfaceConfig['inet'] | IfaceConfig['inet6'];
}

const hostBits = (prefix: number, bits: number, seed: bigint): bigint => (prefix === bits ? 0n : seed % (1n << BigInt(bits - prefix)));
const toQuad = (n: bigint): string => [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
const maskOf = (prefix: number): string => toQuad(((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefix)) - 1n));

const inet4 = fc.oneof(
  fc
    .record({ form: fc.constantFrom(['dhcp'], ['inet', 'dhcp']) })
    .map(({ form }) => ({ head: form, options: [] as [string, string][], expected: { method: 'dhcp' as const, line: 0 } })),
  fc.constantFrom(['inet', 'manual'], ['inet', 'loopback']).map((head) => ({ head, options: [] as [string, string][], expected: null })),
  fc
    .record({
      ip: fc.ipV4(),
      prefix: fc.integer({ min: 0, max: 32 }),
      style: fc.constantFrom('slash', 'dotted', 'bare'),
      gw: fc.option(fc.bigInt({ min: 0n, max: 2n ** 32n })),
    })
    .map(({ ip, prefix, style, gw }) => {
      const net = (BigInt(ip.split('.').reduce((n, p) => n * 256 + Number(p), 0)) >> BigInt(32 - prefix)) << BigInt(32 - prefix);
      const gateway = gw === null ? null : toQuad(net + hostBits(prefix, 32, gw));
      const options: [string, string][] = [['address', style === 'slash' ? `${ip}/${prefix}` : ip]];
      if (style !== 'slash') options.push(['netmask', style === 'dotted' ? maskOf(prefix) : String(prefix)]);
      if (gateway !== null) options.push(['gateway', gateway]);
      return { head: ['inet', 'static'], options, expected: { method: 'static' as const, address: ip, prefixLength: prefix, gateway, line: 0 } };
    }),
);
const inet6 = fc.oneof(
  fc.constant({ head: ['inet6', 'manual'], options: [] as [string, string][], expected: null }),
  fc
    .record({
      ip: fc.ipV6(),
      prefix: fc.integer({ min: 0, max: 128 }),
      netmask: fc.boolean(),
      gw: fc.option(fc.constantFrom('fe80::1', 'FE80::abcd:1', 'same')),
    })
    .map(({ ip, prefix, netmask, gw }) => {
      const gateway = gw === 'same' ? ip : gw;
      const options: [string, string][] = [['address', netmask ? ip : `${ip}/${prefix}`]];
      if (netmask) options.push(['netmask', String(prefix)]);
      if (gateway !== null) options.push(['gateway', gateway]);
      return { head: ['inet6', 'static'], options, expected: { method: 'static' as const, address: ip, prefixLength: prefix, gateway, line: 0 } };
    }),
);

/** A value no parser should take: off by one, another family, a zone, junk. */
const wildValue = fc.oneof(
  fc.constantFrom(
    '10.0.0.256',
    '10.0.0',
    '010.0.0.1',
    '10.0.0.1/33',
    'fd00::1/129',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8:9',
    '255.0.255.0',
    '10.0.0.1/',
    '/24',
    '',
  ),
  fc.ipV4(),
  fc.ipV6(),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => !/\s/.test(s)),
);

const interfacesFile = fc
  .uniqueArray(fc.oneof(fc.constantFrom('eth0', 'wlan0', 'lo', 'eth0.100', 'br-lan'), fc.stringMatching(/^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,14}$/)), {
    minLength: 1,
    maxLength: 4,
  })
  .chain((names) =>
    fc.tuple(
      fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), fc.option(inet4), fc.option(inet6), fc.boolean()))),
      layout.indent,
      layout.eol,
      fc.boolean(),
      fc.array(fc.tuple(fc.nat(), fc.nat(), wildValue), { maxLength: 2 }),
    ),
  )
  .map((generated) => {
    // A copy: fast-check may hand the same generated objects out again while it shrinks.
    const [ifaces, indent, eol, auto, wild] = structuredClone(generated);
    const stanzas: Stanza[] = ifaces.flatMap(([name, v4, v6, v6first]) => {
      const s = [v4, v6].flatMap((x, k) => (x === null ? [] : [{ name, family: k === 0 ? ('inet' as const) : ('inet6' as const), ...x }]));
      return v6first ? s.reverse() : s;
    });
    // A few values made wild: the file must then give an error or still be usable.
    for (const [si, oi, value] of wild) {
      const s = stanzas[si % Math.max(1, stanzas.length)];
      const o = s?.options[oi % Math.max(1, s.options.length)];
      if (o !== undefined) o[1] = value;
    }
    const out: string[] = ['# generated'];
    for (const s of stanzas) {
      if (auto) out.push(`auto ${s.name}`);
      out.push('', `iface ${s.name} ${s.head.join(' ')}`);
      if (s.expected !== null) s.expected.line = out.length;
      for (const [k, v] of s.options) out.push(`${indent}${k} ${v}`);
    }
    return { text: out.join(eol) + eol, stanzas, tame: wild.length === 0 };
  });

describe('interfaces.conf', () => {
  const samples = upstream(...[STATION, AP, STATION6, AP6].map((d) => `${d}/interfaces.conf.sample`));
  const hazards = [
    'iface',
    'inet',
    'inet6',
    'static',
    'dhcp',
    'manual',
    'address',
    'netmask',
    'gateway',
    'auto',
    'source',
    'up',
    'eth0',
    'wlan0',
    '/24',
    '/33',
    '/129',
    '::',
    'fe80::1',
    '255.',
    '10.0.0.1',
  ];

  it('mutated samples and arbitrary text: never throws, problems at real lines, every interface usable', () => {
    fuzzParser(fuzzInputs(samples, hazards), 4000, fileParser('parseInterfaces', F, parseInterfaces, expectUsable));
  });

  it('generated files: read exactly as written; with wild values, an error or every stanza usable', () => {
    const runs = 2500;
    check(interfacesFile, runs, ({ text, stanzas, tame }) => {
      const r = timed('parseInterfaces', () => parseInterfaces(text, F));
      expectProblemsOnRealLines(r.problems, text, F);
      expectUsable(r, text);
      if (tame) expect(r.problems).toEqual([]);
      if (hasError(r.problems)) return;
      // Without an error every stanza is there: as written, or (a wild value that happens to be sound) at least configured.
      for (const s of stanzas) {
        const got = r.interfaces.find((i) => i.name === s.name)?.[s.family] ?? null;
        if (tame) expect(got).toEqual(s.expected);
        else expect(got?.method ?? null).toBe(s.expected?.method ?? null);
      }
    });
  });
});

// ---------------------------------------------------------------------------
// sysctl

// A leading '-' would say "ignore errors": not where a component starts.
const component = fc.stringMatching(/^[A-Za-z0-9_@+:][A-Za-z0-9_@+:-]{0,9}$/);
const sysctlFile = fc
  .array(
    fc.record({
      parts: fc.array(component, { minLength: 1, maxLength: 5 }),
      slash: fc.boolean(),
      dotted: fc.stringMatching(/^[a-z0-9]{1,4}\.[0-9]{1,4}$/),
      ignore: fc.boolean(),
      value: fc.stringMatching(/^[A-Za-z0-9_.:\/-]+( [A-Za-z0-9_.:\/-]+)?$/),
      equals: fc.constantFrom('=', ' = ', '\t= ', '  ='),
      comment: fc.option(fc.constantFrom('# note', '; note', '#x = 1')),
    }),
    { maxLength: 8 },
  )
  .chain((entries) => fc.tuple(fc.constant(entries), layout.indent, layout.eol));

describe('sysctl', () => {
  const samples = upstream(`${STATION}/sysctl.conf.sample`, `${AP6}/sysctl.d/ipv6.conf.sample`);
  const hazards = ['=', '-', '/', '.', '..', '/..', ';', 'net.ipv4.ip_forward', '../../etc', '*'];

  /** Every entry in the result is a key that stays inside /proc/sys and a value the kernel can be given. */
  const expectEntries = ({ entries }: ReturnType<typeof parseSysctl>, text: string): void => {
    for (const e of entries) {
      const path = sysctlPath(e.key);
      const ok =
        !path.startsWith('/') &&
        path.split('/').every((c) => c !== '' && c !== '.' && c !== '..') &&
        e.value !== '' &&
        e.value === e.value.trim() &&
        e.file === F &&
        e.line >= 1 &&
        e.line <= lineCount(text);
      if (!ok) expect.fail(`bad entry ${JSON.stringify(e)} from ${JSON.stringify(text)}`);
    }
  };

  it('mutated samples and arbitrary text: never throws, problems at real lines, keys stay in /proc/sys', () => {
    fuzzParser(fuzzInputs(samples, hazards), 3000, fileParser('parseSysctl', F, parseSysctl, expectEntries));
  });

  it('generated files: every key = value read as written, in both key forms', () => {
    check(sysctlFile, 2000, ([entries, indent, eol]) => {
      const lines: string[] = [];
      const want: { key: string; value: string; line: number; ignoreErrors: boolean }[] = [];
      for (const e of entries) {
        if (e.comment !== null) lines.push(`${indent}${e.comment}`);
        // The slash form may hold literal dots, as in net/ipv4/conf/eth0.100/rp_filter.
        const parts = e.slash ? [...e.parts, e.dotted] : e.parts;
        lines.push(`${indent}${e.ignore ? '-' : ''}${parts.join(e.slash ? '/' : '.')}${e.equals}${e.value}`);
        want.push({ key: parts.map((p) => p.replace(/\./g, '/')).join('.'), value: e.value, line: lines.length, ignoreErrors: e.ignore });
      }
      const text = lines.join(eol);
      const r = timed('parseSysctl', () => parseSysctl(text, F));
      expect(r.problems).toEqual([]);
      expect(r.entries).toEqual(want.map((w) => ({ ...w, file: F })));
      expectEntries(r, text);
    });
  });
});

// ---------------------------------------------------------------------------
// hostname and iptables

describe('hostname', () => {
  const label = fc.oneof(fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?$/), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 70 }));
  const named = fc.tuple(fc.array(fc.constantFrom('', '# the name', '  '), { maxLength: 3 }), fc.array(label, { minLength: 1, maxLength: 4 }), layout.eol);

  it('any input: never throws, problems at real lines, a name only when it is a valid one', () => {
    const inputs = fc.oneof(
      fuzzInputs(upstream(`${STATION}/hostname.sample`), ['.', '-', '..', 'a'.repeat(64), '_', 'wifibox']),
      named.map(([pre, labels, eol]) => [...pre, labels.join('.')].join(eol)),
    );
    fuzzParser(
      inputs,
      3000,
      fileParser('parseHostname', F, parseHostname, (r) => {
        if (r.hostname !== null) expect(isHostname(r.hostname) && r.hostname.length <= 64 && !hasError(r.problems)).toBe(true);
        else expect(r.problems.length).toBeGreaterThan(0);
      }),
    );
  });

  it('a generated name is taken exactly when it is a valid host name of at most 64 characters', () => {
    check(named, 1500, ([pre, labels, eol]) => {
      const name = labels.join('.').trim();
      fc.pre(name !== '' && !name.startsWith('#'));
      const r = timed('parseHostname', () => parseHostname([...pre, name].join(eol), F));
      const valid = isHostname(name) && name.length <= 64;
      expect(r.hostname).toBe(valid ? name : null);
      expect(hasError(r.problems)).toBe(!valid);
    });
  });
});

describe('iptables', () => {
  const chain = fc.stringMatching(/^[A-Z][A-Z_-]{0,11}$/);
  const table = fc.record({
    name: fc.constantFrom('filter', 'nat', 'mangle', 'raw', 'security'),
    chains: fc.array(fc.tuple(chain, fc.constantFrom('ACCEPT', 'DROP', '-'), fc.boolean()), { maxLength: 4 }),
    rules: fc.array(
      fc.tuple(
        fc.boolean(),
        fc.constantFrom('-A', '--append', '-I', '-D', '-N', '-X', '-F', '-Z', '-P'),
        chain,
        fc.constantFrom('', ' -o wlan0 -j MASQUERADE', ' -j ACCEPT'),
      ),
      { maxLength: 4 },
    ),
  });
  const restoreFile = fc
    .tuple(fc.array(table, { maxLength: 3 }), layout.eol)
    .map(([tables, eol]) =>
      tables
        .flatMap((t) => [
          `*${t.name}`,
          ...t.chains.map(([c, policy, counters]) => `:${c} ${policy}${counters ? ' [0:0]' : ''}`),
          ...t.rules.map(([counters, cmd, c, rest]) => `${counters ? '[12:345] ' : ''}${cmd} ${c}${rest}`),
          'COMMIT',
        ])
        .join(eol),
    );

  it('mutated samples, arbitrary text: never throws, problems at real lines; generated files: no problem', () => {
    const hazards = ['*filter', '*nat', '*bogus', 'COMMIT', ':INPUT ACCEPT [0:0]', '-A', '--flush', '[0:0]', '[x]'];
    fuzzParser(fuzzInputs(upstream(`${STATION}/iptables.sample`, `${AP6}/ip6tables.sample`), hazards), 3000, {
      name: 'checkIptablesRestore',
      file: F,
      parse: (text) => checkIptablesRestore(text, F),
      problems: (r) => r,
    });
    check(restoreFile, 1000, (text) => {
      expect(timed('checkIptablesRestore', () => checkIptablesRestore(text, F))).toEqual([]);
    });
  });
});
