import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectProblem, lines, type BadInput } from '../helpers/config-problems';
import { FIXTURES, UPSTREAM } from '../helpers/paths';
import { formatProblem } from '../../agents/common/problems';
import { inNetwork, parsePassthruConfig, type PassthruConfig, type PassthruNetwork } from '../../agents/passthru/config';

const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const ports = (c: PassthruConfig): number[] => c.sockets.map((s) => s.port);
const NET = 'network=10.0.0.1:255.255.255.0';

describe('upstream samples', () => {
  const extra = { user: 'root', group: '0', mode: '770' };
  it.each([
    [
      'wpa_supplicant',
      'two sockets, comma-space fields, multi-line value',
      '10.0.0.1',
      [
        { path: '/var/run/wpa_supplicant/wlan0', port: 1200, line: 14, extra },
        { path: '/var/run/wpa_supplicant/p2p-dev-wlan0', port: 1201, line: 15, extra },
      ],
    ],
    ['hostapd', 'one socket, fields without spaces', '10.0.0.2', [{ path: '/var/run/hostapd/wlan0', port: 1200, line: 14, extra }]],
  ] as const)('%s flavour: %s', (flavour, _what, address, sockets) => {
    const c = parsePassthruConfig(fixture(`uds_passthru.${flavour}.conf`), 'uds_passthru.conf');
    expect(c.problems).toEqual([]);
    expect(c.network).toEqual({ address, mask: '255.255.255.0', prefixLength: 24 });
    expect(c.sockets).toEqual(sockets);
  });
});

describe('the upstream samples themselves, unchanged', () => {
  it.each(['wpa_supplicant', 'hostapd'])('%s/appliance/uds_passthru.conf.sample parses with no problem', (flavor) => {
    const c = parsePassthruConfig(readFileSync(join(UPSTREAM, flavor, 'appliance', 'uds_passthru.conf.sample'), 'utf8'), 'uds_passthru.conf');
    expect(c.problems).toEqual([]);
    expect(c.sockets.map((x) => x.port)).toEqual(flavor === 'hostapd' ? [1200] : [1200, 1201]);
  });
});

describe('shell subset', () => {
  it('concatenates quoted and unquoted parts, honours escapes and continuations', () => {
    const c = parsePassthruConfig(
      lines(
        `_a='lit \${x}'"d\\"q\\\\b\\$\\\`"plain`,
        '_b=$_a # trailing comment',
        '_dir=/run/x\\',
        'y',
        '_c="one \\',
        'two"',
        `sockets="path=\${_dir}/s,port=1200,note=\${_b}|\${_c}"`,
      ),
      'f',
    );
    expect(c.sockets[0]?.extra).toEqual({ note: 'lit ${x}d"q\\b$`plain|one two' });
    expect(c.sockets[0]?.path).toBe('/run/xy/s');
    // Only the unknown-field warning for "note".
    expect(c.problems.map((p) => [p.line, p.severity])).toEqual([[7, 'warning']]);
  });

  it('keeps a lone $ and # inside a word literal, as the shell does', () => {
    const c = parsePassthruConfig(lines('sockets="path=/run/$/a#b,port=1200"'), 'f');
    expect(c.problems).toEqual([]);
    expect(c.sockets[0]?.path).toBe('/run/$/a#b');
  });

  it('reports each entry at its own line, across blank lines in the value', () => {
    const c = parsePassthruConfig(lines(NET, 'sockets="', '', '  path=/a, port=1', '', 'path=/b,port=2', '"'), 'f');
    expect(c.problems).toEqual([]);
    expect(c.sockets.map((s) => [s.port, s.line])).toEqual([
      [1, 4],
      [2, 6],
    ]);
  });

  it('treats empty or absent network as "use eth0", without a problem', () => {
    const sockets = 'sockets=path=/a,port=1';
    expect(parsePassthruConfig(lines('network=', sockets), 'f')).toMatchObject({ network: null, problems: [] });
    expect(parsePassthruConfig(lines(sockets), 'f')).toMatchObject({ network: null, problems: [] });
  });

  it('accepts a contiguous mask of any length', () => {
    const net = (m: string): PassthruNetwork | null => parsePassthruConfig(lines(`network=10.0.0.1:${m}`, 'sockets=path=/a,port=1'), 'f').network;
    expect(net('0.0.0.0')?.prefixLength).toBe(0);
    expect(net('255.255.128.0')?.prefixLength).toBe(17);
    expect(net('255.255.255.255')?.prefixLength).toBe(32);
  });

  it('formats problems as FILE:LINE: SEVERITY: MESSAGE', () => {
    expect(formatProblem({ file: '/media/etc/uds_passthru.conf', line: 3, severity: 'error', message: 'boom' })).toBe(
      '/media/etc/uds_passthru.conf:3: error: boom',
    );
  });
});

interface Bad extends BadInput {
  /** The valid sockets that must survive the broken part. */
  ports: number[];
  network?: 'null';
}

