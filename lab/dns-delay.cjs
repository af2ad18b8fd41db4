#!/usr/bin/env node
// A DNS server far away, for the lab: node dns-delay.cjs LISTEN_ADDRESS UPSTREAM_ADDRESS DELAY_MS
// Answers on LISTEN_ADDRESS:53 (UDP) with what UPSTREAM_ADDRESS:53 answers, each question held
// DELAY_MS before it is passed on (the lab's kernel has no netem). Prints one JSON line for each
// question passed on ({"event":"asked","name":...}), so a test can count what reached it.
'use strict';
const dgram = require('node:dgram');

const [listen, upstream, delayText] = process.argv.slice(2);
const delay = Number(delayText);

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
      server.send(answer, from.port, from.address);
    });
    s.on('error', () => undefined);
    s.send(msg, 53, upstream);
  }, delay);
});
server.bind(53, listen, () => process.stdout.write(`${JSON.stringify({ event: 'listening' })}\n`));
