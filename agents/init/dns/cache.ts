// The relay's memory of answers. An answer is kept for the smallest TTL of its records (never
// served past it; the TTLs the host gets count down), a negative answer (NXDOMAIN, or no record
// of that type) for its SOA's negative TTL, capped; both bounded in names and bytes, the least
// recently used going first. Nothing is timed: an answer that ran out goes when it is next asked
// for or pushed out. Emptied when the wireless network changes (see services/dns-relay.ts).
import { HEADER_BYTES, questionOf } from './message';

export interface CacheLimits {
  /** Names (questions) kept at most; 0: no cache. */
  names: number;
  /** Bytes of answers kept at most. */
  bytes: number;
}

export interface CacheCounters {
  hits: number;
  misses: number;
  flushes: number;
}

/** Longest a positive answer is kept, whatever its TTL says (a day). */
export const MAX_TTL_SECONDS = 86_400;
/** Longest a negative answer is kept (RFC 2308 allows up to 3 hours; a few minutes is kinder). */
export const MAX_NEGATIVE_TTL_SECONDS = 300;
/** An answer larger than this is not kept. */
const MAX_ENTRY_BYTES = 4096;

const QR = 0x8000;
const OPCODE_MASK = 0x7800;
const TC = 0x0200;
const CD = 0x0010;
const RCODE_MASK = 0x000f;
const NOERROR = 0;
const NXDOMAIN = 3;
const TYPE_SOA = 6;
const TYPE_OPT = 41;
/** A DNS client without EDNS takes UDP answers up to this size (RFC 1035 §4.2.1). */
export const PLAIN_UDP_BYTES = 512;

/** The end of a (possibly compressed) name at `at`, or -1. */
function skipName(msg: Buffer, at: number): number {
  let p = at;
  for (let labels = 0; labels < 128; labels++) {
    if (p >= msg.length) return -1;
    const len = msg[p]!;
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) return p + 2 <= msg.length ? p + 2 : -1;
    if (len > 63) return -1;
    p += 1 + len;
  }
  return -1;
}

interface Record {
  type: number;
  /** Where its TTL is (not for OPT, whose TTL field holds EDNS flags). */
  ttlAt: number;
  ttl: number;
  section: 'answer' | 'authority' | 'additional';
  rdataAt: number;
  rdataLength: number;
}

/** Every record after the one question, or null when the message is not well formed. */
function recordsOf(msg: Buffer): Record[] | null {
  const q = questionOf(msg);
  if (q === null) return null;
  const counts = [msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)] as const;
  const sections = ['answer', 'authority', 'additional'] as const;
  const out: Record[] = [];
  let p = HEADER_BYTES + q.length;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const end = skipName(msg, p);
      if (end < 0 || end + 10 > msg.length) return null;
      const rdataLength = msg.readUInt16BE(end + 8);
      if (end + 10 + rdataLength > msg.length) return null;
      out.push({ type: msg.readUInt16BE(end), ttlAt: end + 4, ttl: msg.readUInt32BE(end + 4), section: sections[s]!, rdataAt: end + 10, rdataLength });
      p = end + 10 + rdataLength;
    }
  }
  return out;
}

/**
 * How long an answer may be kept, in seconds (0: not at all): the smallest TTL of its records; a
 * negative answer, the smaller of its SOA's TTL and the SOA's minimum (RFC 2308 §5). Only answers
 * that are whole (not truncated) and say NOERROR or NXDOMAIN.
 */
export function cacheSeconds(answer: Buffer): number {
  if (answer.length < HEADER_BYTES || answer.length > MAX_ENTRY_BYTES) return 0;
  const flags = answer.readUInt16BE(2);
  const rcode = flags & RCODE_MASK;
  if (!(flags & QR) || flags & OPCODE_MASK || flags & TC || (rcode !== NOERROR && rcode !== NXDOMAIN)) return 0;
  const records = recordsOf(answer);
  if (records === null) return 0;
  const timed = records.filter((r) => r.type !== TYPE_OPT);
  const answered = records.some((r) => r.section === 'answer');
  if (rcode === NOERROR && answered) return Math.min(MAX_TTL_SECONDS, ...timed.map((r) => r.ttl));
  const soa = records.find((r) => r.section === 'authority' && r.type === TYPE_SOA);
  // The SOA's minimum is its rdata's last four bytes (after two names and four numbers).
  if (!soa || soa.rdataLength < 22) return 0;
  const minimum = answer.readUInt32BE(soa.rdataAt + soa.rdataLength - 4);
  return Math.min(MAX_NEGATIVE_TTL_SECONDS, soa.ttl, minimum, ...timed.map((r) => r.ttl));
}

