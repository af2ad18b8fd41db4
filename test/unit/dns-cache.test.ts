// The relay's answer cache, alone: what it keeps and for how long, what the host gets back, its
// bounds and its flush; properties over random sequences (fast-check) besides the examples.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnswerCache, cacheSeconds, MAX_NEGATIVE_TTL_SECONDS, PLAIN_UDP_BYTES, queryShape } from '../../agents/init/dns/cache';
import { addressIn, answer, query } from '../helpers/fake-dns';

/** A cache on a clock the test moves. */
function cacheAt(names = 100, bytes = 1 << 20): { cache: AnswerCache; advance: (ms: number) => void } {
  let now = 1_000_000;
  return { cache: new AnswerCache({ names, bytes }, () => now), advance: (ms) => (now += ms) };
}

const ttlsOf = (a: Buffer): number[] => {
  // The fake server's answers: one A record (TTL at its 7th byte) after the question, or an SOA.
  const end = 12 + a.subarray(12).indexOf(0) + 5;
  return a.readUInt16BE(6) + a.readUInt16BE(8) > 0 ? [a.readUInt32BE(end + 6)] : [];
};

function keep(cache: AnswerCache, name: string, ttl: number, id = 1): Buffer {
  const q = query(name, id);
  const a = answer(q, { [name.toLowerCase()]: '192.0.2.1' }, false, { ttl });
  cache.put(queryShape(q)!, a);
  return a;
}

function ask(cache: AnswerCache, name: string, id = 7, udpLimit: number | null = PLAIN_UDP_BYTES): Buffer | null {
  const q = query(name, id);
  return cache.get(q, queryShape(q)!, udpLimit);
}

