import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FIXTURES, UPSTREAM } from '../helpers/paths';
import { buildBundle, BundleWriteError, defaultBundleName, fsBundleSystem, writeBundle, type BundleInput, type BundleSystem } from '../../agents/diag/bundle';
import { REDACTED, redactSecrets } from '../../agents/diag/redact';

import { expectTarExtractsBundle } from '../helpers/tar-extract';
import { tempDirEach } from '../helpers/temp-dir';
import {
  NOW,
  TOP,
  readTar,
  members,
  byName,
  fakeSystem,
  HEX_PSK,
  WPA_SUPPLICANT_CONF,
  HOSTAPD_CONF,
  REPORT_TEXT,
  SECRETS,
  KEPT,
  FILES,
  plantedInput,
} from '../helpers/diag-bundle-fixtures';

describe('buildBundle: the archive', () => {
  const input: BundleInput = {
    report: 'wifibox-diag: ok\n',
    json: { health: 'ok', problems: [] },
    now: NOW,
    files: [
      { name: 'interfaces.conf', path: '/media/etc/interfaces.conf' },
      { name: 'udhcpd.conf', path: '/media/etc/udhcpd.conf' },
      { name: 'radvd.conf', path: '/media/etc/radvd.conf' },
    ],
  };
  const sys = fakeSystem({
    '/media/etc/interfaces.conf': 'iface eth0 inet static\n  address 10.0.0.1\n',
    '/media/etc/udhcpd.conf': 'start 10.0.0.2\nend 10.0.0.254\n',
  });

  it('holds report.txt, report.json, the files under files/, and missing.txt, all under one folder', () => {
    const ms = members(buildBundle(input, sys));
    expect(ms.map((m) => m.name)).toEqual([
      `${TOP}/report.txt`,
      `${TOP}/report.json`,
      `${TOP}/files/interfaces.conf`,
      `${TOP}/files/udhcpd.conf`,
      `${TOP}/missing.txt`,
    ]);
    const text = byName(ms);
    expect(text.get('report.txt')).toBe('wifibox-diag: ok\n');
    expect(text.get('report.json')).toBe(`${JSON.stringify(input.json, null, 2)}\n`);
    expect(text.get('files/interfaces.conf')).toBe('iface eth0 inet static\n  address 10.0.0.1\n');
    expect(text.get('files/udhcpd.conf')).toBe('start 10.0.0.2\nend 10.0.0.254\n');
    expect(text.get('missing.txt')).toBe('files/radvd.conf\t/media/etc/radvd.conf\tcould not be read\n');
    for (const m of ms) {
      expect(m).toMatchObject({ mode: 0o644, uid: 0, gid: 0, type: '0', mtime: NOW.getTime() / 1000 });
    }
  });

  it('has no missing.txt when every file was read, and reports what was missing', () => {
    const all = { ...input, files: input.files.slice(0, 2) };
    expect(members(buildBundle(all, sys)).map((m) => m.name)).not.toContain(`${TOP}/missing.txt`);
    const result = writeBundle('/out/b.tar.gz', input, sys);
    expect(result).toEqual({ file: '/out/b.tar.gz', bytes: sys.written.get('/out/b.tar.gz')!.length, redacted: 0, missing: ['/media/etc/radvd.conf'] });
  });

  it('a read that throws is a missing file, not a failed bundle', () => {
    const throwing: BundleSystem = {
      read: () => {
        throw new Error('EIO');
      },
      writeAtomic: () => undefined,
    };
    const text = byName(members(buildBundle({ ...input, files: input.files.slice(0, 1) }, throwing)));
    expect(text.get('missing.txt')).toContain('/media/etc/interfaces.conf');
  });

  it('is the same bytes for the same input', () => {
    expect(buildBundle(input, sys).equals(buildBundle(input, sys))).toBe(true);
  });

  it('keeps member names safe and within ustar limits (prefix field for long paths)', () => {
    const long = `${'very-long-name-'.repeat(8)}.conf`;
    const names = [
      '../../etc/shadow',
      '/abs/path.conf',
      `a/b/c/d/${long}`,
      long,
      `${'x'.repeat(45)}/${'y'.repeat(45)}/${long}`,
      'same.conf',
      'same.conf',
      'wéird name?.conf',
    ];
    const files = names.map((name, i) => ({ name, path: `/f${i}` }));
    const fs = fakeSystem(Object.fromEntries(files.map((f, i) => [f.path, `content ${i}\n`])));
    const ms = members(buildBundle({ report: '', json: null, now: NOW, files }, fs));
    const fileMembers = ms.filter((m) => m.name.startsWith(`${TOP}/files/`));
    expect(fileMembers).toHaveLength(names.length);
    for (const m of fileMembers) {
      expect(m.name.split('/')).not.toContain('..');
      expect(m.name).toMatch(/^[A-Za-z0-9._@+,=~/-]+$/);
      expect(Buffer.byteLength(m.name)).toBeLessThanOrEqual(255);
    }
    expect(new Set(fileMembers.map((m) => m.name)).size).toBe(names.length);
    expect(fileMembers.map((m) => m.data.toString())).toEqual(names.map((_, i) => `content ${i}\n`));
    expect(fileMembers[0]!.name).toBe(`${TOP}/files/etc/shadow`);
    expect(fileMembers.some((m) => m.name.length > 100)).toBe(true); // the prefix field was used
    expect(byName(ms).get('report.json')).toBe('null\n');
  });

  it('passes bytes that are not UTF-8 through unchanged (binary lease files)', () => {
    const bytes = Buffer.from([0x00, 0x11, 0x22, 0xff, 0xfe, 0x80, 0x0a, 0x41, 0xc3, 0x28]);
    const ms = members(buildBundle({ report: '', json: {}, now: NOW, files: [{ name: 'udhcpd.leases', path: '/l' }] }, fakeSystem({ '/l': bytes })));
    expect(ms.find((m) => m.name.endsWith('/udhcpd.leases'))!.data.equals(bytes)).toBe(true);
  });

  // GNU tar is part of every Debian system; busybox tar, as the guest has it, is checked by the
  // lab tests (test/lab/diag-bundle-tar.test.ts), where the lab's packages are installed.
  it('extracts with tar to the same files', () => {
    expectTarExtractsBundle(['tar']);
  });
});

