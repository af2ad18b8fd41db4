#!/usr/bin/env node
// The init benchmark's probes, plain Node with no dependencies (bench/init-probe.ts starts them in
// the lab's namespaces). Each prints JSON lines, the first {"event":"start"}; times are Date.now().
//
//   http URL BODY                        GET URL every 20 ms (each its own connection, 1.5 s timeout,
//                                        at most 64 pending) until an answer's body is BODY: one
//                                        {"event":"page"} line, then exit. Other bodies are counted.
//   watch URL BODY MS                    GET URL every 20 ms for MS milliseconds, as `http` does: one
//                                        {"event":"ok"} line for every answer whose body is BODY.
//   lookup EVENTS NAME [--page BODY] [--until ADDRESS]
//                                        as a host resolver that follows its DHCP lease: every 20 ms,
//                                        read the udhcpc events file EVENTS (JSON lines), and ask each
//                                        DNS server of the latest lease for NAME's A record over UDP
//                                        (1 s timeout each). A line {"event":"answer"} for the first
//                                        address answered and for every change of it; --until exits
//                                        once ADDRESS is answered; --page GETs http://<address>:8080/
//                                        from the first answer on, as `http` does, then exits.
//   latency NAME N SERVER...             N rounds of one query to each SERVER in turn (the order
//                                        reversed every other round), one at a time, after 20 rounds
//                                        not counted; one line: each round's times in ms, where every
//                                        server answered with an address, and the failures.
'use strict';
const dgram = require('node:dgram');
const http = require('node:http');
const { readFileSync } = require('node:fs');

const EVERY_MS = 20;
const QUERY_TIMEOUT_MS = 1000;
const WARMUP_ROUNDS = 20;

/** One JSON line (stamped now unless it has its time); with `exit`, the process exits once it is written. */
const say = (obj, exit = false) => process.stdout.write(`${JSON.stringify({ ...obj, at: obj.at ?? Date.now() })}\n`, () => exit && process.exit(0));
const exitAfter = (obj) => say(obj, true);

/** A standard query (RD set) for NAME's A record. */
function query(id, name) {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'latin1')]);
  return Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

/** Past a (possibly compressed) name at `at`; -1 when it runs off the end. */
function skipName(msg, at) {
  for (let p = at; p < msg.length;) {
    const len = msg[p];
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) return p + 2;
    p += 1 + len;
  }
  return -1;
}

/** An answer's rcode and its first A record's address (null when it has none). */
function parseAnswer(msg) {
  if (msg.length < 12 || !(msg[2] & 0x80)) return null;
  const rcode = msg[3] & 15;
  let p = skipName(msg, 12);
  if (p < 0) return { rcode, address: null };
  p += 4;
  for (let i = 0, n = msg.readUInt16BE(6); i < n; i++) {
    p = skipName(msg, p);
    if (p < 0 || p + 10 > msg.length) break;
    const type = msg.readUInt16BE(p);
    const len = msg.readUInt16BE(p + 8);
    p += 10;
    if (p + len > msg.length) break;
    if (type === 1 && len === 4) return { rcode, address: [...msg.subarray(p, p + 4)].join('.') };
    p += len;
  }
  return { rcode, address: null };
}

/** One UDP socket; ask() resolves with the parsed answer, or null after the timeout. */
function resolver() {
  const sock = dgram.createSocket('udp4');
  const pending = new Map();
  let nextId = Math.floor(Math.random() * 65536);
  sock.on('error', () => undefined);
  sock.on('message', (msg) => {
    const p = msg.length >= 2 ? pending.get(msg.readUInt16BE(0)) : undefined;
    if (!p) return;
    pending.delete(msg.readUInt16BE(0));
    clearTimeout(p.timer);
    p.resolve(parseAnswer(msg));
  });
  return {
    ask(server, name, timeoutMs = QUERY_TIMEOUT_MS) {
      const id = (nextId = (nextId + 1) & 0xffff);
      return new Promise((resolve) => {
        const timer = setTimeout(() => pending.delete(id) && resolve(null), timeoutMs);
        pending.set(id, { resolve, timer });
        sock.send(query(id, name), 53, server, () => undefined);
      });
    },
    close: () => sock.close(),
  };
}

/**
 * GETs url every EVERY_MS (each its own connection, 1.5 s timeout, at most 64 pending) while
 * more() says so; onSent() for each GET started, onBody(trimmed body) for each answer.
 */
function getEvery(url, more, onBody, onSent = () => undefined) {
  let inflight = 0;
  const attempt = () => {
    if (!more()) return;
    if (inflight < 64) {
      inflight++;
      onSent();
      const req = http.get(url, { timeout: 1500, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          inflight--;
          onBody(body.trim());
        });
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => inflight--);
    }
    setTimeout(attempt, EVERY_MS);
  };
  attempt();
}

