// Property-based fuzzing of what reaches wifibox-init from outside its config: the dhcpcd hook's
// report (what the wireless network's DHCP server said, as dhcpcd passes it on), the state and
// resolv.conf made from it, and DNS messages off the network. Nothing may throw; only well-formed
// addresses and names may get into the state or a file; every query that parses gets a
// well-formed SERVFAIL.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answers, HEADER_BYTES, isTruncated, parseQuery, questionOf, servfail } from '../../agents/init/dns/message';
import { parseHookReport } from '../../agents/init/endpoints';
import { applyHookReport, emptyLeaseState, renderResolvConf, type LeaseState } from '../../agents/init/lease';
import { check, COMMON_HAZARDS, isAddress4, isAddress6, isHostname, timed } from '../helpers/fuzz';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REASONS = [
  'BOUND',
  'RENEW',
  'REBIND',
  'REBOOT',
  'INFORM',
  'STATIC',
  'EXPIRE',
  'NAK',
  'RELEASE',
  'STOP',
  'NOCARRIER',
  'BOUND6',
  'RENEW6',
  'INFORM6',
  'ROUTERADVERT',
  'PREINIT',
  'CARRIER',
  'bound',
  '',
];
const VARIABLES = [
  'interface',
  'new_ip_address',
  'new_subnet_cidr',
  'new_routers',
  'new_dhcp_server_identifier',
  'new_dhcp_lease_time',
  'new_domain_name_servers',
  'new_domain_name',
  'new_domain_search',
  'new_dhcp6_name_servers',
  'nd1_rdnss1_servers',
  'nd2_rdnss1_servers',
  'nd1_rdnss10_servers',
];

/** What a DHCP server, or whoever is on the wireless network, may get dhcpcd to pass on. */
const value = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.domain(),
  fc.nat({ max: 2 ** 33 }).map(String),
  fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), { maxLength: 3 }).map((a) => a.join(' ')),
  fc.constantFrom(
    '10.0.0.1\nnameserver 6.6.6.6',
    'lan\nsearch evil',
    '33',
    '-1',
    '1e3',
    '0x10',
    'NaN',
    'Infinity',
    '8.8.8.8 01.1.1.1',
    'a_b.lan',
    'fe80::1%wlan0',
    'wlan0',
    '../../x',
    'eth0 wlan0',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/\0/g, '')),
  fc.constantFrom(...COMMON_HAZARDS.filter((h) => !h.includes('\0'))),
);
const env = fc
  .tuple(fc.constantFrom(...REASONS), fc.dictionary(fc.oneof(fc.constantFrom(...VARIABLES), fc.stringMatching(NAME)), value, { maxKeys: 10 }))
  .map(([reason, vars]) => ({ ...vars, reason }));
const report = (e: Record<string, string>): string =>
  Object.entries(e)
    .map(([k, v]) => `${k}=${v}\0`)
    .join('');

/** Only well-formed values in the state: the rest of wifibox-init, diag and the files written from it trust it. */
function expectWellFormed(s: LeaseState): void {
  const d = s.dns;
  const l = s.lease;
  const ok =
    d.dns.every(isAddress4) &&
    d.dns6.every(isAddress6) &&
    (d.domain === null || isHostname(d.domain)) &&
    d.search.every(isHostname) &&
    (l === null ||
      (/^([A-Za-z0-9_.@+-]{1,15})?$/.test(l.iface) &&
        (l.address === null || isAddress4(l.address)) &&
        (l.router === null || isAddress4(l.router)) &&
        (l.server === null || isAddress4(l.server)) &&
        (l.prefixLength === null || (Number.isInteger(l.prefixLength) && l.prefixLength >= 0 && l.prefixLength <= 32)) &&
        (l.leaseSeconds === null || (Number.isInteger(l.leaseSeconds) && l.leaseSeconds > 0 && l.leaseSeconds < 2 ** 32))));
  if (!ok) expect.fail(`state with a value nobody checked: ${JSON.stringify(s)}`);
}

describe("the dhcpcd hook's report", () => {
  it('any text: never throws; a report is name=value pairs with a reason, and cannot touch a prototype', () => {
    const texts = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      env.map(report),
      fc
        .tuple(env.map(report), fc.nat(), fc.constantFrom('\0', '=', '\0\0', '=\0', ' ', '__proto__=x\0', 'constructor=x\0'))
        .map(([r, at, w]) => r.slice(0, at % (r.length + 1)) + w + r.slice(at % (r.length + 1))),
    );
    check(texts, 3000, (text) => {
      const r = timed('parseHookReport', () => parseHookReport(text));
      if (r === null) return;
      expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
      expect(typeof r.reason).toBe('string');
      for (const [k, v] of Object.entries(r)) if (!NAME.test(k) || v.includes('\0')) expect.fail(`bad pair ${k}=${v} from ${JSON.stringify(text)}`);
    });
  });

  it('generated reports read back exactly (the later of two same names wins)', () => {
    check(
      fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom('reason', ...VARIABLES), fc.stringMatching(NAME)).filter((n) => n !== '__proto__'),
          value,
        ),
        { maxLength: 12 },
      ),
      3000,
      (pairs) => {
        const all = [['reason', 'BOUND'] as [string, string], ...pairs];
        expect(parseHookReport(all.map(([k, v]) => `${k}=${v}\0`).join(''))).toEqual(Object.fromEntries(all));
      },
    );
  });

  it('hostile reports in any order: only well-formed addresses and names reach the state and resolv.conf', () => {
    check(fc.array(env, { minLength: 1, maxLength: 6 }), 3000, (reports) => {
      let state = emptyLeaseState();
      for (const e of reports) {
        state = timed('applyHookReport', () => applyHookReport(state, e, new Date(0)));
        expectWellFormed(state);
        const lines = renderResolvConf(state.dns).split('\n');
        const d = state.dns;
        expect(lines).toEqual([
          expect.stringMatching(/^# /),
          ...(d.domain ? [`domain ${d.domain}`] : []),
          ...(d.search.length ? [`search ${d.search.join(' ')}`] : []),
          ...[...d.dns, ...d.dns6].map((s) => `nameserver ${s}`),
          '',
        ]);
      }
    });
  });
});