/** What of a query decides which answer fits it. */
export interface QueryShape {
  /** The question, names in lower case: the cache's key with the flags below. */
  key: string;
  /** The largest UDP answer the host takes: its EDNS size, or 512 without EDNS. */
  udpLimit: number;
}

/**
 * The key of a query: its question without regard to case, and what changes the answer: whether
 * it speaks EDNS (an answer carries an OPT record only then), asks for DNSSEC records (DO) or
 * for no checking (CD). Null when the query is not well formed.
 */
export function queryShape(query: Buffer): QueryShape | null {
  const q = questionOf(query);
  if (q === null) return null;
  const records = recordsOf(query);
  if (records === null) return null;
  const opt = records.find((r) => r.type === TYPE_OPT && r.section === 'additional');
  // An OPT record's class is the UDP size its sender takes; its TTL's bit 15 is DO.
  const edns = opt ? query.readUInt16BE(opt.ttlAt - 2) : null;
  const dnssecOk = opt ? (opt.ttl & 0x8000) !== 0 : false;
  const flags = `${opt ? 'E' : '-'}${dnssecOk ? 'D' : '-'}${query.readUInt16BE(2) & CD ? 'C' : '-'}`;
  return { key: `${flags}${q.toString('latin1').toLowerCase()}`, udpLimit: edns === null ? PLAIN_UDP_BYTES : Math.max(PLAIN_UDP_BYTES, edns) };
}

interface Entry {
  /** The answer as the server gave it, in latin1: a string costs less than a Buffer of its own. */
  answer: string;
  storedAt: number;
  expiresAt: number;
}

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  readonly counters: CacheCounters = { hits: 0, misses: 0, flushes: 0 };

  constructor(
    private readonly limits: CacheLimits,
    /** Milliseconds, monotonic. */
    private readonly now: () => number,
  ) {}

  get enabled(): boolean {
    return this.limits.names > 0;
  }

  get size(): { names: number; bytes: number } {
    return { names: this.entries.size, bytes: this.bytes };
  }

  /**
   * The answer for a query, made the host's: its ID, its question as it wrote it (case and all),
   * and every TTL less the whole seconds it has been kept. Null (a miss) when there is none, it
   * has run out, or it is larger than the host takes over UDP (`udpLimit`).
   */
  get(query: Buffer, shape: QueryShape, udpLimit: number | null): Buffer | null {
    if (!this.enabled) return null;
    const e = this.entries.get(shape.key);
    const now = this.now();
    if (e && now >= e.expiresAt) this.remove(shape.key, e);
    if (!e || now >= e.expiresAt || (udpLimit !== null && e.answer.length > udpLimit)) {
      this.counters.misses++;
      return null;
    }
    // The most recently used goes last: the first in the map is the first to go.
    this.entries.delete(shape.key);
    this.entries.set(shape.key, e);
    this.counters.hits++;
    const out = Buffer.from(e.answer, 'latin1');
    query.copy(out, 0, 0, 2);
    const q = questionOf(query)!;
    q.copy(out, HEADER_BYTES);
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    for (const r of recordsOf(out) ?? []) {
      if (r.type !== TYPE_OPT) out.writeUInt32BE(Math.max(0, r.ttl - elapsed), r.ttlAt);
    }
    return out;
  }

  /** Keeps an answer to the query of that shape, if it may be kept (see cacheSeconds). */
  put(shape: QueryShape, answer: Buffer): void {
    if (!this.enabled) return;
    // A newer answer replaces the one kept, also one that may not be kept itself.
    const old = this.entries.get(shape.key);
    if (old) this.remove(shape.key, old);
    const seconds = cacheSeconds(answer);
    if (seconds <= 0) return;
    const now = this.now();
    const e: Entry = { answer: answer.toString('latin1'), storedAt: now, expiresAt: now + seconds * 1000 };
    this.entries.set(shape.key, e);
    this.bytes += e.answer.length;
    for (const [key, oldest] of this.entries) {
      if (this.entries.size <= this.limits.names && this.bytes <= this.limits.bytes) break;
      this.remove(key, oldest);
    }
  }

  /** Forgets every answer (another network, or SIGHUP). */
  flush(): void {
    this.entries.clear();
    this.bytes = 0;
    this.counters.flushes++;
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    this.bytes -= e.answer.length;
  }
}