// Each file also holds valid sockets: they must survive the broken part.
const BAD: Bad[] = [
  { name: 'missing port', text: lines(NET, 'sockets="path=/run/a,port=1200', 'path=/run/b,user=root"'), line: 3, fragment: 'has no port', ports: [1200] },
  {
    name: 'port 0',
    text: lines(NET, 'sockets="path=/run/a,port=1200', 'path=/run/b,port=0"'),
    line: 3,
    fragment: "port '0' is invalid; expected an integer from 1 to 65535",
    ports: [1200],
  },
  {
    name: 'port 70000',
    text: lines(NET, 'sockets="path=/run/a,port=1200', 'path=/run/b,port=70000"'),
    line: 3,
    fragment: "port '70000' is invalid",
    ports: [1200],
  },
  { name: 'port 12a', text: lines(NET, 'sockets="path=/run/b,port=12a', 'path=/run/a,port=1200"'), line: 2, fragment: "port '12a' is invalid", ports: [1200] },
  {
    name: 'duplicate port',
    text: lines(NET, 'sockets="path=/run/a,port=1200', 'path=/run/b,port=1201', 'path=/run/c,port=1200"'),
    line: 4,
    fragment: 'port 1200 is already used by the socket on line 2',
    ports: [1200, 1201],
  },
  {
    name: 'missing path',
    text: lines(NET, 'sockets="path=/run/a,port=1200', 'port=1201, user=root"'),
    line: 3,
    fragment: 'has no path; expected path=/absolute/path',
    ports: [1200],
  },
  {
    name: 'relative path',
    text: lines(NET, 'sockets="path=/run/a,port=1200', 'path=run/b,port=1201"'),
    line: 3,
    fragment: "path 'run/b' is not absolute",
    ports: [1200],
  },
  {
    name: 'path too long for a socket',
    text: lines(NET, 'sockets="path=/run/a,port=1200', `path=/run/${'x'.repeat(103)},port=1201"`),
    line: 3,
    fragment: 'is 108 bytes; expected at most 107',
    ports: [1200],
  },
  {
    name: 'field without =',
    text: lines(NET, 'sockets="path=/run/a,port=1200', 'path=/run/b,port=1201,root"'),
    line: 3,
    fragment: "field 'root' has no '='; expected key=value",
    ports: [1200],
  },
  {
    name: 'unknown field',
    text: lines(NET, 'sockets="path=/run/a,port=1200,owner=me"'),
    line: 2,
    severity: 'warning',
    fragment: "unknown socket field 'owner'",
    ports: [1200],
  },
  {
    name: 'bad IP',
    text: lines('network=10.0.0.300:255.255.255.0', 'sockets="path=/run/a,port=1200"'),
    line: 1,
    fragment: "address '10.0.0.300' is not a dotted-quad IPv4 address",
    ports: [1200],
    network: 'null',
  },
  {
    name: 'non-contiguous mask',
    text: lines('network=10.0.0.1:255.0.255.0', 'sockets="path=/run/a,port=1200"'),
    line: 1,
    fragment: "mask '255.0.255.0' is not contiguous",
    ports: [1200],
    network: 'null',
  },
  {
    name: 'three-part mask',
    text: lines('network=10.0.0.1:255.255.255', 'sockets="path=/run/a,port=1200"'),
    line: 1,
    fragment: "mask '255.255.255' is not a dotted-quad",
    ports: [1200],
    network: 'null',
  },
  {
    name: 'missing colon',
    text: lines('network=10.0.0.1', 'sockets="path=/run/a,port=1200"'),
    line: 1,
    fragment: "network '10.0.0.1' has no ':'; expected IP:MASK",
    ports: [1200],
    network: 'null',
  },
  {
    name: 'network over two lines',
    text: lines('network="10.0.0.1', '"', 'sockets="path=/run/a,port=1200"'),
    line: 1,
    fragment: "network '10.0.0.1?' has no ':'; expected IP:MASK",
    ports: [1200],
    network: 'null',
  },
  {
    name: 'control character in a word',
    text: lines(NET, '\x1b[2J', 'sockets="path=/run/a,port=1200"'),
    line: 2,
    fragment: "found '?[2J' where a setting was expected",
    ports: [1200],
  },
  {
    name: 'extra parts',
    text: lines('network=10.0.0.1:255.255.255.0:1', 'sockets="path=/run/a,port=1200"'),
    line: 1,
    fragment: "has 3 ':'-separated parts",
    ports: [1200],
    network: 'null',
  },
  {
    name: 'unterminated double quote',
    text: lines(NET, 'sockets="path=/run/a,port=1200"', '_x="abc', 'def'),
    line: 3,
    fragment: 'unterminated double quote (")',
    ports: [1200],
  },
  {
    name: 'unterminated single quote',
    text: lines(NET, 'sockets="path=/run/a,port=1200"', "_x='abc", 'def'),
    line: 3,
    fragment: "unterminated single quote (')",
    ports: [1200],
  },
  {
    name: 'unknown variable',
    text: lines(NET, '_sockdir=/run', 'sockets="path=${_sockdir}/a,port=1200', 'path=${_sokdir}/b,port=1201"'),
    line: 4,
    fragment: "unknown variable '_sokdir'; expected a variable assigned earlier in this file (one of: network, _sockdir)",
    ports: [1200],
  },
  {
    name: 'command substitution',
    text: lines(NET, 'sockets="path=$(cmd)/b,port=1201', 'path=/run/a,port=1200"'),
    line: 2,
    fragment: "command substitution '$('",
    ports: [1200],
  },
  {
    name: 'backticks',
    text: lines(NET, 'sockets="path=/run/a,port=1200', 'path=`cmd`,port=1201"'),
    line: 3,
    fragment: "command substitution '`'",
    ports: [1200],
  },
  {
    name: 'bare word line',
    text: lines(NET, 'echo hello', 'sockets="path=/run/a,port=1200', 'path=/run/b,port=1201"'),
    line: 2,
    fragment: "found 'echo' where a setting was expected; expected NAME=VALUE",
    ports: [1200, 1201],
  },
  {
    name: 'export',
    text: lines(NET, 'export sockets="path=/run/x,port=1"', 'sockets="path=/run/a,port=1200"'),
    line: 2,
    fragment: "found 'export'",
    ports: [1200],
  },
  {
    name: 'two commands on a line',
    text: lines(NET, '_a=b; rm -rf /', 'sockets="path=/run/a,port=1200"'),
    line: 2,
    fragment: "found ';' in the value of _a; expected one NAME=VALUE per line",
    ports: [1200],
  },
  {
    name: 'word after value',
    text: lines(NET, '_a=b && c', 'sockets="path=/run/a,port=1200"'),
    line: 2,
    fragment: "found '&&' after the value of _a",
    ports: [1200],
  },
  {
    name: 'unknown setting',
    text: lines(NET, 'sokets=x', 'sockets="path=/run/a,port=1200"'),
    line: 2,
    severity: 'warning',
    fragment: "unknown setting 'sokets'",
    ports: [1200],
  },
  { name: 'empty sockets', text: lines(NET, 'sockets='), line: 2, severity: 'warning', fragment: 'sockets is empty; expected at least one entry', ports: [] },
];