/** GETs url until a body is `want`; then onPage once. */
function fetchUntil(url, want, onPage) {
  let attempts = 0;
  let other = 0;
  let done = false;
  const onBody = (body) => {
    if (done) return;
    if (body !== want) return void other++;
    done = true;
    onPage({ event: 'page', url, attempts, other });
  };
  getEvery(
    url,
    () => !done,
    onBody,
    () => attempts++,
  );
}

/** The latest event of the host's DHCP client, when it is a lease (bound or renew): its DNS servers. */
function currentLease(events) {
  let last = null;
  try {
    const lines = readFileSync(events, 'utf8').split('\n').filter(Boolean);
    last = lines.length ? JSON.parse(lines[lines.length - 1]) : null;
  } catch {
    return null;
  }
  if (!last || (last.event !== 'bound' && last.event !== 'renew')) return null;
  return {
    at: last.at,
    dns: String(last.dns ?? '')
      .split(/\s+/)
      .filter(Boolean),
  };
}

function lookup(events, name, flags) {
  const r = resolver();
  let queries = 0;
  let empty = 0;
  let last = null;
  let fetching = false;
  const tick = () => {
    const lease = currentLease(events);
    for (const server of lease ? lease.dns : []) {
      queries++;
      void r.ask(server, name).then((a) => {
        if (!a) return;
        if (!a.address) return void empty++;
        if (a.address === last) return;
        last = a.address;
        const line = { event: 'answer', at: Date.now(), server, address: a.address, leaseAt: lease.at, leaseDns: lease.dns, queries, empty };
        if (a.address === flags.until) return exitAfter(line);
        say(line);
        if (flags.page !== undefined && !fetching) {
          fetching = true;
          fetchUntil(`http://${a.address}:8080/`, flags.page, exitAfter);
        }
      });
    }
    setTimeout(tick, EVERY_MS);
  };
  tick();
}

async function latency(name, rounds, servers) {
  const r = resolver();
  const times = [];
  let failures = 0;
  for (let i = 0; i < rounds + WARMUP_ROUNDS; i++) {
    const order = servers.map((_, k) => k);
    if (i % 2) order.reverse();
    const round = [];
    for (const k of order) {
      const t = process.hrtime.bigint();
      const a = await r.ask(servers[k], name);
      round[k] = Number(process.hrtime.bigint() - t) / 1e6;
      if (!a || !a.address) round[k] = null;
    }
    if (round.includes(null)) failures++;
    else if (i >= WARMUP_ROUNDS) times.push(round);
  }
  r.close();
  exitAfter({ event: 'latency', servers, times, failures });
}

/**
 * `count` distinct names (n0.<domain>, n1.<domain>, …) asked of `server`, `concurrency` at a time,
 * each once (a name unanswered within 3 s is not asked again): how many were answered.
 */
async function names(server, domain, count, concurrency) {
  const r = resolver();
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < count) {
      const a = await r.ask(server, `n${next++}.${domain}`, 3000);
      if (a && a.address) answered++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  r.close();
  exitAfter({ event: 'names', asked: count, answered });
}

/**
 * Queries for `name` to `server`, `concurrency` of them in flight at all times, for `seconds`:
 * the answers per second (a query unanswered within 1 s counts as lost and is replaced).
 */
async function qps(server, name, seconds, concurrency) {
  const r = resolver();
  const end = Date.now() + seconds * 1000;
  let answered = 0;
  let lost = 0;
  const worker = async () => {
    while (Date.now() < end) {
      const a = await r.ask(server, name);
      if (a && a.address) answered++;
      else lost++;
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  r.close();
  exitAfter({ event: 'qps', server, answered, lost, perSecond: answered / elapsed });
}

/** GETs url for ms milliseconds: an {"event":"ok"} line for each answer whose body is `want`. */
function watch(url, want, ms) {
  const end = Date.now() + ms;
  getEvery(
    url,
    () => Date.now() < end,
    (body) => body === want && say({ event: 'ok' }),
  );
  setTimeout(() => process.exit(0), ms + 1600);
}

const [mode, ...args] = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
say({ event: 'start', mode });
if (mode === 'http') fetchUntil(args[0], args[1], exitAfter);
else if (mode === 'watch') watch(args[0], args[1], Number(args[2]));
else if (mode === 'lookup') lookup(args[0], args[1], { page: option('--page'), until: option('--until') });
else if (mode === 'latency') void latency(args[0], Number(args[1]), args.slice(2));
else if (mode === 'qps') void qps(args[0], args[1], Number(args[2]), Number(args[3]));
else if (mode === 'names') void names(args[0], args[1], Number(args[2]), Number(args[3]));
else {
  process.stderr.write(`unknown mode '${mode}'\n`);
  process.exit(64);
}
