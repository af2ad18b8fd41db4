// A DNS server and client of the tests' own, on loopback: the server answers A questions from a
// table (UDP and TCP), or stays silent, or answers with the TC bit; it remembers what it was asked.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server } from 'node:net';
import { freePorts } from './forward';

export interface Asked {
  id: number;
  name: string;
  port: number;
  tcp: boolean;
}

/** A query for `name` (type A, class IN, RD set) with this ID. */
export function query(name: string, id: number, type = 1): Buffer {
  const labels = name.split('.').filter(Boolean);
  const parts = [Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0, type >> 8, type & 255, 0, 1]));
  return Buffer.concat(parts);
}

/** The name asked in a query (no compression), and the end of the question. */
export function readQuestion(msg: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let p = 12;
  while (msg[p]) {
    labels.push(msg.toString('latin1', p + 1, p + 1 + msg[p]!));
    p += 1 + msg[p]!;
  }
  return { name: labels.join('.'), end: p + 5 };
}

export interface AnswerShape {
  /** The A record's TTL (60 by default). */
  ttl?: number;
  /** NXDOMAIN with an SOA record in the authority section: its TTL and its minimum. */
  soa?: { ttl: number; minimum: number };
}

/** An SOA record for the question's name (compressed): ns and mailbox names, five numbers. */
function soaRecord(ttl: number, minimum: number): Buffer {
  const rdata = Buffer.concat([Buffer.from([2, 110, 115, 0xc0, 12, 1, 104, 0xc0, 12]), Buffer.alloc(20)]);
  rdata.writeUInt32BE(1, 9);
  rdata.writeUInt32BE(minimum, rdata.length - 4);
  const head = Buffer.from([0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 0]);
  head.writeUInt32BE(ttl, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

/** The answer: question copied, one A record if the name is in `records`, NXDOMAIN otherwise. */
export function answer(q: Buffer, records: Record<string, string>, truncated = false, shape: AnswerShape = {}): Buffer {
  const { name, end } = readQuestion(q);
  const ip = records[name.toLowerCase()];
  const header = Buffer.from(q.subarray(0, 12));
  header.writeUInt16BE(0x8180 | (truncated ? 0x0200 : 0) | (ip ? 0 : 3), 2);
  header.writeUInt16BE(ip ? 1 : 0, 6);
  header.writeUInt16BE(0, 10);
  header.writeUInt16BE(!ip && shape.soa ? 1 : 0, 8);
  const parts = [header, q.subarray(12, end)];
  if (ip) {
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, ...ip.split('.').map(Number)]);
    rr.writeUInt32BE(shape.ttl ?? 60, 6);
    parts.push(rr);
  } else if (shape.soa) {
    parts.push(soaRecord(shape.soa.ttl, shape.soa.minimum));
  }
  return Buffer.concat(parts);
}

/** The address in an answer's first A record, or its RCODE as 'rcode=N'. */
export function addressIn(msg: Buffer): string {
  if (msg.readUInt16BE(6) === 0) return `rcode=${msg.readUInt16BE(2) & 15}`;
  const end = readQuestion(msg).end;
  return [...msg.subarray(end + 12, end + 16)].join('.');
}

export type Mode = 'answer' | 'silent' | 'truncated';

export class FakeDnsServer {
  readonly asked: Asked[] = [];
  mode: Mode = 'answer';
  /** TTLs and negative answers of what it answers. */
  shape: AnswerShape = {};
  /** Called with each UDP query before answering: a test can play an attacker here. */
  onUdpQuery: (msg: Buffer, from: { address: string; port: number }) => void = () => undefined;
  private udp!: UdpSocket;
  private tcp!: Server;

  constructor(
    readonly address: string,
    readonly records: Record<string, string>,
  ) {}

  async start(port: number): Promise<void> {
    this.udp = createSocket('udp4');
    this.udp.on('message', (msg, r) => {
      this.asked.push({ id: msg.readUInt16BE(0), name: readQuestion(msg).name, port: r.port, tcp: false });
      this.onUdpQuery(msg, r);
      if (this.mode !== 'silent') this.udp.send(answer(msg, this.records, this.mode === 'truncated', this.shape), r.port, r.address);
    });
    await new Promise<void>((res) => this.udp.bind(port, this.address, res));
    this.tcp = createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        this.asked.push({ id: msg.readUInt16BE(0), name: readQuestion(msg).name, port: s.remotePort ?? 0, tcp: true });
        if (this.mode === 'silent') return;
        const a = answer(msg, this.records, false, this.shape);
        s.end(Buffer.concat([Buffer.from([a.length >> 8, a.length & 255]), a]));
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((res) => this.tcp.listen(port, this.address, res));
  }

  /** Sends any datagram from the server's own UDP socket. */
  sendFrom(msg: Buffer, to: { address: string; port: number }): void {
    this.udp.send(msg, to.port, to.address);
  }

  close(): void {
    this.udp.close();
    this.tcp.close();
  }
}

/** Asks `server` over UDP from `from` (an address of ours); the answer, or null after timeoutMs. */
export function askUdp(server: { address: string; port: number }, msg: Buffer, timeoutMs = 2000, from = '127.0.0.1'): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => finish(null), timeoutMs);
    const finish = (a: Buffer | null) => {
      clearTimeout(timer);
      s.close();
      resolve(a);
    };
    s.on('message', (m) => finish(m));
    s.bind(0, from, () => s.send(msg, server.port, server.address));
  });
}

/** A message as TCP carries it: behind its two-byte length. */
export const framed = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 255]), msg]);

/** Asks over TCP (length-prefixed), from `from` (an address of ours). */
export function askTcp(server: { address: string; port: number }, msg: Buffer, timeoutMs = 2000, from = '127.0.0.1'): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = connect({ port: server.port, host: server.address, localAddress: from });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(null), timeoutMs);
    const finish = (a: Buffer | null) => {
      clearTimeout(timer);
      s.destroy();
      resolve(a);
    };
    s.on('connect', () => s.write(framed(msg)));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    s.on('error', () => finish(null));
  });
}

/** A port free for UDP and TCP on loopback (bound once, then released): the relay takes both. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