describe('buildBundle: secrets', () => {
  const gz = buildBundle(plantedInput(), fakeSystem(FILES));
  const tar = gunzipSync(gz);
  const ms = readTar(tar);

  it('no planted secret survives anywhere in the archive', () => {
    const whole = tar.toString('latin1');
    for (const secret of SECRETS) {
      expect(whole, secret).not.toContain(secret);
      expect(gz.includes(Buffer.from(secret)), secret).toBe(false);
      for (const m of ms) expect(m.data.toString('utf8'), `${secret} in ${m.name}`).not.toContain(secret);
    }
  });

  it('keeps keys, structure and everything that is not a secret', () => {
    const all = ms.map((m) => m.data.toString('utf8')).join('\n');
    for (const kept of KEPT) expect(all, kept).toContain(kept);
    // Every line is still there: only values changed.
    const text = byName(ms);
    expect(text.get('files/wpa_supplicant.conf')!.split('\n')).toHaveLength(WPA_SUPPLICANT_CONF.split('\n').length);
    expect(text.get('files/hostapd.conf')!.split('\n')).toHaveLength(HOSTAPD_CONF.split('\n').length);
  });

  it('report.json is still valid JSON with the secrets replaced', () => {
    // The planted report (plantedInput), not one wifibox-diag made: only what is checked here.
    const json = JSON.parse(byName(ms).get('report.json')!) as { wireless: unknown; problems: { evidence: unknown }[] };
    expect(json.wireless).toEqual({
      ssid: 'HomeNet',
      key_mgmt: 'WPA2-PSK',
      config: { psk: REDACTED, sae_password: REDACTED, ap_pin: REDACTED, identity: 'alice@example.edu', password: null },
      passwords: REDACTED,
    });
    expect(json.problems[0]?.evidence).toEqual([`wpa_supplicant.conf:8: psk="${REDACTED}"`, `hostapd.conf:11: wpa_passphrase=${REDACTED}`]);
  });

  it('counts what it replaced', () => {
    const result = writeBundle('/b.tar.gz', plantedInput(), fakeSystem(FILES));
    expect(result.redacted).toBeGreaterThanOrEqual(SECRETS.length);
    expect(result.missing).toEqual([]);
  });

  it('leaves every upstream sample (and the test fixtures) byte for byte as it was', () => {
    const samples: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else samples.push(join(d, e.name));
      }
    };
    walk(UPSTREAM);
    walk(FIXTURES);
    expect(samples.length).toBeGreaterThan(20);
    const files = samples.map((path, i) => ({ name: `${i}/${path.slice(path.lastIndexOf('/') + 1).replace(/\.sample$/, '')}`, path }));
    const real = { read: (p: string) => readFileSync(p), writeAtomic: () => undefined };
    const bundled = members(buildBundle({ report: '', json: {}, now: NOW, files }, real));
    for (const f of files) {
      const original = readFileSync(f.path);
      expect(redactSecrets(original.toString('utf8'), f.name), f.path).toEqual({ text: original.toString('utf8'), count: 0 });
      expect(bundled.find((m) => m.name === `${TOP}/files/${f.name}`)!.data.equals(original), f.path).toBe(true);
    }
  });
});

