// One socat address of forwarding.conf (`TYPE:PARAM:…,OPTION,OPTION=VALUE`), read the way socat
// reads it, for the address types and options this agent serves. Pure: a word in, a typed address
// or the reason it cannot be served out. docs/forward.md says what each type and option means.
import { parseIPv4 } from '../common/ipv4';
import { shorten } from '../common/problems';

type ListenKind = 'udp-recv' | 'udp-listen' | 'tcp-listen';
type Protocol = 'udp' | 'tcp';

/** range=: a peer matches when (peer AND mask) equals (base AND mask), as socat compares. */
interface PeerRange {
  base: number;
  mask: number;
  /** As written, for status and logs. */
  text: string;
}

export interface ListenAddress {
  role: 'listen';
  kind: ListenKind;
  protocol: Protocol;
  port: number;
  /** bind=; socat's default is every address (0.0.0.0). */
  address: string;
  range: PeerRange | null;
  fork: boolean;
  reuseAddr: boolean;
  broadcast: boolean;
  keepAlive: boolean;
  backlog: number | null;
  maxChildren: number | null;
}

export interface TargetAddress {
  role: 'target';
  protocol: Protocol;
  host: string;
  port: number;
  /** bind=: the source address (and port) toward the target. */
  bindAddress: string | null;
  bindPort: number | null;
  broadcast: boolean;
  keepAlive: boolean;
  connectTimeoutMs: number | null;
}

type SocatAddress = ListenAddress | TargetAddress;

export const SUPPORTED_FORMS = 'UDP4-RECV:PORT, UDP-LISTEN:PORT or TCP-LISTEN:PORT (with options), then UDP4:HOST:PORT or TCP4:HOST:PORT';

interface TypeSpec {
  role: 'listen' | 'target';
  protocol: Protocol;
  kind?: ListenKind;
  /** Options socat takes for this type that this agent serves. */
  options: readonly string[];
}

const LISTEN_COMMON = ['bind', 'range', 'reuseaddr'];
const UDP_RECV: TypeSpec = { role: 'listen', protocol: 'udp', kind: 'udp-recv', options: [...LISTEN_COMMON, 'broadcast'] };
const UDP_LISTEN: TypeSpec = { role: 'listen', protocol: 'udp', kind: 'udp-listen', options: [...LISTEN_COMMON, 'broadcast', 'fork', 'max-children'] };
const TCP_LISTEN: TypeSpec = {
  role: 'listen',
  protocol: 'tcp',
  kind: 'tcp-listen',
  options: [...LISTEN_COMMON, 'fork', 'max-children', 'backlog', 'keepalive', 'nodelay'],
};
const UDP_TARGET: TypeSpec = { role: 'target', protocol: 'udp', options: ['bind', 'broadcast'] };
const TCP_TARGET: TypeSpec = { role: 'target', protocol: 'tcp', options: ['bind', 'keepalive', 'nodelay', 'connect-timeout'] };

// socat's names (case does not matter to socat), with its short forms.
const TYPES: Record<string, TypeSpec> = {
  'UDP4-RECV': UDP_RECV,
  'UDP-RECV': UDP_RECV,
  'UDP4-LISTEN': UDP_LISTEN,
  'UDP-LISTEN': UDP_LISTEN,
  'UDP4-L': UDP_LISTEN,
  'UDP-L': UDP_LISTEN,
  'TCP4-LISTEN': TCP_LISTEN,
  'TCP-LISTEN': TCP_LISTEN,
  'TCP4-L': TCP_LISTEN,
  'TCP-L': TCP_LISTEN,
  UDP4: UDP_TARGET,
  UDP: UDP_TARGET,
  'UDP4-CONNECT': UDP_TARGET,
  'UDP-CONNECT': UDP_TARGET,
  TCP4: TCP_TARGET,
  TCP: TCP_TARGET,
  'TCP4-CONNECT': TCP_TARGET,
  'TCP-CONNECT': TCP_TARGET,
};

// socat's other names for the same options.
const ALIASES: Record<string, string> = { 'so-reuseaddr': 'reuseaddr', 'so-broadcast': 'broadcast', 'so-keepalive': 'keepalive', 'tcp-nodelay': 'nodelay' };
const FLAGS = new Set(['fork', 'reuseaddr', 'broadcast', 'keepalive', 'nodelay']);

