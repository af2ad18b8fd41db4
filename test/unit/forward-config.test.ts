// forwarding.conf: the upstream sample unchanged and with its examples in use, every supported
// form, malformed lines (file:line, and the other lines still served), and a seeded fuzz.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inRange, parseRange } from '../../agents/forward/address';
import { parseForwardConfig, type ForwardLine } from '../../agents/forward/config';
import { expectProblem, lines, type BadInput } from '../helpers/config-problems';
import { fileParser, fuzzInputs, fuzzParser } from '../helpers/fuzz';
import { UPSTREAM } from '../helpers/paths';

const SAMPLE = readFileSync(join(UPSTREAM, 'optional', 'forwarding', 'appliance', 'forwarding.conf.sample'), 'utf8');
/** The sample with its two example lines taken out of their comments, as a user enables them. */
const ENABLED = SAMPLE.replace(/^# (UDP)/gm, '$1');
const FILE = 'forwarding.conf';
const parse = (text: string) => parseForwardConfig(text, FILE);
const only = (text: string): ForwardLine => {
  const c = parse(text);
  expect(c.problems).toEqual([]);
  expect(c.lines).toHaveLength(1);
  return c.lines[0]!;
};

describe('the upstream sample', () => {
  it('parses unchanged with no problem (every line is a comment)', () => {
    expect(parse(SAMPLE)).toEqual({ file: FILE, lines: [], problems: [] });
  });

  it('parses its two examples, once enabled, with no problem', () => {
    const c = parse(ENABLED);
    expect(c.problems).toEqual([]);
    expect(c.lines.map((l) => [l.line, l.text])).toEqual([
      [8, 'UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223'],
      [9, 'UDP-LISTEN:11224,broadcast,fork,reuseaddr UDP:10.0.0.2:11224'],
    ]);
    expect(c.lines[0]!.listen).toMatchObject({ kind: 'udp-recv', port: 11223, address: '0.0.0.0', broadcast: true, reuseAddr: true, fork: false, range: null });
    expect(c.lines[0]!.target).toMatchObject({ protocol: 'udp', host: '10.0.0.2', port: 11223, broadcast: false, bindAddress: null });
    expect(c.lines[1]!.listen).toMatchObject({ kind: 'udp-listen', port: 11224, broadcast: true, reuseAddr: true, fork: true });
    expect(c.lines[1]!).toMatchObject({ oneWay: false, idleTimeoutMs: null, closeTimeoutMs: null });
  });
});

describe('every supported form', () => {
  it.each([
    ['UDP-RECV:5000 UDP4:10.0.0.2:5000', { kind: 'udp-recv', port: 5000 }, { protocol: 'udp', port: 5000 }],
    ['udp4-recv:5000,so-broadcast,so-reuseaddr udp4:10.0.0.2:5001', { kind: 'udp-recv', broadcast: true, reuseAddr: true }, { port: 5001 }],
    [
      'UDP4-LISTEN:5000,bind=192.168.77.2,range=192.168.77.0/24 UDP-CONNECT:10.0.0.2:53',
      { kind: 'udp-listen', address: '192.168.77.2', fork: false },
      { port: 53 },
    ],
    [
      'UDP-L:5000,fork,max-children=8 UDP4:10.0.0.2:5000,bind=10.0.0.1:6000',
      { kind: 'udp-listen', fork: true, maxChildren: 8 },
      { bindAddress: '10.0.0.1', bindPort: 6000 },
    ],
    ['UDP4-RECV:5000 UDP4:10.0.0.255:5000,broadcast', { kind: 'udp-recv' }, { broadcast: true, host: '10.0.0.255' }],
    [
      'TCP4-LISTEN:8080,bind=192.168.77.2,range=192.168.77.0:255.255.255.0,fork,reuseaddr TCP4:10.0.0.2:80',
      { kind: 'tcp-listen', fork: true, reuseAddr: true },
      { protocol: 'tcp', port: 80 },
    ],
    [
      'TCP-LISTEN:8080,backlog=16,max-children=4,keepalive,nodelay TCP:10.0.0.2:80,connect-timeout=2.5,bind=10.0.0.1',
      { backlog: 16, maxChildren: 4, keepAlive: true },
      { connectTimeoutMs: 2500, bindAddress: '10.0.0.1', bindPort: null },
    ],
    ['TCP-L:22,fork=1,reuseaddr=0 TCP4-CONNECT:10.0.0.2:22', { fork: true, reuseAddr: false }, { port: 22 }],
  ] as const)('%s', (text, listen, target) => {
    const l = only(text);
    expect(l.listen).toMatchObject(listen);
    expect(l.target).toMatchObject(target);
  });

  it('takes socat -u, -T and -t (joined or apart), and -4; -d is a warning and the line is served', () => {
    expect(only('-u -T 600 -t0.5 -4 UDP-LISTEN:1,fork UDP:10.0.0.2:1')).toMatchObject({ oneWay: true, idleTimeoutMs: 600_000, closeTimeoutMs: 500 });
    expect(only('-T30 TCP-LISTEN:1 TCP:10.0.0.2:1')).toMatchObject({ oneWay: false, idleTimeoutMs: 30_000, closeTimeoutMs: null });
    const c = parse(lines('-d -dd UDP4-RECV:1 UDP4:10.0.0.2:1'));
    expect(c.lines).toHaveLength(1);
    expect(c.problems.map((p) => [p.line, p.severity])).toEqual([
      [1, 'warning'],
      [1, 'warning'],
    ]);
  });

  it('reads comments, inline comments, blank lines, tabs and CRLF as the old service did', () => {
    const c = parse(
      '# a comment\n\n   # indented comment\n\tUDP4-RECV:1\t UDP4:10.0.0.2:1   # why\r\nTCP-LISTEN:2 TCP:10.0.0.2:2\r\n#UDP4-RECV:3 UDP4:10.0.0.2:3',
    );
    expect(c.problems).toEqual([]);
    expect(c.lines.map((l) => [l.line, l.text])).toEqual([
      [4, 'UDP4-RECV:1 UDP4:10.0.0.2:1'],
      [5, 'TCP-LISTEN:2 TCP:10.0.0.2:2'],
    ]);
  });

  it('serves a line given twice once, with a warning naming the first', () => {
    const c = parse(lines('UDP4-RECV:1 UDP4:10.0.0.2:1', 'UDP4-RECV:1   UDP4:10.0.0.2:1'));
    expect(c.lines.map((l) => l.line)).toEqual([1]);
    expectProblem(c.problems, FILE, { name: 'twice', text: '', line: 2, severity: 'warning', fragment: 'the same forwarding as line 1' });
  });
});

describe('range=', () => {
  it('reads ADDRESS/BITS and ADDRESS:MASK and compares as socat does (masked)', () => {
    const r24 = parseRange('192.168.77.9/24')!;
    expect([inRange('192.168.77.1', r24), inRange('192.168.77.255', r24), inRange('192.168.78.1', r24)]).toEqual([true, true, false]);
    expect(inRange('::ffff:192.168.77.3', r24)).toBe(true);
    expect(inRange('fe80::1', r24)).toBe(false);
    const all = parseRange('0.0.0.0/0')!;
    expect([inRange('1.2.3.4', all), inRange('255.255.255.255', all)]).toEqual([true, true]);
    const one = parseRange('10.0.0.2:255.255.255.255')!;
    expect([inRange('10.0.0.2', one), inRange('10.0.0.3', one)]).toEqual([true, false]);
    // Any mask, as socat takes it: here the last octet must be 7, whatever the others are.
    const odd = parseRange('0.0.0.7:0.0.0.255')!;
    expect([inRange('9.9.9.7', odd), inRange('9.9.9.8', odd)]).toEqual([true, false]);
    for (const bad of ['10.0.0.0/33', '10.0.0/8', '10.0.0.0', '10.0.0.0:255.0.0', 'a/8', '10.0.0.0/8/8', '10.0.0.0/-1'])
      expect(parseRange(bad), bad).toBeNull();
  });
});

const GOOD = 'UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223';
// Each a line of its own, which the test puts between a comment and a good line: the problem is on
// line 2, and the good line must still be served.
const BAD: Omit<BadInput, 'line'>[] = [
  { name: 'EXEC', text: 'TCP-LISTEN:1,fork EXEC:/bin/sh', fragment: 'address type EXEC runs a program, which this agent never does; expected UDP4-RECV:PORT' },
  { name: 'SYSTEM', text: 'SYSTEM:nc TCP4:10.0.0.2:1', fragment: 'address type SYSTEM runs a program' },
  { name: 'OPENSSL', text: 'OPENSSL-LISTEN:443,fork TCP4:10.0.0.2:80', fragment: 'OPENSSL-LISTEN (TLS) is not supported' },
  { name: 'IPv6', text: 'UDP6-RECV:1 UDP6:[::1]:1', fragment: 'UDP6-RECV is IPv6' },
  { name: 'RECVFROM', text: 'UDP4-RECVFROM:1,fork UDP4:10.0.0.2:1', fragment: 'use UDP-LISTEN,fork' },
  { name: 'STDIO', text: '- TCP4:10.0.0.2:1', fragment: "address type '-' is not supported" },
  {
    name: 'unknown option',
    text: 'UDP4-RECV:1,fork UDP4:10.0.0.2:1',
    fragment: "option 'fork' is not supported on UDP4-RECV; expected one of bind, range, reuseaddr, broadcast",
  },
  { name: 'made-up option', text: 'TCP-LISTEN:1,frok TCP4:10.0.0.2:1', fragment: "option 'frok' is not supported on TCP-LISTEN" },
  { name: 'option twice', text: 'TCP-LISTEN:1,fork,fork TCP4:10.0.0.2:1', fragment: "option 'fork' is given twice" },
  { name: 'flag with a value', text: 'TCP-LISTEN:1,fork=yes TCP4:10.0.0.2:1', fragment: "option 'fork=yes' is not on or off; expected fork, fork=1 or fork=0" },
  { name: 'value missing', text: 'TCP-LISTEN:1,bind TCP4:10.0.0.2:1', fragment: "option 'bind' needs a value" },
  { name: 'empty option', text: 'TCP-LISTEN:1,,fork TCP4:10.0.0.2:1', fragment: 'empty option' },
  { name: 'port 0', text: 'UDP4-RECV:0 UDP4:10.0.0.2:1', fragment: "port '0' of UDP4-RECV is not a number from 1 to 65535" },
  { name: 'port name', text: 'TCP-LISTEN:ssh TCP4:10.0.0.2:22', fragment: "port 'ssh' of TCP-LISTEN" },
  { name: 'no port', text: 'UDP4-RECV UDP4:10.0.0.2:1', fragment: 'UDP4-RECV takes one parameter' },
  { name: 'target port 70000', text: 'UDP4-RECV:1 UDP4:10.0.0.2:70000', fragment: "port '70000' of UDP4" },
  { name: 'target without port', text: 'UDP4-RECV:1 UDP4:10.0.0.2', fragment: 'UDP4 takes two parameters' },
  { name: 'host name', text: 'TCP-LISTEN:1 TCP4:myhost:1', fragment: "host 'myhost' of TCP4 is not an IPv4 address (names are not looked up)" },
  { name: 'bad bind', text: 'TCP-LISTEN:1,bind=wlan0 TCP4:10.0.0.2:1', fragment: 'bind=wlan0 on TCP-LISTEN is not an IPv4 address' },
  { name: 'bind with port on a listener', text: 'TCP-LISTEN:1,bind=10.0.0.1:80 TCP4:10.0.0.2:1', fragment: "the port is TCP-LISTEN's own" },
  { name: 'bad target bind', text: 'TCP-LISTEN:1 TCP4:10.0.0.2:1,bind=10.0.0.1:x', fragment: 'expected bind=ADDRESS or bind=ADDRESS:PORT' },
  { name: 'bad range', text: 'TCP-LISTEN:1,range=10.0.0.0/40 TCP4:10.0.0.2:1', fragment: 'expected range=ADDRESS/BITS or range=ADDRESS:MASK' },
  { name: 'bad backlog', text: 'TCP-LISTEN:1,backlog=0 TCP4:10.0.0.2:1', fragment: 'backlog=0 is out of range; expected a whole number from 1 to 65535' },
  {
    name: 'bad connect-timeout',
    text: 'TCP-LISTEN:1 TCP4:10.0.0.2:1,connect-timeout=soon',
    fragment: 'connect-timeout=soon is not a time; expected a number of seconds',
  },
  { name: 'one address', text: 'UDP4-RECV:1', fragment: "found 1 address; expected two, as in 'UDP4-RECV:11223,broadcast,reuseaddr UDP4:10.0.0.2:11223'" },
  { name: 'three addresses', text: 'UDP4-RECV:1 UDP4:10.0.0.2:1 UDP4:10.0.0.3:1', fragment: 'found 3 addresses' },
  { name: 'target first', text: 'UDP4:10.0.0.2:1 UDP4-RECV:1', fragment: 'the first address is a target: swap the two addresses' },
  { name: 'two listeners', text: 'UDP4-RECV:1 UDP-LISTEN:2', fragment: 'both addresses listen' },
  { name: 'UDP to TCP', text: 'UDP-LISTEN:1 TCP4:10.0.0.2:1', fragment: 'UDP-LISTEN is UDP but the target is TCP; expected UDP4:HOST:PORT' },
  { name: 'unknown socat option', text: '-lf /tmp/log UDP4-RECV:1 UDP4:10.0.0.2:1', fragment: "socat option '-lf' is not supported" },
  { name: '-T without a time', text: '-T UDP4-RECV:1 UDP4:10.0.0.2:1', fragment: 'socat option -T needs a time' },
  { name: '-T with nothing after', text: '-T', fragment: 'socat option -T needs a time' },
];

describe('malformed lines', () => {
  it.each(BAD)('$name: named with its line, and the next line still served', (bad) => {
    const c = parse(lines('# before', bad.text, GOOD));
    expectProblem(c.problems, FILE, { ...bad, line: 2 });
    expect(c.problems.every((p) => p.message.endsWith('(line not served)') && /; expected /.test(p.message))).toBe(true);
    expect(c.lines.map((l) => [l.line, l.text])).toEqual([[3, GOOD]]);
  });
});

describe('messages quote the file as one printable line', () => {
  it('a control character in a line (an escape sequence) is shown as ?', () => {
    const c = parse('\u001b[2JUDP4-RECV:11223 UDP4:10.0.0.2:11223\n');
    expect(c.problems).toHaveLength(1);
    expect(c.problems[0]!.message).toMatch(/^address type '\?\[2JUDP4-RECV' is not supported; expected /);
  });
});

describe('property: never throws, problems on real lines, every line served is whole', () => {
  it('3000 mutated and arbitrary files', () => {
    const seeds = [
      ENABLED,
      lines('-T 5 TCP4-LISTEN:8080,bind=192.168.77.2,range=192.168.77.0/24,fork TCP4:10.0.0.2:80', '-u UDP-LISTEN:53,fork UDP4:10.0.0.2:53', GOOD),
    ];
    const hazards = ['fork', ',range=', 'EXEC:', '-T', 'UDP4-RECV:', ',bind=', '#', ':', ','];
    fuzzParser(
      fuzzInputs(seeds, hazards),
      3000,
      fileParser('parseForwardConfig', FILE, parseForwardConfig, (c) => {
        for (const l of c.lines) {
          const ok =
            l.listen.port >= 1 &&
            l.listen.port <= 65535 &&
            l.target.port >= 1 &&
            l.target.port <= 65535 &&
            l.listen.protocol === l.target.protocol &&
            !l.text.includes('#');
          if (!ok) expect.fail(`bad line ${JSON.stringify(l)}`);
        }
      }),
    );
  });
});