// ---------------------------------------------------------------------------
// DNS messages

const label = fc.uint8Array({ minLength: 1, maxLength: 63 }).map((b) => Buffer.from(b));
const question = fc
  .tuple(
    fc.array(
      fc.oneof(
        label,
        fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/).map((s) => Buffer.from(s)),
      ),
      { maxLength: 8 },
    ),
    fc.nat({ max: 65535 }),
    fc.nat({ max: 65535 }),
  )
  .map(([labels, type, klass]) => {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(type, 0);
    tail.writeUInt16BE(klass, 2);
    return { labels, type, bytes: Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0]), tail]) };
  })
  .filter((q) => q.bytes.length - 4 <= 255);
/** A standard query: QR 0, opcode 0, one question, no answers or authority, maybe an EDNS record. */
const query = fc.tuple(fc.nat({ max: 65535 }), fc.nat({ max: 0x07ff }), question, fc.boolean()).map(([id, flags, q, edns]) => {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(edns ? 1 : 0, 10);
  const opt = edns ? Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return { id, flags, q, msg: Buffer.concat([header, q.bytes, opt]) };
});
const damaged = fc
  .tuple(query, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat({ max: 600 }))
  .map(([{ msg }, flips, cut]) => {
    const out = Buffer.from(msg);
    for (const [at, byte] of flips) out[at % out.length] = byte;
    return out.subarray(0, cut);
  });

describe('DNS messages', () => {
  /** RFC 1035's SERVFAIL for `q`: its ID, question, opcode and RD; QR and RA set; no records. */
  const expectServfail = (sf: Buffer, q: NonNullable<ReturnType<typeof parseQuery>>): void => {
    expect(sf.length).toBe(HEADER_BYTES + q.question.length);
    expect([sf.readUInt16BE(0), sf.readUInt16BE(2), sf.readUInt16BE(4), sf.readUInt16BE(6), sf.readUInt16BE(8), sf.readUInt16BE(10)]).toEqual([
      q.id,
      0x8000 | (q.flags & 0x0100) | 0x0080 | 2,
      1,
      0,
      0,
      0,
    ]);
    expect(questionOf(sf)?.equals(q.question)).toBe(true);
    expect(answers(sf, q.id, q.question)).toBe(true);
    expect(parseQuery(sf)).toBeNull();
  };

  it('any bytes: never throws; every query that parses gets a well-formed SERVFAIL', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
      damaged,
      query.map((q) => q.msg),
    );
    let parsed = 0;
    check(fc.tuple(bytes, fc.nat({ max: 65535 })), 5000, ([msg, id]) => {
      const q = timed('parseQuery', () => parseQuery(msg));
      questionOf(msg);
      isTruncated(msg);
      answers(msg, id, q?.question ?? msg.subarray(HEADER_BYTES));
      if (q === null) return;
      parsed++;
      expect(Number.isInteger(q.id) && q.id >= 0 && q.id <= 65535 && (q.flags & 0xf800) === 0 && q.question.length >= 5).toBe(true);
      expectServfail(servfail(q), q);
    });
    expect(parsed).toBeGreaterThan(500);
  });

  it('generated queries parse as written, and an answer is recognised whatever the case of its name', () => {
    check(fc.tuple(query, fc.uint8Array({ minLength: 255, maxLength: 255 })), 3000, ([{ id, flags, q, msg }, caseBits]) => {
      const got = parseQuery(msg);
      expect(got).toEqual({
        id,
        flags,
        question: q.bytes,
        name: q.labels.length ? q.labels.map((l) => l.toString('latin1').toLowerCase()).join('.') : '.',
        type: q.type,
      });
      // 0x20 randomisation: an upstream may echo the name in another ASCII case.
      const echoed = Buffer.from(servfail(got!));
      for (let i = HEADER_BYTES; i < echoed.length - 4; i++) {
        const c = echoed[i]!;
        if (caseBits[i % 255]! & 1 && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) echoed[i] = c ^ 0x20;
      }
      expect(answers(echoed, id, got!.question)).toBe(true);
      expect(answers(echoed, (id + 1) % 65536, got!.question)).toBe(false);
    });
  });
});