/** Why a type is refused: the ones users meet in socat examples get their own words. */
function unsupportedType(type: string): string {
  if (/^(EXEC|SYSTEM)$/.test(type)) return `address type ${type} runs a program, which this agent never does`;
  if (/^OPENSSL/.test(type)) return `address type ${type} (TLS) is not supported`;
  if (/^(UDP6|TCP6|IP6)/.test(type)) return `address type ${type} is IPv6, which this agent does not forward`;
  if (/RECVFROM|SENDTO|DATAGRAM/.test(type)) return `address type ${type} is not supported (use UDP-LISTEN,fork for one association per peer)`;
  return `address type '${shorten(type)}' is not supported`;
}

function parsePort(s: string): number | null {
  if (!/^[0-9]{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : null;
}

/** range=ADDRESS/BITS or range=ADDRESS:MASK, as socat writes IPv4 ranges. */
export function parseRange(text: string): PeerRange | null {
  const slash = text.split('/');
  if (slash.length === 2) {
    const base = parseIPv4(slash[0] as string);
    const bits = slash[1] as string;
    if (base === null || !/^[0-9]{1,2}$/.test(bits) || Number(bits) > 32) return null;
    return { base, mask: 2 ** 32 - 2 ** (32 - Number(bits)), text };
  }
  const colon = text.split(':');
  if (colon.length !== 2) return null;
  const base = parseIPv4(colon[0] as string);
  const mask = parseIPv4(colon[1] as string);
  return base === null || mask === null ? null : { base, mask, text };
}

/** Whether a peer (as Node reports it, maybe IPv4-mapped) is inside a range. */
export function inRange(peer: string, range: PeerRange): boolean {
  const ip = parseIPv4(peer.startsWith('::ffff:') ? peer.slice(7) : peer);
  // 32-bit operators are safe here: only whether any bit under the mask differs matters.
  return ip !== null && ((ip ^ range.base) & range.mask) === 0;
}

type Result = { ok: SocatAddress } | { error: string };

/** Reads one address word; the error says what was found and what was expected. */
export function parseAddress(word: string): Result {
  const [head = '', ...optionTexts] = word.split(',');
  const [rawType = '', ...params] = head.split(':');
  const type = rawType.toUpperCase();
  const spec = TYPES[type];
  if (!spec) return { error: `${unsupportedType(type || word)}; expected ${SUPPORTED_FORMS}` };
  const options = readOptions(word, type, spec, optionTexts);
  if (typeof options === 'string') return { error: options };
  const flags = readFlags(options);
  if (typeof flags === 'string') return { error: flags };
  const split: AddressWord = { type, spec, head, params, options, flag: (name: string) => flags.get(name) ?? false };
  return spec.role === 'listen' ? listenAddress(split) : targetAddress(split);
}

/** One address word, split: its type, parameters and options. */
interface AddressWord {
  type: string;
  spec: TypeSpec;
  head: string;
  params: string[];
  options: Map<string, string | null>;
  flag(name: string): boolean;
}

/** The options after the commas, by their full name; a string says what is wrong. */
function readOptions(word: string, type: string, spec: TypeSpec, optionTexts: string[]): Map<string, string | null> | string {
  const options = new Map<string, string | null>();
  for (const o of optionTexts) {
    const eq = o.indexOf('=');
    const rawName = (eq < 0 ? o : o.slice(0, eq)).toLowerCase();
    const name = ALIASES[rawName] ?? rawName;
    if (name === '') return `empty option in '${shorten(word)}'; expected OPTION or OPTION=VALUE between commas`;
    if (!spec.options.includes(name)) return `option '${shorten(rawName)}' is not supported on ${type}; expected one of ${spec.options.join(', ')}`;
    if (options.has(name)) return `option '${name}' is given twice on ${type}; expected it once`;
    options.set(name, eq < 0 ? null : o.slice(eq + 1));
  }
  return options;
}

/** The boolean options, on or off; a string says which other option lacks its value, or which flag is neither. */
function readFlags(options: Map<string, string | null>): Map<string, boolean> | string {
  const flags = new Map<string, boolean>();
  for (const [name, value] of options) {
    if (!FLAGS.has(name)) {
      if (value === null || value === '') return `option '${name}' needs a value; expected ${name}=VALUE`;
      continue;
    }
    // socat's boolean options also take =1 and =0.
    if (value !== null && value !== '0' && value !== '1')
      return `option '${name}=${shorten(value)}' is not on or off; expected ${name}, ${name}=1 or ${name}=0`;
    flags.set(name, value !== '0');
  }
  return flags;
}

function listenAddress({ type, spec, head, params, options, flag }: AddressWord): Result {
  if (params.length !== 1) return { error: `${type} takes one parameter, found '${shorten(head)}'; expected ${type}:PORT` };
  const port = parsePort(params[0] as string);
  if (port === null) return { error: `port '${shorten(params[0] as string)}' of ${type} is not a number from 1 to 65535; expected ${type}:PORT` };
  const bind = options.get('bind');
  if (bind !== undefined && bind !== null && parseIPv4(bind) === null) {
    return { error: `bind=${shorten(bind)} on ${type} is not an IPv4 address; expected bind=ADDRESS (the port is ${type}'s own)` };
  }
  const rangeText = options.get('range');
  const range = rangeText === undefined || rangeText === null ? null : parseRange(rangeText);
  if (rangeText && !range)
    return { error: `range=${shorten(rangeText)} is not an IPv4 range; expected range=ADDRESS/BITS or range=ADDRESS:MASK, e.g. 192.168.0.0/24` };
  const backlog = counted(options.get('backlog'), 'backlog', 65535);
  const maxChildren = counted(options.get('max-children'), 'max-children', 4096);
  if (typeof backlog === 'string') return { error: backlog };
  if (typeof maxChildren === 'string') return { error: maxChildren };
  return {
    ok: {
      role: 'listen',
      kind: spec.kind as ListenKind,
      protocol: spec.protocol,
      port,
      address: bind ?? '0.0.0.0',
      range,
      fork: flag('fork'),
      reuseAddr: flag('reuseaddr'),
      broadcast: flag('broadcast'),
      keepAlive: flag('keepalive'),
      backlog,
      maxChildren,
    },
  };
}

function targetAddress({ type, spec, head, params, options, flag }: AddressWord): Result {
  if (params.length !== 2) return { error: `${type} takes two parameters, found '${shorten(head)}'; expected ${type}:HOST:PORT` };
  const [host, portText] = params as [string, string];
  if (parseIPv4(host) === null)
    return {
      error: `host '${shorten(host)}' of ${type} is not an IPv4 address (names are not looked up); expected ${type}:ADDRESS:PORT, e.g. ${type}:10.0.0.2:${portText || '11223'}`,
    };
  const port = parsePort(portText);
  if (port === null) return { error: `port '${shorten(portText)}' of ${type} is not a number from 1 to 65535; expected ${type}:HOST:PORT` };
  const source = bindSource(type, options.get('bind'));
  if (typeof source === 'string') return { error: source };
  const timeout = options.get('connect-timeout');
  const seconds = timeout === undefined || timeout === null ? null : parseSeconds(timeout);
  if (timeout && seconds === null) return { error: `connect-timeout=${shorten(timeout)} is not a time; expected a number of seconds from 0.001 to 3600` };
  return {
    ok: {
      role: 'target',
      protocol: spec.protocol,
      host,
      port,
      ...source,
      broadcast: flag('broadcast'),
      keepAlive: flag('keepalive'),
      connectTimeoutMs: seconds === null ? null : seconds * 1000,
    },
  };
}

/** A target's bind=ADDRESS[:PORT], its source; a string says what is wrong. */
function bindSource(type: string, bind: string | null | undefined): { bindAddress: string | null; bindPort: number | null } | string {
  if (!bind) return { bindAddress: null, bindPort: null };
  const [a = '', p, ...more] = bind.split(':');
  const bindPort = p === undefined ? null : parsePort(p);
  if (parseIPv4(a) === null || more.length || (p !== undefined && bindPort === null)) {
    return `bind=${shorten(bind)} on ${type} is not an IPv4 source; expected bind=ADDRESS or bind=ADDRESS:PORT`;
  }
  return { bindAddress: a, bindPort };
}

/** A whole number option (backlog, max-children), null when absent; a string says what is wrong. */
function counted(value: string | null | undefined, name: string, max: number): number | null | string {
  if (value === undefined || value === null) return null;
  const n = /^[0-9]{1,6}$/.test(value) ? Number(value) : NaN;
  return n >= 1 && n <= max ? n : `${name}=${shorten(value)} is out of range; expected a whole number from 1 to ${max}`;
}

/** socat's timeval: decimal seconds, e.g. 0.5 or 600. */
export function parseSeconds(s: string): number | null {
  if (!/^([0-9]{1,6})(\.[0-9]{1,6})?$|^\.[0-9]{1,6}$/.test(s)) return null;
  const n = Number(s);
  return n >= 0.001 && n <= 3600 ? n : null;
}
