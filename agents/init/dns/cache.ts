// The relay's memory of answers. An answer is kept for the smallest TTL of its records (never
// served past it; the TTLs the host gets count down), a negative answer (NXDOMAIN, or no record
// of that type) for its SOA's negative TTL, capped; both bounded in names and bytes, the least
// recently used going first. Nothing is timed: an answer that ran out goes when it is next asked
// for or pushed out. Emptied when the wireless network changes (see services/dns-relay.ts).
import { FLAG, HEADER_BYTES, questionOf, RCODE } from './message';

export interface CacheLimits {
  /** Names (questions) kept at most; 0: no cache. */
  names: number;
  /** Bytes of answers kept at most. */
  bytes: number;
}

interface CacheCounters {
  hits: number;
  misses: number;
  flushes: number;
}

/** Longest a positive answer is kept, whatever its TTL says (a day). */
const MAX_TTL_SECONDS = 86_400;
/** Longest a negative answer is kept (RFC 2308 allows up to 3 hours; a few minutes is kinder). */
export const MAX_NEGATIVE_TTL_SECONDS = 300;
/** An answer larger than this is not kept. */
const MAX_ENTRY_BYTES = 4096;

/** The record types the cache looks at (RFC 1035 §3.2.2, RFC 6891 §6.1.1). */
const RR_TYPE = { SOA: 6, OPT: 41 } as const;
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
  return keepSeconds(answer, keepable(answer) ? recordsOf(answer) : null);
}

/** An answer of a kind that may be kept: whole, NOERROR or NXDOMAIN, not too large. */
function keepable(answer: Buffer): boolean {
  if (answer.length < HEADER_BYTES || answer.length > MAX_ENTRY_BYTES) return false;
  const flags = answer.readUInt16BE(2);
  const rcode = flags & FLAG.RCODE;
  return (flags & FLAG.QR) !== 0 && (flags & FLAG.OPCODE) === 0 && (flags & FLAG.TC) === 0 && (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN);
}

/** cacheSeconds for an answer already found keepable and walked (null: not keepable, or not well formed). */
function keepSeconds(answer: Buffer, records: Record[] | null): number {
  if (records === null) return 0;
  let ttl = Infinity;
  let answered = false;
  let soa: Record | null = null;
  for (const r of records) {
    if (r.type !== RR_TYPE.OPT) ttl = Math.min(ttl, r.ttl);
    if (r.section === 'answer') answered = true;
    if (r.section === 'authority' && r.type === RR_TYPE.SOA) soa ??= r;
  }
  if ((answer.readUInt16BE(2) & FLAG.RCODE) === RCODE.NOERROR && answered) return Math.min(MAX_TTL_SECONDS, ttl);
  // The SOA's minimum is its rdata's last four bytes (after two names and four numbers).
  if (!soa || soa.rdataLength < 22) return 0;
  const minimum = answer.readUInt32BE(soa.rdataAt + soa.rdataLength - 4);
  return Math.min(MAX_NEGATIVE_TTL_SECONDS, soa.ttl, minimum, ttl);
}

/** What of a query decides which answer fits it. */
export interface QueryShape {
  /** The question, names in lower case: the cache's key with the flags below. */
  key: string;
  /** The question as the host wrote it (a view of its query). */
  question: Buffer;
  /** The largest UDP answer the host takes: its EDNS size, or 512 without EDNS. */
  udpLimit: number;
}

/**
 * The key of a query: its question without regard to case, and what changes the answer: whether
 * it speaks EDNS (an answer carries an OPT record only then), asks for DNSSEC records (DO) or
 * for no checking (CD). Null when the query is not well formed.
 */
export function queryShape(query: Buffer, question?: Buffer): QueryShape | null {
  // `question`: the query's question as its parser found it already.
  const q = question ?? questionOf(query);
  if (q === null) return null;
  // Most queries carry no other record: no OPT to look for.
  const records = query.readUInt16BE(10) === 0 ? [] : recordsOf(query);
  if (records === null) return null;
  const opt = records.find((r) => r.type === RR_TYPE.OPT && r.section === 'additional');
  // An OPT record's class is the UDP size its sender takes; its TTL's bit 15 is DO.
  const edns = opt ? query.readUInt16BE(opt.ttlAt - 2) : null;
  const dnssecOk = opt ? (opt.ttl & 0x8000) !== 0 : false;
  // One flat string (not a concatenation, which V8 keeps as a pair): a byte of flags, then the
  // question with its ASCII letters in lower case.
  const key = Buffer.allocUnsafe(1 + q.length);
  key[0] = 0x40 | (opt ? 1 : 0) | (dnssecOk ? 2 : 0) | (query.readUInt16BE(2) & FLAG.CD ? 4 : 0);
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    key[i + 1] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  }
  return { key: key.toString('latin1'), question: q, udpLimit: edns === null ? PLAIN_UDP_BYTES : Math.max(PLAIN_UDP_BYTES, edns) };
}

/**
 * An entry is one string (a string costs far less than an object and a Buffer of its own): when
 * it was kept (ms, 6 bytes), for how long (s, 4), how many TTLs it has (1) and where each is in
 * the records (2 each), the answer's header but its ID (10), and its records after the question
 * (the key has the question; the host gets its own ID and question back). A hit walks nothing.
 */
const STORED_AT_BYTES = 6;
const SECONDS_AT = STORED_AT_BYTES;
const COUNT_AT = SECONDS_AT + 4;
const OFFSETS_AT = COUNT_AT + 1;
const ID_BYTES = 2;
const MAX_TTLS = 255;