describe('malformed input', () => {
  it.each(BAD)('$name', (bad) => {
    const c = parsePassthruConfig(bad.text, 'u.conf');
    expectProblem(c.problems, 'u.conf', bad);
    expect(ports(c)).toEqual(bad.ports);
    if (bad.network === 'null') expect(c.network).toBeNull();
    else expect(c.network?.address).toBe('10.0.0.1');
  });

  it('reports an error inside a helper once, not again where it is used', () => {
    const c = parsePassthruConfig(lines(NET, '_perms="user=$USER"', 'sockets="path=/run/a,${_perms},port=1200', 'path=/run/b,port=1201"'), 'f');
    expect(c.problems.map((p) => p.line)).toEqual([2]);
    expect(ports(c)).toEqual([1201]);
  });

  it('an unterminated quote opening the sockets value leaves no sockets and says where', () => {
    const c = parsePassthruConfig(lines(NET, 'sockets="path=/run/a,port=1200', 'path=/run/b,port=1201'), 'f');
    expect(c.problems).toEqual([expect.objectContaining({ line: 2, message: expect.stringContaining('"') })]);
    expect(c.sockets).toEqual([]);
    expect(c.network?.address).toBe('10.0.0.1');
  });

  it('warns when a setting is assigned twice and uses the last value', () => {
    const c = parsePassthruConfig(lines('sockets=path=/a,port=1', 'sockets=path=/b,port=2'), 'f');
    expect(c.problems).toEqual([expect.objectContaining({ line: 2, severity: 'warning', message: expect.stringContaining('first on line 1') })]);
    expect(ports(c)).toEqual([2]);
  });

  it('allows one path on two ports', () => {
    const c = parsePassthruConfig(lines('sockets="path=/a,port=1', 'path=/a,port=2"'), 'f');
    expect(c.problems).toEqual([]);
    expect(ports(c)).toEqual([1, 2]);
  });
});

describe('inNetwork', () => {
  const net: PassthruNetwork = { address: '10.0.0.1', mask: '255.255.255.0', prefixLength: 24 };

  it.each([
    ['10.0.0.1', true],
    ['10.0.0.0', true],
    ['10.0.0.255', true],
    ['10.0.1.0', false],
    ['9.255.255.255', false],
    ['192.168.0.1', false],
    ['::ffff:10.0.0.7', true],
    ['::FFFF:10.0.0.255', true],
    ['::ffff:10.0.1.7', false],
    ['::1', false],
    ['fe80::1', false],
    ['10.0.0', false],
    ['10.0.0.256', false],
    ['', false],
  ])('%s -> %s', (ip, expected) => {
    expect(inNetwork(ip, net)).toBe(expected);
  });

  it('handles /0 and /32', () => {
    expect(inNetwork('203.0.113.9', { address: '10.0.0.1', mask: '0.0.0.0', prefixLength: 0 })).toBe(true);
    expect(inNetwork('10.0.0.1', { address: '10.0.0.1', mask: '255.255.255.255', prefixLength: 32 })).toBe(true);
    expect(inNetwork('10.0.0.2', { address: '10.0.0.1', mask: '255.255.255.255', prefixLength: 32 })).toBe(false);
  });
});
