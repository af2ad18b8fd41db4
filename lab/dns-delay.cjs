#!/usr/bin/env node
// A DNS server far away, for the lab: node dns-delay.cjs LISTEN_ADDRESS UPSTREAM_ADDRESS DELAY_MS [FORGER_ADDRESS]
// Answers on LISTEN_ADDRESS:53 (UDP) with what UPSTREAM_ADDRESS:53 answers, each question held
// DELAY_MS before it is passed on (the lab's kernel has no netem). Prints one JSON line for each
// question passed on ({"event":"asked","name":...}), so a test can count what reached it.
// With FORGER_ADDRESS (an address of this namespace), each real answer is preceded by forged ones
// saying 6.6.6.N: from FORGER_ADDRESS:53, from another port of LISTEN_ADDRESS, with another ID,
// and for another question.
'use strict';
const dgram = require('node:dgram');

const [listen, upstream, delayText, forgerAddress] = process.argv.slice(2);
const delay = Number(delayText);

/** The answer `answer` saying `ip` in each A record it has (their rdata: 4 bytes after the type). */
function saying(answer, ip) {
  const out = Buffer.from(answer);
  const bytes = ip.split('.').map(Number);
  for (let p = 12; p + 4 <= out.length; p++) {
    // An A record of class IN with a 4-byte rdata: type 1, class 1, TTL, length 4.
    if (out.readUInt16BE(p) === 1 && out.readUInt16BE(p + 2) === 1 && p + 10 + 4 <= out.length && out.readUInt16BE(p + 8) === 4) {
      bytes.forEach((b, i) => (out[p + 10 + i] = b));
      p += 13;
    }
  }
  return out;
}

const forgers = forgerAddress ? [dgram.createSocket('udp4'), dgram.createSocket('udp4')] : [];
if (forgers.length) {
  forgers[0].bind(53, forgerAddress);
  forgers[1].bind(0, listen);
}

/** Forged answers to `query` (its real `answer` at hand), sent to `to` before the real one. */
function forge(query, answer, to) {
  if (!forgers.length) return;
  const wrongId = saying(answer, '6.6.6.3');
  wrongId.writeUInt16BE(query.readUInt16BE(0) ^ 1, 0);
  const otherName = saying(answer, '6.6.6.4');
  otherName[13] = otherName[13] === 0x7a ? 0x79 : otherName[13] + 1; // the name's first letter
  const forged = [
    [forgers[0], saying(answer, '6.6.6.1')], // from another address
    [forgers[1], saying(answer, '6.6.6.2')], // from another port
    [server, wrongId], // with another ID
    [server, otherName], // for another question
  ];
  for (const [socket, msg] of forged) socket.send(msg, to.port, to.address);
  // How many carry a forged address (an answer with no A record carries none).
  const forgedRecords = forged.filter(([, msg]) => msg.includes(Buffer.from([6, 6, 6]))).length;
  process.stdout.write(`${JSON.stringify({ event: 'forged', forgedRecords })}\n`);
}

/** The name asked (no compression in a question), lower case. */
function nameOf(msg) {
  const labels = [];
  for (let p = 12; p < msg.length && msg[p]; p += 1 + msg[p]) labels.push(msg.toString('latin1', p + 1, p + 1 + msg[p]));
  return labels.join('.').toLowerCase();
}

const server = dgram.createSocket('udp4');
server.on('message', (msg, from) => {
  setTimeout(() => {
    process.stdout.write(`${JSON.stringify({ event: 'asked', name: nameOf(msg), at: Date.now() })}\n`);
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => s.close(), 5000);
    s.on('message', (answer) => {
      clearTimeout(timer);
      s.close();
      forge(msg, answer, from);
      server.send(answer, from.port, from.address);
    });
    s.on('error', () => undefined);
    s.send(msg, 53, upstream);
  }, delay);
});
server.bind(53, listen, () => process.stdout.write(`${JSON.stringify({ event: 'listening' })}\n`));
