// The little of the DNS wire format (RFC 1035 §4) a relay needs: read a query's header and its one
// question, check that an answer is for that question, change the ID, and make a SERVFAIL. Every
// length is checked: what comes in is untrusted, and a malformed packet is null, never an exception.

export const HEADER_BYTES = 12;
const MAX_NAME_BYTES = 255;

export interface DnsQuery {
  id: number;
  /** Opcode and RD, kept for the SERVFAIL we may have to make. */
  flags: number;
  /** The question section as sent: name, type and class. */
  question: Buffer;
  /** The name in lower case, dotted ('.' for the root), for the log. */
  name: string;
  type: number;
}

/** The header's flag bits and fields (RFC 1035 §4.1.1; CD: RFC 4035 §3.2.2). */
export const FLAG = { QR: 0x8000, OPCODE: 0x7800, TC: 0x0200, RD: 0x0100, RA: 0x0080, CD: 0x0010, RCODE: 0x000f } as const;
export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

/** The end of a name starting at `at` (uncompressed, as a question is written), or -1. */
function nameEnd(msg: Buffer, at: number): number {
  let p = at;
  for (;;) {
    if (p >= msg.length) return -1;
    const len = msg[p]!;
    if (len === 0) return p + 1 - at > MAX_NAME_BYTES ? -1 : p + 1;
    // 0xc0: a compression pointer; 0x40/0x80: reserved label types. None belongs in a question.
    if (len > 63) return -1;
    p += 1 + len;
  }
}

function nameText(msg: Buffer, at: number, end: number): string {
  const labels: string[] = [];
  for (let p = at; p < end - 1; p += 1 + msg[p]!) labels.push(msg.toString('latin1', p + 1, p + 1 + msg[p]!).toLowerCase());
  return labels.length ? labels.join('.') : '.';
}

/** The one question of a message (query or answer), or null when it has not exactly one, well formed. */
export function questionOf(msg: Buffer): Buffer | null {
  if (msg.length < HEADER_BYTES || msg.readUInt16BE(4) !== 1) return null;
  const end = nameEnd(msg, HEADER_BYTES);
  if (end < 0 || end + 4 > msg.length) return null;
  return msg.subarray(HEADER_BYTES, end + 4);
}

/** A standard query with one question, or null for anything else (answers, other opcodes, garbage). */
export function parseQuery(msg: Buffer): DnsQuery | null {
  const question = questionOf(msg);
  if (question === null) return null;
  const flags = msg.readUInt16BE(2);
  if (flags & FLAG.QR || (flags & FLAG.OPCODE) !== 0) return null;
  // A query carries no answers or authority records (an EDNS OPT record is additional: allowed).
  if (msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return null;
  const end = HEADER_BYTES + question.length - 4;
  return {
    id: msg.readUInt16BE(0),
    flags,
    // A view of the query (each datagram is a Buffer of its own): not copied for every query.
    question,
    // Only the log reads it: made when asked for, not for every query.
    get name() {
      return nameText(question, 0, end - HEADER_BYTES);
    },
    type: question.readUInt16BE(question.length - 4),
  };
}

/** Names compare without regard to ASCII case (RFC 4343); type and class exactly. */
function sameQuestion(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a[i]!;
    let y = b[i]!;
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}

/** Whether `answer` is an answer (QR set) to our `id` about `question`. */
export function answers(answer: Buffer, id: number, question: Buffer): boolean {
  if (answer.length < HEADER_BYTES || answer.readUInt16BE(0) !== id || !(answer.readUInt16BE(2) & FLAG.QR)) return false;
  const q = questionOf(answer);
  return q !== null && sameQuestion(q, question);
}

export const isTruncated = (answer: Buffer): boolean => answer.length >= HEADER_BYTES && (answer.readUInt16BE(2) & FLAG.TC) !== 0;

/** A copy with another ID. */
export function withId(msg: Buffer, id: number): Buffer {
  const out = Buffer.from(msg);
  out.writeUInt16BE(id, 0);
  return out;
}

/** SERVFAIL for a query: its ID, opcode, RD and question; no records. */
export function servfail(q: DnsQuery): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + q.question.length);
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(FLAG.QR | (q.flags & (FLAG.OPCODE | FLAG.RD)) | FLAG.RA | RCODE.SERVFAIL, 2);
  out.writeUInt16BE(1, 4);
  q.question.copy(out, HEADER_BYTES);
  return out;
}