describe("the DNS relay's cache", () => {
  it('keeps an answer for its TTL: the host gets its own ID and case, the TTL counting down; never past it', () => {
    const { cache, advance } = cacheAt();
    keep(cache, 'Portal.Wireless.Lab', 2);
    const a = ask(cache, 'portal.WIRELESS.lab', 0x4242)!;
    expect(a.readUInt16BE(0)).toBe(0x4242);
    expect(a.toString('latin1')).toContain('WIRELESS');
    expect(addressIn(a)).toBe('192.0.2.1');
    expect(ttlsOf(a)).toEqual([2]);
    advance(1500);
    expect(ttlsOf(ask(cache, 'portal.wireless.lab')!)).toEqual([1]);
    advance(499);
    expect(ask(cache, 'portal.wireless.lab')).not.toBeNull();
    advance(1);
    expect(ask(cache, 'portal.wireless.lab')).toBeNull();
    expect(cache.size.names).toBe(0);
    expect(cache.counters).toEqual({ hits: 3, misses: 1, flushes: 0 });
  });

  it("negative answers for their SOA's negative TTL, capped; none without an SOA; never a truncated answer or a SERVFAIL", () => {
    const nx = (soa?: { ttl: number; minimum: number }) => answer(query('gone.lab', 1), {}, false, soa ? { soa } : {});
    expect(cacheSeconds(nx({ ttl: 600, minimum: 30 }))).toBe(30);
    expect(cacheSeconds(nx({ ttl: 20, minimum: 900 }))).toBe(20);
    expect(cacheSeconds(nx({ ttl: 86400, minimum: 86400 }))).toBe(MAX_NEGATIVE_TTL_SECONDS);
    expect(cacheSeconds(nx())).toBe(0);
    expect(cacheSeconds(answer(query('a.lab', 1), { 'a.lab': '192.0.2.1' }, true))).toBe(0);
    const servfail = answer(query('a.lab', 1), { 'a.lab': '192.0.2.1' });
    servfail.writeUInt16BE((servfail.readUInt16BE(2) & ~0xf) | 2, 2);
    expect(cacheSeconds(servfail)).toBe(0);
    expect(cacheSeconds(answer(query('a.lab', 1), { 'a.lab': '192.0.2.1' }, false, { ttl: 0 }))).toBe(0);
    expect(cacheSeconds(Buffer.from('not dns'))).toBe(0);
  });

  it('an answer larger than the host takes over UDP is not served from the cache over UDP (over TCP it is)', () => {
    const { cache } = cacheAt();
    const q = query('big.lab', 1);
    const big = Buffer.concat([answer(q, { 'big.lab': '192.0.2.1' }), Buffer.alloc(600)]);
    // The padding is not a record: make it one long A record's worth by counting it as rdata.
    big.writeUInt16BE(4 + 600, big.length - 600 - 4 - 2);
    cache.put(queryShape(q)!, big);
    expect(cache.size.names).toBe(1);
    expect(ask(cache, 'big.lab', 2, PLAIN_UDP_BYTES)).toBeNull();
    expect(ask(cache, 'big.lab', 2, null)?.length).toBe(big.length);
  });

  it('a query with EDNS, DO or CD is another key: an answer for one never goes to the other', () => {
    const plain = query('k.lab', 1);
    const edns = Buffer.concat([plain, Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0])]);
    edns.writeUInt16BE(1, 10);
    const cd = Buffer.from(plain);
    cd.writeUInt16BE(cd.readUInt16BE(2) | 0x10, 2);
    const keys = [plain, edns, cd].map((m) => queryShape(m)!.key);
    expect(new Set(keys).size).toBe(3);
    expect(queryShape(edns)!.udpLimit).toBe(1232);
    expect(queryShape(plain)!.udpLimit).toBe(512);
  });

  it('property: whatever is put, asked, aged and flushed, no TTL handed out exceeds what is left of it, the bounds hold, and a flush empties it', () => {
    const name = fc.constantFrom('a.lab', 'b.lab', 'C.lab', 'd.lab', 'e.lab', 'f.lab');
    const op = fc.oneof(
      fc.record({ put: name, ttl: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ get: name }),
      fc.record({ wait: fc.integer({ min: 0, max: 3000 }) }),
      fc.record({ flush: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), (ops, limit) => {
        const { cache, advance } = cacheAt(limit, 200);
        let clock = 0;
        /** When each name's answer was kept last, and with what TTL (as the model sees it). */
        const stored = new Map<string, { at: number; ttl: number }>();
        for (const o of ops) {
          if ('put' in o) {
            keep(cache, o.put, o.ttl);
            stored.set(o.put.toLowerCase(), { at: clock, ttl: o.ttl });
          } else if ('get' in o) {
            const a = ask(cache, o.get);
            if (a) {
              const s = stored.get(o.get.toLowerCase());
              expect(s).toBeDefined();
              expect(clock - s!.at).toBeLessThan(s!.ttl * 1000);
              const [ttl] = ttlsOf(a);
              expect(ttl).toBeLessThanOrEqual(s!.ttl - Math.floor((clock - s!.at) / 1000));
              expect(ttl).toBeGreaterThan(0);
            }
          } else if ('wait' in o) {
            advance(o.wait);
            clock += o.wait;
          } else {
            cache.flush();
            stored.clear();
            expect(cache.size).toEqual({ names: 0, bytes: 0 });
          }
          expect(cache.size.names).toBeLessThanOrEqual(limit);
          expect(cache.size.bytes).toBeLessThanOrEqual(200);
        }
      }),
    );
  });

  it('least recently used goes first (by generations: what was asked for since the last turn stays), by names and by bytes', () => {
    const { cache } = cacheAt(2);
    keep(cache, 'a.lab', 60);
    keep(cache, 'b.lab', 60);
    keep(cache, 'c.lab', 60); // the oldest, a, goes
    expect(ask(cache, 'a.lab')).toBeNull();
    expect(ask(cache, 'b.lab')).not.toBeNull(); // b is asked for again
    keep(cache, 'd.lab', 60); // c, not asked for since it was kept, goes before b
    expect(ask(cache, 'c.lab')).toBeNull();
    expect(ask(cache, 'b.lab')).not.toBeNull();
    expect(ask(cache, 'd.lab')).not.toBeNull();
    expect(cache.size.names).toBe(2);
    const probe = cacheAt().cache;
    keep(probe, 'a.lab', 60);
    const one = probe.size.bytes;
    expect(one).toBeGreaterThan(0);
    const small = cacheAt(100, 2 * one - 1).cache;
    keep(small, 'a.lab', 60);
    keep(small, 'b.lab', 60);
    expect(small.size).toEqual({ names: 1, bytes: one });
    expect(ask(small, 'a.lab')).toBeNull();
    expect(ask(small, 'b.lab')).not.toBeNull();
    const off = cacheAt(0).cache;
    keep(off, 'a.lab', 60);
    expect(ask(off, 'a.lab')).toBeNull();
    expect(off.size.names).toBe(0);
  });
});