/** The entry for a keepable answer; null when it has more TTLs than an entry holds. */
function entryOf(answer: Buffer, question: Buffer, records: Record[], seconds: number, storedAt: number): string | null {
  const tailAt = HEADER_BYTES + question.length;
  const ttls = records.filter((r) => r.type !== RR_TYPE.OPT).map((r) => r.ttlAt - tailAt);
  if (ttls.length > MAX_TTLS) return null;
  const head = OFFSETS_AT + 2 * ttls.length;
  const out = Buffer.allocUnsafe(head + HEADER_BYTES - ID_BYTES + answer.length - tailAt);
  out.writeUIntBE(Math.floor(storedAt), 0, STORED_AT_BYTES);
  out.writeUInt32BE(seconds, SECONDS_AT);
  out[COUNT_AT] = ttls.length;
  ttls.forEach((t, i) => out.writeUInt16BE(t, OFFSETS_AT + 2 * i));
  answer.copy(out, head, ID_BYTES, HEADER_BYTES);
  answer.copy(out, head + HEADER_BYTES - ID_BYTES, tailAt);
  return out.toString('latin1');
}

export class AnswerCache {
  /**
   * Key → entry (see entryOf), in two generations: what was kept or asked for since the last
   * turn, and what was before it. An answer asked for again moves up; what goes first is the
   * older generation's, oldest first (an LRU in effect). A repeated question costs one lookup:
   * moving every hit to the end of one large map made V8 rebuild its table again and again
   * (10,000 names: a third fewer answers a second).
   */
  private young = new Map<string, string>();
  private old = new Map<string, string>();
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

  /** Names kept, and the bytes of their keys and entries. */
  get size(): { names: number; bytes: number } {
    return { names: this.young.size + this.old.size, bytes: this.bytes };
  }

  /**
   * The answer for a query, made the host's: its ID, its question as it wrote it (case and all),
   * and every TTL less the whole seconds it has been kept. Null (a miss) when there is none, it
   * has run out, or it is larger than the host takes over UDP (`udpLimit`).
   */
  get(query: Buffer, shape: QueryShape, udpLimit: number | null): Buffer | null {
    if (!this.enabled) return null;
    let entry = this.young.get(shape.key);
    if (entry === undefined) {
      entry = this.old.get(shape.key);
      if (entry !== undefined) {
        this.old.delete(shape.key);
        this.young.set(shape.key, entry);
      }
    }
    if (entry === undefined) {
      this.counters.misses++;
      return null;
    }
    const e = Buffer.from(entry, 'latin1');
    const storedAt = e.readUIntBE(0, STORED_AT_BYTES);
    const now = this.now();
    if (now >= storedAt + e.readUInt32BE(SECONDS_AT) * 1000) {
      this.remove(shape.key, entry);
      this.counters.misses++;
      return null;
    }
    const count = e[COUNT_AT]!;
    const head = OFFSETS_AT + 2 * count;
    const question = shape.question;
    const answer = Buffer.allocUnsafe(ID_BYTES + question.length + e.length - head);
    if (udpLimit !== null && answer.length > udpLimit) {
      this.counters.misses++;
      return null;
    }
    query.copy(answer, 0, 0, ID_BYTES);
    e.copy(answer, ID_BYTES, head, head + HEADER_BYTES - ID_BYTES);
    question.copy(answer, HEADER_BYTES);
    const tailAt = HEADER_BYTES + question.length;
    e.copy(answer, tailAt, head + HEADER_BYTES - ID_BYTES);
    this.counters.hits++;
    const elapsed = Math.floor((now - storedAt) / 1000);
    for (let i = 0; i < count; i++) {
      const at = tailAt + e.readUInt16BE(OFFSETS_AT + 2 * i);
      answer.writeUInt32BE(Math.max(0, answer.readUInt32BE(at) - elapsed), at);
    }
    return answer;
  }

  /** Keeps an answer to the query of that shape, if it may be kept (see cacheSeconds). */
  put(shape: QueryShape, answer: Buffer): void {
    if (!this.enabled) return;
    // A newer answer replaces the one kept, also one that may not be kept itself.
    const kept = this.young.get(shape.key) ?? this.old.get(shape.key);
    if (kept !== undefined) this.remove(shape.key, kept);
    const question = questionOf(answer);
    const records = question !== null && keepable(answer) ? recordsOf(answer) : null;
    const seconds = keepSeconds(answer, records);
    if (question === null || records === null || seconds <= 0) return;
    const entry = entryOf(answer, question, records, seconds, this.now());
    if (entry === null) return;
    this.young.set(shape.key, entry);
    this.bytes += shape.key.length + entry.length;
    while (this.young.size + this.old.size > this.limits.names || this.bytes > this.limits.bytes) this.evictOne();
  }

  /** Forgets every answer (another network, or SIGHUP). */
  flush(): void {
    this.young = new Map();
    this.old = new Map();
    this.bytes = 0;
    this.counters.flushes++;
  }

  /** The older generation's oldest goes; when it has none left, the younger becomes the older. */
  private evictOne(): void {
    if (this.old.size === 0) {
      this.old = this.young;
      this.young = new Map();
    }
    for (const [key, entry] of this.old) {
      this.remove(key, entry);
      return;
    }
  }

  private remove(key: string, entry: string): void {
    if (!this.young.delete(key)) this.old.delete(key);
    this.bytes -= key.length + entry.length;
  }
}
