// Logger factory shared by every agent. In the guest, records go to syslogd
// as classic BSD syslog datagrams so `logread` shows them next to the
// system's own lines; elsewhere (lab, tests) they are pino JSON on stdout.
import fs from 'node:fs';
import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { GUEST_PATHS } from './paths';
import { openDatagramSocket, type DatagramSocket } from './unix-dgram';

export type LogLevelName = 'none' | 'error' | 'warn' | 'info' | 'debug';

const PINO_LEVELS: Record<LogLevelName, LevelWithSilent> = {
  none: 'silent',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
};

const LEVEL_NAMES = Object.keys(PINO_LEVELS) as LogLevelName[];

export function parseLogLevel(s: string): LogLevelName {
  const name = s.trim().toLowerCase();
  if ((LEVEL_NAMES as string[]).includes(name)) return name as LogLevelName;
  throw new Error(`invalid log level ${JSON.stringify(s)}: expected one of ${LEVEL_NAMES.join(', ')}`);
}

interface LogOptions {
  name: string;
  level: LogLevelName;
  /** syslogd's socket; used only if it exists and is a socket. */
  syslogPath?: string;
  /** Where JSON lines go when syslog is not used. */
  stdout?: NodeJS.WritableStream;
}

/** A pino record as parsed back from its JSON line. */
type LogRecord = Record<string, unknown>;

const FACILITY_DAEMON = 3;

/** Syslog severity for a pino numeric level. */
function syslogSeverity(level: number): number {
  if (level >= 60) return 2; // fatal -> crit
  if (level >= 50) return 3; // error -> err
  if (level >= 40) return 4; // warn -> warning
  if (level >= 30) return 6; // info
  return 7; // debug, trace
}

// Keys pino adds itself; the syslog header already carries what matters.
const PINO_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function timestamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, ' ');
  return `${MONTHS[d.getMonth()]} ${day} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

// Quote only when needed so `logread | grep iface=wlan0` keeps working.
function quoteIfNeeded(s: string): string {
  return s === '' || /[\s"\\\x00-\x1f\x7f]/.test(s) ? JSON.stringify(s) : s;
}

function renderValue(key: string, value: unknown): string {
  if (typeof value === 'string') return quoteIfNeeded(value);
  if (value !== null && typeof value === 'object') {
    // pino's err serializer gives {type, message, stack}: the stack is noise in syslog.
    const message = (value as { message?: unknown }).message;
    if (key === 'err' && typeof message === 'string') return quoteIfNeeded(message);
    return JSON.stringify(value);
  }
  return String(value);
}

/** `<PRI>Mmm dd hh:mm:ss NAME[PID]: msg key=value ...` (RFC 3164, local form). */
export function formatSyslogLine(record: LogRecord, now: Date): string {
  const level = typeof record.level === 'number' ? record.level : 30;
  const pri = FACILITY_DAEMON * 8 + syslogSeverity(level);
  const name = typeof record.name === 'string' ? record.name : 'wifibox';
  const pid = typeof record.pid === 'number' ? record.pid : process.pid;
  const parts: string[] = [];
  if (typeof record.msg === 'string' && record.msg !== '') parts.push(record.msg);
  for (const [key, value] of Object.entries(record)) {
    if (!PINO_KEYS.has(key)) parts.push(`${key}=${renderValue(key, value)}`);
  }
  return `<${pri}>${timestamp(now)} ${name}[${pid}]: ${parts.join(' ')}`;
}

/** Synchronous pino destination sending one datagram per record. */
class SyslogDestination implements DestinationStream {
  constructor(
    private readonly socket: DatagramSocket,
    private readonly syslogPath: string,
  ) {}

  write(line: string): void {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return;
    }
    if (record === null || typeof record !== 'object') return;
    const rec = record as LogRecord;
    const when = typeof rec.time === 'number' ? new Date(rec.time) : new Date();
    try {
      this.socket.send(Buffer.from(formatSyslogLine(rec, when)), this.syslogPath);
    } catch {
      // syslogd restarting (ENOENT/ECONNREFUSED) or its queue full (EAGAIN):
      // drop this record; every send is a fresh sendto, so the next one retries.
    }
  }
}

function isSocket(p: string): boolean {
  try {
    return fs.statSync(p).isSocket();
  } catch {
    return false;
  }
}

export function createLogger(opts: LogOptions): Logger {
  const options = { name: opts.name, level: PINO_LEVELS[opts.level] };
  const syslogPath = opts.syslogPath ?? GUEST_PATHS.syslogSocket;
  let syslogError: unknown;
  if (opts.level !== 'none' && isSocket(syslogPath)) {
    try {
      // Unbound: it only sends, and so never holds the event loop open.
      const socket = openDatagramSocket(() => {});
      return pino(options, new SyslogDestination(socket, syslogPath));
    } catch (err) {
      syslogError = err;
    }
  }
  const logger = pino(options, opts.stdout ?? process.stdout);
  if (syslogError !== undefined) {
    logger.warn({ err: syslogError, syslogPath }, 'syslog unavailable, logging to stdout');
  }
  return logger;
}