describe('redactSecrets: the rules', () => {
  const r = (text: string, name = 'x.conf'): string => redactSecrets(text, name).text;

  it.each([
    // [input, expected]
    ['psk="abc def"', `psk="${REDACTED}"`],
    ['psk=' + HEX_PSK, `psk=${REDACTED}`],
    ['  #  psk = "x"', `  #  psk = "${REDACTED}"`],
    ['\tpsk="a"b"c"', `\tpsk="${REDACTED}"`], // wpa_supplicant reads to the last quote
    ['network={ ssid="x" psk="abc" }', `network={ ssid="x" psk="${REDACTED}" }`],
    ['wpa_passphrase=has # and spaces ', `wpa_passphrase=${REDACTED} `],
    ['Private_Key_Passwd="p"', `Private_Key_Passwd="${REDACTED}"`],
    ['wep_key3=0102030405', `wep_key3=${REDACTED}`],
    ['radius_server_secret: s', `radius_server_secret: ${REDACTED}`],
    ['r1kh=02:01:02:03:04:05 02:11:22:33:44:55 0f0e0d0c', `r1kh=02:01:02:03:04:05 02:11:22:33:44:55 ${REDACTED}`],
    ['    wpa-psk  ifupdown-pass', `    wpa-psk  ${REDACTED}`],
    ['wpa_passphrase secret words', `wpa_passphrase ${REDACTED}`],
    ['x.conf:3: psk "q"', `x.conf:3: psk "${REDACTED}"`],
    ['wpa_cli -i wlan0 set_network 0 psk \'"q"\'', `wpa_cli -i wlan0 set_network 0 psk '${REDACTED}'`],
    ['hostapd_cli set wpa_passphrase q1', `hostapd_cli set wpa_passphrase ${REDACTED}`],
    ['{"psk":"q","n":1}', `{"psk":"${REDACTED}","n":1}`],
    ['{"pin": 1234, "password": null}', `{"pin": "${REDACTED}", "password": null}`],
    ['{"psk": ["a", {"wpa_psk": "b"}], "n": 1}', `{"psk": ["a", {"wpa_psk": "${REDACTED}"}], "n": 1}`], // stays valid JSON
    ['{"line": "psk=\\"q\\""}', `{"line": "psk=\\"${REDACTED}\\""}`],
    ["{'psk': 'q', 'ssid': 'x'}", `{'psk': '${REDACTED}', 'ssid': 'x'}`],
    ['["-o", "wpa_passphrase=q", "-B"]', `["-o", "wpa_passphrase=${REDACTED}", "-B"]`],
    ['--password=q --verbose', `--password=${REDACTED}`],
    ['see ftp://me:p:w@h.example/x', `see ftp://me:${REDACTED}@h.example/x`],
    ['WPA: PTK - hexdump(len=48): 01 02', `WPA: PTK - hexdump(len=48): ${REDACTED}`],
    ['-----BEGIN PRIVATE KEY-----\nMIIE\nAbC=\n-----END PRIVATE KEY-----', `-----BEGIN PRIVATE KEY-----\n${REDACTED}\n-----END PRIVATE KEY-----`],
    ['psk="x"\r\nssid="y"\r\n', `psk="${REDACTED}"\r\nssid="y"\r\n`],
    // forwarding.conf: socat's PROXY address carries its user and password.
    ['TCP4-LISTEN:3128,fork PROXY:10.0.0.2:example.org:443,proxyauth=alice:pw', `TCP4-LISTEN:3128,fork PROXY:10.0.0.2:example.org:443,proxyauth=${REDACTED}`],
    // The daemons' own debug lines quote each control command, PINs and all.
    ["wlan0: Control interface command 'WPS_PIN any 12345670'", `wlan0: Control interface command 'WPS_PIN ${REDACTED}`],
    ['CTRL_IFACE: wps_reg 02:00:00:00:00:01 12345670', `CTRL_IFACE: wps_reg ${REDACTED}`],
    ['> p2p_connect 02:00:00:00:00:02 12345670 keypad', `> p2p_connect ${REDACTED}`],
  ])('%s', (input, expected) => {
    expect(r(input)).toBe(expected);
  });

  it.each([
    'key_mgmt=WPA-PSK',
    'wpa_key_mgmt=WPA-PSK WPA-PSK-SHA256 SAE',
    'psk_file=/etc/hostapd/psk',
    'wpa_psk_file=/etc/hostapd/hostapd.wpa_psk',
    'sae_password_file=/etc/hostapd/sae',
    'wpa_psk_radius=2',
    'ft_psk_generate_local=1',
    'wep_default_key=0',
    'identity="bob@example.com"',
    'anonymous_identity="anon@example.com"',
    'ca_cert="/etc/cert/ca.pem"',
    'private_key="/etc/cert/user.key"',
    'ssid="psk"',
    'psk=',
    'WPA: PMK - hexdump(len=32): [REMOVED]',
    'Security: WPA2-PSK (pre-shared key)',
    // dumpleases and scan results: lines that start with a MAC, but not a psk file
    'Mac Address       IP Address      Host Name           Expires in\n00:11:22:33:44:55 10.0.0.2        wifibox-host        9 days 23:59:58',
    'bssid / frequency / signal level / flags / ssid\n00:11:22:33:44:55\t2437\t-51\t[WPA2-PSK-CCMP][ESS]\tHomeNet',
    'https://mirror.example.org:8443/alpine',
  ])('keeps %s', (input) => {
    expect(redactSecrets(input, 'report.txt')).toEqual({ text: input, count: 0 });
  });

  it('hostapd side files by name: every line is a secret', () => {
    expect(r('10.1.2.3\tshared secret\n192.168.1.0/24 other\n', 'hostapd.radius_clients')).toBe(`10.1.2.3\t${REDACTED}\n192.168.1.0/24 ${REDACTED}\n`);
    expect(r('pw1|mac=00:11:22:33:44:55|id=a\npw2|pk=abc|id=b\n', 'hostapd.sae_password')).toBe(
      `${REDACTED}|mac=00:11:22:33:44:55|id=a\n${REDACTED}|pk=${REDACTED}|id=b\n`,
    );
    // A psk file under any name is recognised by its lines.
    expect(r('00:00:00:00:00:00 shared-pass\n', 'clients.list')).toBe(`00:00:00:00:00:00 ${REDACTED}\n`);
  });

  it('is idempotent', () => {
    for (const [name, text] of Object.entries({ ...FILES, 'report.txt': REPORT_TEXT })) {
      const once = redactSecrets(text, name).text;
      expect(redactSecrets(once, name), name).toEqual({ text: once, count: 0 });
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('writeBundle: atomic', () => {
  const dir = tempDirEach('diag-bundle-');

  it('writes the whole archive and leaves no temp file', () => {
    const file = join(dir(), defaultBundleName(NOW));
    const result = writeBundle(file, plantedInput(), realWithFakeReads());
    expect(result.file).toBe(file);
    expect(readdirSync(dir())).toEqual(['wifibox-diag-20261126-150102.tar.gz']);
    const data = readFileSync(file);
    expect(data.length).toBe(result.bytes);
    expect(readTar(gunzipSync(data)).map((m) => m.name)).toHaveLength(2 + Object.keys(FILES).length);
  });

  it('a write that fails half way leaves nothing at the target', () => {
    const store = new Map<string, Buffer>();
    const crashing: BundleSystem = {
      read: (p) => (p in FILES ? Buffer.from(FILES[p]!) : null),
      writeAtomic(path, data) {
        store.set(`${path}.tmp-1`, data.subarray(0, data.length >> 1));
        throw new Error('ENOSPC: no space left on device');
      },
    };
    let caught: unknown;
    try {
      writeBundle('/data/bundle.tar.gz', plantedInput(), crashing);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BundleWriteError);
    expect((caught as BundleWriteError).file).toBe('/data/bundle.tar.gz');
    expect((caught as Error).message).toBe('cannot write /data/bundle.tar.gz: ENOSPC: no space left on device');
    expect(store.has('/data/bundle.tar.gz')).toBe(false);
  });

  it('the real rename failing removes the temp file and leaves the target as it was', () => {
    const target = join(dir(), 'bundle.tar.gz');
    mkdirSync(join(target, 'in-the-way'), { recursive: true }); // a folder cannot be replaced by a file
    expect(() => writeBundle(target, plantedInput(), realWithFakeReads())).toThrow(BundleWriteError);
    expect(readdirSync(dir())).toEqual(['bundle.tar.gz']);
    expect(readdirSync(target)).toEqual(['in-the-way']);
  });

  it('an unwritable place creates nothing', () => {
    const target = join(dir(), 'no-such-folder', 'bundle.tar.gz');
    expect(() => writeBundle(target, plantedInput(), realWithFakeReads())).toThrow(/cannot write .*no-such-folder/);
    expect(existsSync(join(dir(), 'no-such-folder'))).toBe(false);
    expect(readdirSync(dir())).toEqual([]);
  });
});

/** The real writer with the planted files as what is read. */
function realWithFakeReads(): BundleSystem {
  return { read: fakeSystem(FILES).read, writeAtomic: fsBundleSystem.writeAtomic };
}

describe('defaultBundleName', () => {
  it('is the UTC time, sortable', () => {
    expect(defaultBundleName(NOW)).toBe('wifibox-diag-20261126-150102.tar.gz');
    expect(defaultBundleName(new Date(Date.UTC(2027, 0, 2, 3, 4, 5)))).toBe('wifibox-diag-20270102-030405.tar.gz');
  });
});

// ---------------------------------------------------------------------------------------------
// Seeded fuzz: every secret key in every spelling the formats allow; the value must never survive.

/** xorshift32: the same cases on every run, a failure names its seed case. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const FUZZ_KEYS = [
  'psk',
  'password',
  'private_key_passwd',
  'private_key2_passwd',
  'wep_key0',
  'wep_key1',
  'wep_key2',
  'wep_key3',
  'sae_password',
  'pin',
  'wpa_passphrase',
  'wpa_psk',
  'auth_server_shared_secret',
  'acct_server_shared_secret',
  'radius_server_secret',
  'ap_pin',
  'new_password',
  'eap_password',
  'mesh_passphrase',
  'wpa-psk',
];
const VALUE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 !#$%&()*+,-./:;=?@[]^_{|}~"\'\\';
const URL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&()*+,;=:%';

interface FuzzCase {
  name: string;
  text: string;
  value: string;
  key: string;
}

function fuzzCases(seed: number, count: number): FuzzCase[] {
  const rand = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const word = (chars: string, min: number, max: number): string =>
    Array.from({ length: min + Math.floor(rand() * (max - min + 1)) }, () => pick([...chars])).join('');
  const spaces = (): string => pick(['', '', ' ', '  ', '\t', ' \t ']);
  const cases: FuzzCase[] = [];
  for (let i = 0; cases.length < count; i++) {
    const baseKey = FUZZ_KEYS[i % FUZZ_KEYS.length]!;
    const key = pick([baseKey, baseKey, baseKey.toUpperCase(), baseKey[0]!.toUpperCase() + baseKey.slice(1)]);
    // `Zq` + a seed number keep every value distinct from all other text.
    const value = `Zq${i}${word(VALUE_CHARS, 6, 40)}`;
    const indent = pick(['', '\t', '    ']);
    const comment = pick(['', '', '#', '# ', '#\t']);
    const quote = pick(['', '"', "'"]);
    let line: string;
    let name = pick(['wpa_supplicant.conf', 'hostapd.conf', 'report.txt', 'interfaces']);
    let planted = value;
    switch (pick(['assign', 'assign', 'assign', 'space', 'json', 'json-line', 'command', 'url', 'psk-file'])) {
      case 'assign':
        line = `${indent}${comment}${key}${spaces()}${pick(['=', '=', ':'])}${spaces()}${quote}${value}${quote}${spaces()}`;
        break;
      case 'space':
        line = `${indent}${comment}${key}${pick([' ', '\t', '  '])}${quote}${value}${quote}`;
        break;
      case 'json':
        line = pick([`{"level":30,${JSON.stringify(key)}:${JSON.stringify(value)},"ok":true}`, `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`]);
        name = 'report.json';
        break;
      case 'json-line':
        line = `  "evidence": ${JSON.stringify(`${name}:${1 + Math.floor(rand() * 99)}: ${key}=${quote}${value}${quote}`)},`;
        name = 'report.json';
        break;
      case 'command':
        line = `${pick(['', 'wpa_cli -i wlan0 ', '> '])}set_network ${Math.floor(rand() * 9)} ${key} ${pick(['"', '\'"', ''])}${value}${pick(['"', '"\'', ''])}`;
        break;
      case 'url':
        planted = `Zq${i}${word(URL_CHARS, 6, 30)}`;
        line = `${indent}${pick(['url', 'mirror', 'proxy'])}=${pick(['https', 'http', 'ftp', 'git+ssh'])}://${word('abcdefgh', 1, 8)}:${planted}@host${i}.example.org${pick(['', '/', '/alpine/v3', ':8080/x'])}`;
        break;
      default: {
        planted = `Zq${i}${word(VALUE_CHARS.replace(/[\\"']/g, ''), 6, 50)}`;
        const mac = Array.from({ length: 6 }, () =>
          Math.floor(rand() * 256)
            .toString(16)
            .padStart(2, '0'),
        ).join(':');
        line = `${comment}${pick(['', 'keyid=k1 ', 'vlanid=7 ', 'wps=1 '])}${mac}${pick([' ', '\t'])}${planted}`;
        name = pick(['hostapd.wpa_psk', 'wpa_psk']);
      }
    }
    const eol = pick(['\n', '\r\n']);
    const text = pick([
      `${line}${eol}`,
      `ctrl_interface=/var/run/wpa_supplicant${eol}network={${eol}\tssid="Net${i}"${eol}\tkey_mgmt=WPA-PSK${eol}${line}${eol}}${eol}`,
      `interface=wlan0${eol}wpa_key_mgmt=WPA-PSK${eol}${line}${eol}channel=6${eol}`,
    ]);
    if (name.includes('psk') && !text.startsWith(line)) continue; // a psk file holds psk lines only
    cases.push({ name, text, value: planted, key });
  }
  return cases;
}

describe('redactSecrets: seeded fuzz', () => {
  const cases = fuzzCases(20261126, 600);

  it('generates enough distinct cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(500);
    expect(new Set(cases.map((c) => c.value)).size).toBe(cases.length);
  });

  it('no planted value, nor any 6-character piece of it, survives', () => {
    const failures: string[] = [];
    for (const c of cases) {
      const out = redactSecrets(c.text, c.name);
      const rest = c.text.replace(c.value, '');
      const leaked = [c.value, ...Array.from({ length: c.value.length - 5 }, (_, k) => c.value.slice(k, k + 6))].filter(
        (piece) => out.text.includes(piece) && !rest.includes(piece) && !REDACTED.includes(piece),
      );
      if (leaked.length > 0 || out.count < 1) failures.push(`${c.name}: ${JSON.stringify(c.text)} -> ${JSON.stringify(out.text)}`);
      // Structure kept: the key is still there, the line count is the same.
      if (!c.name.includes('psk') && !out.text.includes(c.key) && !c.text.includes('://')) failures.push(`key lost: ${JSON.stringify(out.text)}`);
      if (out.text.split('\n').length !== c.text.split('\n').length) failures.push(`lines changed: ${JSON.stringify(out.text)}`);
      if (c.name === 'report.json' && c.text.startsWith('{')) JSON.parse(out.text);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('none survives a bundle either', () => {
    const files = cases.map((c, i) => ({ name: `${i}/${c.name}`, path: `/fuzz/${i}` }));
    const fs = fakeSystem(Object.fromEntries(cases.map((c, i) => [`/fuzz/${i}`, c.text])));
    const tar = gunzipSync(buildBundle({ report: '', json: {}, now: NOW, files }, fs)).toString('utf8');
    for (const c of cases) expect(tar.includes(c.value), c.value).toBe(false);
  });
});
