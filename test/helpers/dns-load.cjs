#!/usr/bin/env node
// Run in the lab's host namespace: node dns-load.cjs SERVER NAME MALFORMED CONCURRENT
// First MALFORMED packets that are not DNS queries (random bytes, cut-off queries, oversized
// ones), each tenth followed by a good query that must be answered (so the relay's socket never
// overflows and every bad packet is read); then CONCURRENT queries at once, each for NAME in its
// own mix of upper and lower case. Prints JSON: how many replies came, and how many of them
// carried another question than the one asked.
'use strict';
const dgram = require('node:dgram');
const { malformedPacket } = require('./malformed-dns.cjs');

const [server, name, malformedText, concurrentText] = process.argv.slice(2);
const malformed = Number(malformedText);
const concurrent = Number(concurrentText);

function query(qname, id) {
  const parts = [Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of qname.split('.')) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0, 0, 1, 0, 1]));
  return Buffer.concat(parts);
}
const questionOf = (msg) => msg.subarray(12, 12 + query(name, 0).length - 12).toString('latin1');

function ask(msg, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => done(null), timeoutMs);
    const done = (a) => {
      clearTimeout(timer);
      s.close();
      resolve(a);
    };
    s.on('message', (m) => done(m));
    s.send(msg, 53, server);
  });
}

/** @type {import('./malformed-dns.cjs').MalformedKind[]} */
const KINDS = ['random', 'cut', 'oversized'];

let seed = 4242;
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;

async function main() {
  const out = { malformedSent: 0, goodAnswered: 0, replies: 0, wrongQuestion: 0, wrongId: 0, noReply: 0 };
  const sock = dgram.createSocket('udp4');
  const good = query(name, 7);
  for (let i = 0; i < malformed; i++) {
    const pkt = malformedPacket(KINDS[i % KINDS.length], good, rand);
    await new Promise((r) => sock.send(pkt, 53, server, r));
    out.malformedSent++;
    if (i % 10 === 9 && (await ask(good))) out.goodAnswered++;
  }
  sock.close();
  const names = Array.from({ length: concurrent }, () =>
    name
      .split('')
      .map((c) => (rand() < 0.5 ? c.toUpperCase() : c))
      .join(''),
  );
  const answers = await Promise.all(names.map((n, i) => ask(query(n, i + 1000))));
  answers.forEach((a, i) => {
    if (!a) return void out.noReply++;
    out.replies++;
    if (a.readUInt16BE(0) !== i + 1000) out.wrongId++;
    if (questionOf(a) !== questionOf(query(names[i], 0))) out.wrongQuestion++;
  });
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
