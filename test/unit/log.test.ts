import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, formatSyslogLine, parseLogLevel, type LogLevelName } from '../../agents/common/log';
import { openDatagramSocket, type DatagramSocket } from '../../agents/common/unix-dgram';
import { logLines } from '../helpers/log-lines';

// Built from local-time parts so the expected text does not depend on TZ.
const WHEN = new Date(2024, 0, 5, 3, 4, 5);
const STAMP = 'Jan  5 03:04:05';

const lines = logLines;

describe('parseLogLevel', () => {
  it('accepts every level name, ignoring case and surrounding space', () => {
    for (const name of ['none', 'error', 'warn', 'info', 'debug']) {
      expect(parseLogLevel(name)).toBe(name);
    }
    expect(parseLogLevel(' Debug\n')).toBe('debug');
  });

  it('names the bad value and the allowed ones', () => {
    expect(() => parseLogLevel('verbose')).toThrow('invalid log level "verbose": expected one of none, error, warn, info, debug');
  });
});

describe('formatSyslogLine', () => {
  const base = { time: 0, pid: 4242, hostname: 'wifibox', name: 'passthru', msg: 'hello' };

  it('maps each pino level to facility daemon and the syslog severity', () => {
    const pri: Array<[number, number]> = [
      [60, 26], // fatal -> crit
      [50, 27], // error -> err
      [40, 28], // warn -> warning
      [30, 30], // info
      [20, 31], // debug
      [10, 31], // trace -> debug
    ];
    for (const [level, expected] of pri) {
      expect(formatSyslogLine({ ...base, level }, WHEN)).toBe(`<${expected}>${STAMP} passthru[4242]: hello`);
    }
  });

  it('pads the day with a space and the time with zeros', () => {
    expect(formatSyslogLine({ ...base, level: 30 }, new Date(2024, 11, 25, 23, 59, 9))).toBe('<30>Dec 25 23:59:09 passthru[4242]: hello');
  });

  it('renders extra fields as key=value after the message', () => {
    const line = formatSyslogLine(
      {
        ...base,
        level: 50,
        iface: 'wlan0',
        ssid: 'My Home Net',
        empty: '',
        retries: 3,
        up: false,
        gone: null,
        addrs: ['10.0.0.1', '10.0.0.2'],
        socket: { path: '/var/run/wpa_supplicant/wlan0', mode: 0o660 },
        err: { type: 'Error', message: 'connect ENOENT /x', stack: 'Error: ...\n    at x' },
      },
      WHEN,
    );
    expect(line).toBe(
      `<27>${STAMP} passthru[4242]: hello iface=wlan0 ssid="My Home Net" empty="" retries=3 ` +
        'up=false gone=null addrs=["10.0.0.1","10.0.0.2"] ' +
        'socket={"path":"/var/run/wpa_supplicant/wlan0","mode":432} err="connect ENOENT /x"',
    );
  });

  it('quotes strings carrying control characters or quotes', () => {
    const line = formatSyslogLine({ ...base, level: 30, reply: 'OK\n', said: 'a"b' }, WHEN);
    expect(line).toBe(`<30>${STAMP} passthru[4242]: hello reply="OK\\n" said="a\\"b"`);
  });

  it('omits an absent message', () => {
    const { msg: _msg, ...noMsg } = base;
    expect(formatSyslogLine({ ...noMsg, level: 30, k: 'v' }, WHEN)).toBe(`<30>${STAMP} passthru[4242]: k=v`);
  });
});

describe('createLogger without syslog', () => {
  it('writes pino JSON lines to the given stream, synchronously', () => {
    const { out, stream } = lines();
    const log = createLogger({ name: 'init', level: 'info', syslogPath: '/nonexistent/log', stdout: stream });
    log.info({ iface: 'wlan0' }, 'up');
    log.debug('hidden at info');
    expect(out).toHaveLength(1);
    const rec = JSON.parse(out[0]!);
    expect(rec).toMatchObject({ level: 30, name: 'init', msg: 'up', iface: 'wlan0', pid: process.pid });
  });

  it('honours each level threshold', () => {
    const expected: Record<LogLevelName, string[]> = {
      none: [],
      error: ['f', 'e'],
      warn: ['f', 'e', 'w'],
      info: ['f', 'e', 'w', 'i'],
      debug: ['f', 'e', 'w', 'i', 'd'],
    };
    for (const [level, msgs] of Object.entries(expected) as Array<[LogLevelName, string[]]>) {
      const { out, stream } = lines();
      const log = createLogger({ name: 't', level, syslogPath: '/nonexistent/log', stdout: stream });
      log.fatal('f');
      log.error('e');
      log.warn('w');
      log.info('i');
      log.debug('d');
      log.trace('t');
      expect(
        out.map((l) => JSON.parse(l).msg),
        level,
      ).toEqual(msgs);
    }
  });

  it('does not use syslog when the path is not a socket', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wifibox-log-'));
    try {
      const file = path.join(dir, 'log');
      fs.writeFileSync(file, '');
      const { out, stream } = lines();
      createLogger({ name: 't', level: 'info', syslogPath: file, stdout: stream }).info('x');
      expect(out).toHaveLength(1);
      expect(fs.readFileSync(file, 'utf8')).toBe('');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('createLogger with a syslog socket', () => {
  let dir: string;
  let devLog: string;
  let syslogd: DatagramSocket;
  let received: string[];

  const startSyslogd = () => {
    syslogd = openDatagramSocket((msg) => received.push(msg.toString()));
    syslogd.bind(devLog);
  };

  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wifibox-log-'));
    devLog = path.join(dir, 'log');
    received = [];
    startSyslogd();
  });

  afterEach(() => {
    syslogd.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends each record as one BSD syslog datagram and nothing to stdout', async () => {
    const { out, stream } = lines();
    const log = createLogger({ name: 'passthru', level: 'debug', syslogPath: devLog, stdout: stream });
    log.info({ iface: 'wlan0', ssid: 'My Net' }, 'connected');
    log.debug('second');
    log.error({ err: new Error('socket gone') }, 'relay failed');
    await settle();
    expect(out).toEqual([]);
    expect(received).toHaveLength(3);
    const header = String.raw`[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d passthru\[${process.pid}\]: `;
    expect(received[0]).toMatch(new RegExp(`^<30>${header}connected iface=wlan0 ssid="My Net"$`));
    expect(received[1]).toMatch(new RegExp(`^<31>${header}second$`));
    expect(received[2]).toMatch(new RegExp(`^<27>${header}relay failed err="socket gone"$`));
  });

  it('sends nothing at level none', async () => {
    const { out, stream } = lines();
    const log = createLogger({ name: 'quiet', level: 'none', syslogPath: devLog, stdout: stream });
    log.fatal('f');
    log.error('e');
    log.info('i');
    await settle();
    expect(received).toEqual([]);
    expect(out).toEqual([]);
  });

  it('survives syslogd going away and resumes when it is back', async () => {
    const log = createLogger({ name: 'passthru', level: 'info', syslogPath: devLog });
    syslogd.close();
    expect(() => log.info('while stale')).not.toThrow(); // ECONNREFUSED
    fs.unlinkSync(devLog);
    expect(() => log.info('while missing')).not.toThrow(); // ENOENT
    startSyslogd();
    log.info('back');
    await settle();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatch(/: back$/);
  });
});
