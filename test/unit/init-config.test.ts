import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UPSTREAM } from '../helpers/paths';
import { GUEST_PATHS } from '../../agents/common/paths';
import type { ConfigProblem } from '../../agents/common/problems';
import { parsePassthruConfig } from '../../agents/passthru/config';
import { expectProblem, lines, type BadInput } from '../helpers/config-problems';
import {
  checkIptablesRestore,
  hostnameFault,
  loadGuestConfig,
  parseHostname,
  parseInterfaces,
  parseRadvdTemplate,
  parseSysctl,
  parseUdhcpdTemplate,
  renderRadvd,
  renderUdhcpd,
  scope,
  sysctlPath,
  type GuestConfigFiles,
  type RadvdTemplate,
  type UdhcpdTemplate,
} from '../../agents/init/config';

const sample = (rel: string): string => readFileSync(join(UPSTREAM, rel), 'utf8');

const STATION = 'wpa_supplicant/appliance';
const AP = 'hostapd/appliance';
const STATION6 = 'optional/ipv6/wpa_supplicant/appliance';
const AP6 = 'optional/ipv6/hostapd/appliance';

/**
 * The guest's /media/etc as the host would fill it: each folder copied over the
 * one before (the IPv6 overlay over its flavor), `.sample` dropped from names.
 */
function sampleTree(...folders: string[]): GuestConfigFiles {
  const toHost = (p: string): string[] => {
    const rel = relative(GUEST_PATHS.confDir, p);
    return [...folders].reverse().map((f) => join(UPSTREAM, f, rel));
  };
  return {
    read(p) {
      for (const f of toHost(p)) if (existsSync(`${f}.sample`)) return readFileSync(`${f}.sample`, 'utf8');
      return null;
    },
    list(dir) {
      const names = new Set<string>();
      for (const f of toHost(dir)) if (existsSync(f)) for (const n of readdirSync(f)) names.add(n.replace(/\.sample$/, ''));
      return [...names];
    },
  };
}

/** A /media/etc made of the given files (paths relative to it). */
function fakeTree(files: Record<string, string>, dir: string = GUEST_PATHS.confDir): GuestConfigFiles {
  return {
    read: (p) => files[relative(dir, p)] ?? null,
    list: (d) =>
      Object.keys(files)
        .filter((k) => join(dir, k).startsWith(`${d}/`))
        .map((k) => relative(d, join(dir, k))),
  };
}

function udhcpd(text: string): UdhcpdTemplate {
  const r = parseUdhcpdTemplate(text, 'udhcpd.conf');
  expect(r.problems).toEqual([]);
  return r.template as UdhcpdTemplate;
}

function radvd(text: string): RadvdTemplate {
  const r = parseRadvdTemplate(text, 'radvd.conf');
  expect(r.problems).toEqual([]);
  return r.template as RadvdTemplate;
}

// ---------------------------------------------------------------------------

describe('every upstream sample', () => {
  const parsers: Record<string, (text: string, file: string) => ConfigProblem[]> = {
    'interfaces.conf': (t, f) => parseInterfaces(t, f).problems,
    'sysctl.conf': (t, f) => parseSysctl(t, f).problems,
    'ipv6.conf': (t, f) => parseSysctl(t, f).problems,
    'udhcpd.conf': (t, f) => parseUdhcpdTemplate(t, f).problems,
    'radvd.conf': (t, f) => parseRadvdTemplate(t, f).problems,
    hostname: (t, f) => parseHostname(t, f).problems,
    iptables: (t, f) => checkIptablesRestore(t, f),
    ip6tables: (t, f) => checkIptablesRestore(t, f),
  };
  // uds_passthru.conf is the passthru agent's (parsed here with its parser too); dhcpcd reads
  // dhcpcd.conf itself, so wifibox-init only passes its path on (checked below).
  const parsersOf: Record<string, (text: string, file: string) => ConfigProblem[]> = {
    ...parsers,
    'uds_passthru.conf': (t, f) => parsePassthruConfig(t, f).problems,
  };
  const baseName = (rel: string): string => (rel.split('/').pop() as string).replace(/\.sample$/, '');

  const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
  const files = [STATION, AP, 'optional/ipv6']
    .flatMap((d) => walk(join(UPSTREAM, d)))
    .map((f) => relative(UPSTREAM, f))
    .filter((f) => f.endsWith('.sample'))
    .sort();
  const parsed = files.filter((f) => baseName(f) in parsersOf);
  const passedOn = files.filter((f) => !(baseName(f) in parsersOf));

  it('covers the samples it should', () => {
    expect(files.length).toBe(21);
    expect(parsed.length).toBe(20);
    expect(passedOn.map(baseName)).toEqual(['dhcpcd.conf']);
  });

  it.each(parsed)('%s parses with no problem', (rel) => {
    expect((parsersOf[baseName(rel)] as (t: string, f: string) => ConfigProblem[])(sample(rel), rel)).toEqual([]);
  });

  it.each(passedOn)('%s is handed to dhcpcd by its guest path', (rel) => {
    const overlay = rel.slice(0, rel.lastIndexOf('/'));
    const flavor = overlay.includes('hostapd') ? AP : STATION;
    const cfg = loadGuestConfig(sampleTree(flavor, overlay));
    expect(cfg.dhcpcdConf).toBe(`${GUEST_PATHS.confDir}/dhcpcd.conf`);
    expect(cfg.problems).toEqual([]);
  });
});

describe('interfaces.conf samples', () => {
  it('station: eth0 static by netmask, wlan0 by DHCP (no family)', () => {
    expect(parseInterfaces(sample(`${STATION}/interfaces.conf.sample`), 'i')).toEqual({
      interfaces: [
        { name: 'eth0', line: 9, inet: { method: 'static', address: '10.0.0.1', prefixLength: 24, gateway: null, line: 9 }, inet6: null },
        { name: 'wlan0', line: 18, inet: { method: 'dhcp', line: 18 }, inet6: null },
      ],
      problems: [],
    });
  });

  it('access point: eth0 with a gateway given before the address, wlan0 static', () => {
    expect(parseInterfaces(sample(`${AP}/interfaces.conf.sample`), 'i').interfaces).toEqual([
      { name: 'eth0', line: 39, inet: { method: 'static', address: '10.0.0.2', prefixLength: 24, gateway: '10.0.0.1', line: 39 }, inet6: null },
      { name: 'wlan0', line: 49, inet: { method: 'static', address: '192.168.0.1', prefixLength: 24, gateway: null, line: 49 }, inet6: null },
    ]);
  });

  it('IPv6 overlays: inet6 stanzas merge into the same interface', () => {
    expect(parseInterfaces(sample(`${STATION6}/interfaces.conf.sample`), 'i').interfaces).toEqual([
      {
        name: 'eth0',
        line: 10,
        inet: { method: 'static', address: '10.0.0.1', prefixLength: 24, gateway: null, line: 10 },
        inet6: { method: 'static', address: 'fd00::ffff', prefixLength: 64, gateway: null, line: 17 },
      },
      { name: 'wlan0', line: 25, inet: { method: 'dhcp', line: 25 }, inet6: null },
    ]);
    expect(parseInterfaces(sample(`${AP6}/interfaces.conf.sample`), 'i').interfaces).toEqual([
      {
        name: 'eth0',
        line: 39,
        inet: { method: 'static', address: '10.0.0.2', prefixLength: 24, gateway: '10.0.0.1', line: 39 },
        inet6: { method: 'static', address: 'fd00::ffff', prefixLength: 64, gateway: null, line: 47 },
      },
      {
        name: 'wlan0',
        line: 56,
        inet: { method: 'static', address: '192.168.0.1', prefixLength: 24, gateway: null, line: 56 },
        inet6: { method: 'static', address: 'fd01::1', prefixLength: 64, gateway: null, line: 62 },
      },
    ]);
  });
});

describe('sysctl samples', () => {
  it('sysctl.conf (same in both flavors): 15 entries, values with spaces, scopes', () => {
    for (const flavor of [STATION, AP]) {
      const { entries, problems } = parseSysctl(sample(`${flavor}/sysctl.conf.sample`), '/media/etc/sysctl.conf');
      expect(problems).toEqual([]);
      expect(entries).toHaveLength(15);
      expect(entries[0]).toEqual({ key: 'net.ipv4.ip_forward', value: '1', file: '/media/etc/sysctl.conf', line: 2, ignoreErrors: false });
      expect(entries.find((e) => e.key === 'net.ipv4.ping_group_range')).toMatchObject({ value: '999 59999', line: 12 });
      expect(entries.find((e) => e.key === 'kernel.panic')).toMatchObject({ value: '30', line: 26 });
      expect(entries[14]).toMatchObject({ key: 'net.netfilter.nf_conntrack_tcp_timeout_established', value: '3600', line: 43 });
      expect(entries.filter((e) => scope(e.key) === 'global').map((e) => e.key)).toEqual(['kernel.panic', 'fs.protected_hardlinks', 'fs.protected_symlinks']);
    }
  });

  it('sysctl.d/ipv6.conf: 4 entries', () => {
    const { entries, problems } = parseSysctl(sample(`${STATION6}/sysctl.d/ipv6.conf.sample`), 'ipv6.conf');
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.key, e.value, e.line])).toEqual([
      ['net.ipv6.conf.all.use_tempaddr', '2', 2],
      ['net.ipv6.conf.default.use_tempaddr', '2', 3],
      ['net.ipv6.conf.all.accept_redirects', '0', 7],
      ['net.ipv6.conf.all.accept_source_route', '0', 10],
    ]);
  });
});

describe('udhcpd.conf samples', () => {
  it('station: serves eth0, placeholders outside comments only', () => {
    const text = sample(`${STATION}/udhcpd.conf.sample`);
    expect(parseUdhcpdTemplate(text, 'u')).toEqual({
      template: {
        file: 'u',
        text,
        interface: 'eth0',
        lines: { interface: 25, start: 22, end: 23 },
        start: '10.0.0.2',
        end: '10.0.0.254',
        leaseSeconds: 864000,
        leaseFile: null,
        placeholders: ['DNS', 'DOMAIN'],
        fixedDns: ['8.8.8.8', '8.8.4.4'],
        staticLeases: [],
      },
      problems: [],
    });
  });

  it('access point: serves wlan0', () => {
    expect(udhcpd(sample(`${AP}/udhcpd.conf.sample`))).toMatchObject({
      interface: 'wlan0',
      start: '192.168.0.2',
      end: '192.168.0.254',
      leaseSeconds: 864000,
      leaseFile: null,
      placeholders: ['DNS', 'DOMAIN'],
    });
  });
});

describe('radvd.conf, hostname and iptables samples', () => {
  it('station radvd: eth0, %%DNS%% in RDNSS', () => {
    expect(radvd(sample(`${STATION6}/radvd.conf.sample`))).toMatchObject({ interfaces: ['eth0'], hasDnsPlaceholder: true });
  });

  it('access point radvd: wlan0, no placeholder at all', () => {
    expect(radvd(sample(`${AP6}/radvd.conf.sample`))).toMatchObject({ interfaces: ['wlan0'], hasDnsPlaceholder: false });
  });

  it('hostname', () => {
    for (const flavor of [STATION, AP]) expect(parseHostname(sample(`${flavor}/hostname.sample`), 'h')).toEqual({ hostname: 'wifibox', problems: [] });
  });

  it('iptables and ip6tables', () => {
    for (const rel of [`${STATION}/iptables.sample`, `${AP}/iptables.sample`, `${STATION6}/ip6tables.sample`, `${AP6}/ip6tables.sample`]) {
      expect(checkIptablesRestore(sample(rel), rel)).toEqual([]);
    }
  });
});

describe('loadGuestConfig on the sample trees', () => {
  it('station', () => {
    const c = loadGuestConfig(sampleTree(STATION));
    expect(c.problems).toEqual([]);
    expect(c).toMatchObject({ dir: '/media/etc', hostname: 'wifibox', flavor: 'station', ip6tables: null, dhcpcdConf: null, radvd: null });
    expect(c.interfaces.map((i) => [i.name, i.inet?.method])).toEqual([
      ['eth0', 'static'],
      ['wlan0', 'dhcp'],
    ]);
    expect(c.sysctl).toHaveLength(15);
    expect(c.iptables).toEqual({ file: '/media/etc/iptables', text: sample(`${STATION}/iptables.sample`) });
    expect(c.udhcpd?.interface).toBe('eth0');
  });

  it('access point', () => {
    const c = loadGuestConfig(sampleTree(AP));
    expect(c.problems).toEqual([]);
    expect(c.flavor).toBe('access-point');
    expect(c.udhcpd?.interface).toBe('wlan0');
  });

  it('station with the IPv6 overlay: sysctl.d first, then sysctl.conf', () => {
    const c = loadGuestConfig(sampleTree(STATION, STATION6));
    expect(c.problems).toEqual([]);
    expect(c.flavor).toBe('station');
    expect(c.sysctl).toHaveLength(19);
    expect(c.sysctl[0]).toMatchObject({ key: 'net.ipv6.conf.all.use_tempaddr', file: '/media/etc/sysctl.d/ipv6.conf' });
    expect(c.sysctl[4]).toMatchObject({ key: 'net.ipv4.ip_forward', file: '/media/etc/sysctl.conf' });
    expect(c.dhcpcdConf).toBe('/media/etc/dhcpcd.conf');
    expect(c.ip6tables?.file).toBe('/media/etc/ip6tables');
    expect(c.radvd).toMatchObject({ interfaces: ['eth0'], hasDnsPlaceholder: true });
    expect(c.interfaces[0]?.inet6?.address).toBe('fd00::ffff');
  });

  it('access point with the IPv6 overlay', () => {
    const c = loadGuestConfig(sampleTree(AP, AP6));
    expect(c.problems).toEqual([]);
    expect(c.flavor).toBe('access-point');
    expect(c.dhcpcdConf).toBeNull();
    expect(c.radvd).toMatchObject({ interfaces: ['wlan0'], hasDnsPlaceholder: false });
    expect(c.interfaces.map((i) => i.inet6?.address)).toEqual(['fd00::ffff', 'fd01::1']);
  });
});

// ---------------------------------------------------------------------------

describe('renderUdhcpd', () => {
  const station = (): UdhcpdTemplate => udhcpd(sample(`${STATION}/udhcpd.conf.sample`));
  const none = { dns: [], domain: null, search: [] };

  it('fills DNS and domain, keeps other lines byte for byte, leaves comments out', () => {
    expect(renderUdhcpd(station(), { dns: ['192.168.1.1', '192.168.1.2'], domain: 'home.lan', search: ['x.lan'] }, {})).toBe(
      lines(
        '# Made by wifibox-init from udhcpd.conf; edit that file instead.',
        'start\t\t10.0.0.2',
        'end\t\t10.0.0.254',
        'max_leases\t64',
        'interface\teth0',
        'opt\tsubnet\t255.255.255.0',
        'opt\trouter\t10.0.0.1',
        'opt\tdns\t192.168.1.1 192.168.1.2 8.8.8.8 8.8.4.4',
        'opt\tdomain\thome.lan',
        'opt\tlease\t864000',
      ),
    );
  });

  it('DNS unknown: the fixed servers stay, whitespace collapsed; domain unknown: its line is left out', () => {
    const out = renderUdhcpd(station(), none, {});
    expect(out).toContain('\nopt\tdns\t8.8.8.8 8.8.4.4\n');
    expect(out).toContain("\n# wifibox-init: 'opt domain' left out: no value known yet\n");
    expect(out).not.toMatch(/^opt\s+domain/m);
  });

  it('an option made only of a placeholder is left out when there is no value', () => {
    const t = udhcpd(lines('interface eth0', 'start 10.0.0.2', 'end 10.0.0.9', 'opt dns %%DNS%%', 'option search %%SEARCH%%'));
    const out = renderUdhcpd(t, none);
    expect(out).toContain("# wifibox-init: 'opt dns' left out");
    expect(out).toContain("# wifibox-init: 'option search' left out");
    expect(parseUdhcpdTemplate(out, 'r').problems).toEqual([]);
    expect(renderUdhcpd(t, { dns: ['1.1.1.1'], domain: null, search: ['a.lan', 'b.lan'] })).toContain('\nopt dns 1.1.1.1\noption search a.lan b.lan\n');
  });

  it('lease override replaces opt lease, or adds it', () => {
    expect(renderUdhcpd(station(), none, { leaseSeconds: 60 })).toMatch(/\nopt\tlease\t60\n$/);
    const t = udhcpd(lines('interface eth0', 'start 10.0.0.2', 'end 10.0.0.9'));
    expect(renderUdhcpd(t, none, { leaseSeconds: 120 })).toMatch(/\nopt\tlease\t120\n$/);
    expect(udhcpd(renderUdhcpd(t, none, { leaseSeconds: 120 })).leaseSeconds).toBe(120);
  });

  it('lease_file override replaces lease_file, or adds it', () => {
    expect(renderUdhcpd(station(), none, { leaseFile: '/var/run/udhcpd.leases' })).toMatch(/\nlease_file\t\/var\/run\/udhcpd\.leases\n$/);
    const t = udhcpd(lines('interface eth0', 'start 10.0.0.2', 'end 10.0.0.9', 'lease_file  /var/lib/misc/udhcpd.leases  # default'));
    expect(t.leaseFile).toBe('/var/lib/misc/udhcpd.leases');
    const out = renderUdhcpd(t, none, { leaseFile: '/run/l' });
    expect(out).toContain('\nlease_file  /run/l\n');
    expect(out).not.toContain('misc');
  });

  it('never leaves %% behind, and stays small', () => {
    for (const t of [station(), udhcpd(sample(`${AP}/udhcpd.conf.sample`))]) {
      for (const values of [none, { dns: ['1.1.1.1'], domain: 'd.lan', search: ['s.lan'] }]) {
        const out = renderUdhcpd(t, values, { leaseSeconds: 30, leaseFile: '/run/leases' });
        expect(out).not.toContain('%%');
        expect(out.length).toBeLessThan(400);
        expect(parseUdhcpdTemplate(out, 'r').problems).toEqual([]);
      }
    }
  });

  it('leaves out values from the wireless network that are not addresses or names', () => {
    const out = renderUdhcpd(station(), { dns: ['1.2.3.4\ninterface wlan0', 'fd00::1', '5.6.7.8'], domain: 'x\nstart 1.1.1.1', search: [] });
    expect(out).toContain('\nopt\tdns\t5.6.7.8 8.8.8.8 8.8.4.4\n');
    expect(out).toContain("'opt domain' left out");
    expect(out.split('\n').filter((l) => /^(interface|start)/.test(l))).toEqual(['start\t\t10.0.0.2', 'interface\teth0']);
  });

  it('refuses overrides no config could produce', () => {
    expect(() => renderUdhcpd(station(), none, { leaseSeconds: -1 })).toThrow(RangeError);
    expect(() => renderUdhcpd(station(), none, { leaseSeconds: 1.5 })).toThrow(RangeError);
    expect(() => renderUdhcpd(station(), none, { leaseFile: '/a b' })).toThrow(RangeError);
  });
});

describe('renderRadvd', () => {
  const stationText = (): string => sample(`${STATION6}/radvd.conf.sample`);

  it('fills %%DNS%% before the fixed servers', () => {
    const out = renderRadvd(radvd(stationText()), ['fd00::53', '2001:db8::1']);
    expect(out).toContain('\n\tRDNSS fd00::53 2001:db8::1 2001:4860:4860::8888 2001:4860:4860::8844 {\n\t};\n');
    expect(radvd(out).hasDnsPlaceholder).toBe(false);
  });

  it('without DNS the fixed servers remain, so the RDNSS block stays', () => {
    const out = renderRadvd(radvd(stationText()), []);
    expect(out).toContain('\n\tRDNSS 2001:4860:4860::8888 2001:4860:4860::8844 {\n\t};\n');
    expect(out.replace(/^#.*$/gm, '')).not.toContain('%%');
    // Everything else is unchanged.
    expect(out).toBe(stationText().replace('RDNSS %%DNS%% 2001', 'RDNSS 2001'));
  });

  it('is the identity when there is no placeholder (access point sample)', () => {
    const text = sample(`${AP6}/radvd.conf.sample`);
    expect(renderRadvd(radvd(text), ['fd00::53'])).toBe(text);
  });

  it('drops an RDNSS block left without an address, braces included', () => {
    const text = lines(
      'interface eth0',
      '{',
      '\tAdvSendAdvert on;',
      '\tRDNSS %%DNS%%',
      '\t{',
      '\t\tAdvRDNSSLifetime 30;',
      '\t};',
      '\tprefix ::/64 {',
      '\t};',
      '};',
    );
    const t = radvd(text);
    expect(renderRadvd(t, [])).toBe(
      lines('interface eth0', '{', '\tAdvSendAdvert on;', '\t# RDNSS left out: no IPv6 DNS server known yet', '\tprefix ::/64 {', '\t};', '};'),
    );
    expect(renderRadvd(t, ['fd00::53'])).toBe(text.replace('%%DNS%%', 'fd00::53'));
  });

  it('drops an inline RDNSS block and the result still parses', () => {
    const t = radvd(lines('interface eth0 { AdvSendAdvert on; RDNSS %%DNS%% { }; prefix ::/64 { }; };'));
    const out = renderRadvd(t, []);
    expect(out).toBe(lines('interface eth0 { AdvSendAdvert on;  prefix ::/64 { }; };'));
    expect(radvd(out).interfaces).toEqual(['eth0']);
  });

  it('leaves out servers that are not IPv6 addresses', () => {
    const out = renderRadvd(radvd(stationText()), ['8.8.8.8', 'fd00::1;};', 'fd00::2']);
    expect(out).toContain('RDNSS fd00::2 2001:4860');
  });
});

// ---------------------------------------------------------------------------

const BAD_INTERFACES: BadInput[] = [
  {
    name: 'static without prefix or netmask',
    text: lines('iface eth0 inet static', '  address 10.0.0.1'),
    line: 2,
    fragment: "address '10.0.0.1' has no prefix and there is no netmask; expected address/prefix",
  },
  {
    name: 'bad IPv4',
    text: lines('iface eth0 inet static', '  address 10.0.0.300/24'),
    line: 2,
    fragment: "address '10.0.0.300' is not an IPv4 address; expected four numbers 0-255",
  },
  { name: 'IPv4 with leading zero', text: lines('iface eth0 inet static', '  address 10.0.0.01/24'), line: 2, fragment: "'10.0.0.01' is not an IPv4 address" },
  {
    name: 'prefix too long',
    text: lines('iface eth0 inet static', '  address 10.0.0.1/33'),
    line: 2,
    fragment: "prefix '/33' in address is invalid; expected a number from 0 to 32",
  },
  { name: 'empty prefix', text: lines('iface eth0 inet static', '  address 10.0.0.1/'), line: 2, fragment: "prefix '/' in address is invalid" },
  {
    name: 'non-contiguous netmask',
    text: lines('iface eth0 inet static', 'address 10.0.0.1', 'netmask 255.0.255.0'),
    line: 3,
    fragment: "netmask '255.0.255.0' is invalid; expected a contiguous dotted mask",
  },
  { name: 'netmask out of range', text: lines('iface eth0 inet static', 'address 10.0.0.1', 'netmask 40'), line: 3, fragment: "netmask '40' is invalid" },
  {
    name: 'netmask contradicts prefix',
    text: lines('iface eth0 inet static', 'address 10.0.0.1/24', 'netmask 255.255.0.0'),
    line: 3,
    fragment: 'contradicts the prefix /24 given with the address on line 2',
  },
  {
    name: 'IPv6 garbage',
    text: lines('iface eth0 inet6 static', '  address fd00:::1/64'),
    line: 2,
    fragment: "address 'fd00:::1' is not an IPv6 address; expected a form like fd00::1",
  },
  { name: 'IPv6 two ::', text: lines('iface eth0 inet6 static', '  address fd00::1::2/64'), line: 2, fragment: 'is not an IPv6 address' },
  { name: 'IPv6 group too long', text: lines('iface eth0 inet6 static', '  address fd000::1/64'), line: 2, fragment: 'is not an IPv6 address' },
  { name: 'IPv6 nine groups', text: lines('iface eth0 inet6 static', '  address 1:2:3:4:5:6:7:8:9/64'), line: 2, fragment: 'is not an IPv6 address' },
  {
    name: 'IPv6 prefix 129',
    text: lines('iface eth0 inet6 static', '  address fd00::1/129'),
    line: 2,
    fragment: "prefix '/129' in address is invalid; expected a number from 0 to 128",
  },
  {
    name: 'IPv6 without prefix',
    text: lines('iface eth0 inet6 static', '  address fd00::1'),
    line: 2,
    fragment: 'has no prefix and there is no netmask; expected address/prefix (e.g. fd00::1/64)',
  },
  {
    name: 'IPv4 in an inet6 stanza',
    text: lines('iface eth0 inet6 static', '  address 10.0.0.1/24'),
    line: 2,
    fragment: 'belongs under iface eth0 inet static',
  },
  { name: 'IPv6 in an inet stanza', text: lines('iface eth0 inet static', '  address fd00::1/64'), line: 2, fragment: 'belongs under iface eth0 inet6 static' },
  {
    name: 'duplicate inet',
    text: lines('iface eth0 inet static', '  address 10.0.0.1/24', 'iface eth0 inet dhcp'),
    line: 3,
    fragment: 'iface eth0 inet is already defined on line 1; expected one inet stanza per interface',
  },
  {
    name: 'duplicate via family-less dhcp',
    text: lines('iface wlan0 inet dhcp', 'iface wlan0 dhcp'),
    line: 2,
    fragment: 'iface wlan0 inet is already defined on line 1',
  },
  {
    name: 'duplicate inet6',
    text: lines('iface eth0 inet6 static', '  address fd00::1/64', 'iface eth0 inet6 static', '  address fd00::2/64'),
    line: 3,
    fragment: 'iface eth0 inet6 is already defined on line 1',
  },
  {
    name: 'unknown option',
    text: lines('iface eth0 inet static', '  address 10.0.0.1/24', '  mtu 1400'),
    line: 3,
    severity: 'warning',
    fragment: "option 'mtu' is not supported, ignored; expected address, netmask or gateway",
  },
  {
    name: 'hwaddress',
    text: lines('iface eth0 inet static', '  hwaddress ether 00:11:22:33:44:55', '  address 10.0.0.1/24'),
    line: 2,
    severity: 'warning',
    fragment: "option 'hwaddress' is not supported, ignored",
  },
  {
    name: 'pre-up command',
    text: lines('iface eth0 inet static', '  address 10.0.0.1/24', '  pre-up ip link set eth0 up'),
    line: 3,
    severity: 'warning',
    fragment: "'pre-up' runs a shell command, which wifibox-init does not run (ignored); expected address, netmask or gateway",
  },
  { name: 'post-down command', text: lines('iface wlan0 dhcp', 'post-down true'), line: 2, severity: 'warning', fragment: "'post-down' runs a shell command" },
  {
    name: 'gateway outside the network',
    text: lines('iface eth0 inet static', '  address 10.0.0.2/24', '  gateway 10.0.1.1'),
    line: 3,
    fragment: 'gateway 10.0.1.1 is outside 10.0.0.2/24; expected an address in that network',
  },
  {
    name: 'gateway garbage',
    text: lines('iface eth0 inet static', '  address 10.0.0.2/24', '  gateway router'),
    line: 3,
    fragment: "gateway 'router' is not an IPv4 address",
  },
  {
    name: 'IPv6 gateway outside',
    text: lines('iface eth0 inet6 static', '  address fd00::2/64', '  gateway fd01::1'),
    line: 3,
    fragment: 'gateway fd01::1 is outside fd00::2/64; expected an address in that network or a link-local',
  },
  {
    name: 'IPv6 gateway garbage',
    text: lines('iface eth0 inet6 static', '  address fd00::2/64', '  gateway 10.0.0.1'),
    line: 3,
    fragment: "gateway '10.0.0.1' is not an IPv6 address; expected a form like fd00::1 or fe80::1",
  },
  {
    name: 'inet6 dhcp',
    text: lines('iface wlan0 inet6 dhcp'),
    line: 1,
    fragment: "iface wlan0 inet6: method 'dhcp'; expected static, manual, loopback (wlan0 gets IPv6 from dhcpcd",
  },
  { name: 'unknown method', text: lines('iface eth0 inet ppp'), line: 1, fragment: "iface eth0 inet: method 'ppp'; expected static, dhcp, manual, loopback" },
  { name: 'no method', text: lines('iface eth0 inet'), line: 1, fragment: 'iface eth0 inet: no method; expected static, dhcp' },
  {
    name: 'no family',
    text: lines('iface eth0', '  address 10.0.0.1/24'),
    line: 1,
    fragment: 'iface eth0: found nothing after the name; expected iface NAME inet static|dhcp',
  },
  { name: 'bad family', text: lines('iface eth0 ipx static'), line: 1, fragment: "iface eth0: found 'ipx' after the name" },
  { name: 'no name', text: lines('iface'), line: 1, fragment: 'iface has no interface name' },
  { name: 'bad name', text: lines('iface eth0/1 inet dhcp'), line: 1, fragment: "'eth0/1' is not a valid interface name; expected 1-15" },
  { name: 'name too long', text: lines('iface abcdefghijklmnop inet dhcp'), line: 1, fragment: 'is not a valid interface name' },
  { name: 'words after the method', text: lines('iface eth0 inet static extra'), line: 1, fragment: "unexpected 'extra' after the method" },
  { name: 'option before any iface', text: lines('address 10.0.0.1/24', 'iface eth0 inet dhcp'), line: 1, fragment: "found 'address' outside an iface stanza" },
  {
    name: 'option after auto',
    text: lines('iface eth0 inet static', 'address 10.0.0.1/24', 'auto eth0', 'gateway 10.0.0.254'),
    line: 4,
    fragment: "found 'gateway' outside an iface stanza",
  },
  {
    name: 'static without address',
    text: lines('iface eth0 inet static', '  netmask 255.255.255.0'),
    line: 1,
    fragment: "iface eth0 inet static has no address; expected an 'address A/PREFIX' line",
  },
  { name: 'address without value', text: lines('iface eth0 inet static', '  address'), line: 2, fragment: 'address has no value; expected exactly one' },
  {
    name: 'inline comment',
    text: lines('iface eth0 inet static', '  address 10.0.0.1/24 # host side'),
    line: 2,
    fragment: 'address has 4 values; expected exactly one (comments must be on a line of their own)',
  },
  {
    name: 'second address',
    text: lines('iface eth0 inet static', '  address 10.0.0.1/24', '  address 10.0.0.5/24'),
    line: 3,
    fragment: 'address is given again (first on line 2); expected one address per inet stanza',
  },
  {
    name: 'address under dhcp',
    text: lines('iface wlan0 dhcp', '  address 10.0.0.1/24'),
    line: 2,
    severity: 'warning',
    fragment: "'10.0.0.1/24' is ignored with method dhcp",
  },
  {
    name: 'source',
    text: lines('source /etc/network/interfaces.d/*', 'iface eth0 inet dhcp'),
    line: 1,
    fragment: "'source' is not supported; expected iface stanzas written out in this file",
  },
];

const BAD_SYSCTL: BadInput[] = [
  { name: 'no =', text: lines('net.ipv4.ip_forward 1'), line: 1, fragment: "found 'net.ipv4.ip_forward 1' without '='; expected key = value" },
  {
    name: 'space in key',
    text: lines('# c', 'net.ipv4 .ip_forward = 1'),
    line: 2,
    fragment: "key 'net.ipv4 .ip_forward' is invalid; expected names of letters",
  },
  { name: 'empty component', text: lines('net..ipv4 = 1'), line: 1, fragment: "key 'net..ipv4' is invalid" },
  { name: 'leading dot', text: lines('.net.ipv4 = 1'), line: 1, fragment: 'is invalid' },
  { name: 'path climbing out of /proc/sys', text: lines('net/../../etc/passwd = 1'), line: 1, fragment: "key 'net/../../etc/passwd' is invalid" },
  { name: 'glob', text: lines('net.ipv4.conf.*.rp_filter = 1'), line: 1, fragment: 'is invalid' },
  { name: 'empty key', text: lines(' = 1'), line: 1, fragment: "key '' is invalid" },
  { name: 'only a dash', text: lines('- = 1'), line: 1, fragment: "key '' is invalid" },
  { name: 'no value', text: lines('kernel.panic ='), line: 1, fragment: "kernel.panic has no value after '='; expected key = value" },
  {
    name: 'inline comment',
    text: lines('kernel.panic = 30 # seconds'),
    line: 1,
    severity: 'warning',
    fragment: "value '30 # seconds' of kernel.panic contains '#'",
  },
];

const UDHCPD_OK = ['start 10.0.0.2', 'end 10.0.0.254', 'interface eth0'];
const BAD_UDHCPD: BadInput[] = [
  { name: 'no interface', text: lines('start 10.0.0.2', 'end 10.0.0.254'), line: 1, fragment: 'no interface line; expected interface NAME' },
  {
    name: 'bad start',
    text: lines('# x', 'start 10.0.0.300', 'end 10.0.0.254', 'interface eth0'),
    line: 2,
    fragment: "start '10.0.0.300' is not an IPv4 address",
  },
  { name: 'bad end', text: lines('start 10.0.0.2', 'end ten', 'interface eth0'), line: 2, fragment: "end 'ten' is not an IPv4 address" },
  {
    name: 'start after end',
    text: lines('start 10.0.0.20', 'end 10.0.0.10', 'interface eth0'),
    line: 2,
    fragment: 'range 10.0.0.20 - 10.0.0.10 is empty; expected start at or below end',
  },
  {
    name: 'non-numeric lease',
    text: lines(...UDHCPD_OK, 'opt\tlease\tten-days'),
    line: 4,
    fragment: "opt lease 'ten-days' is not a number of seconds; expected one whole number",
  },
  { name: 'lease with two values', text: lines(...UDHCPD_OK, 'option lease 60 120'), line: 4, fragment: "opt lease '60 120' is not a number of seconds" },
  { name: 'lease beyond 32 bits', text: lines(...UDHCPD_OK, 'opt lease 4294967296'), line: 4, fragment: 'is not a number of seconds' },
  {
    name: 'unknown placeholder',
    text: lines(...UDHCPD_OK, 'opt dns %%FOO%% 8.8.8.8'),
    line: 4,
    fragment: "unknown placeholder '%%FOO%%'; expected %%DNS%%, %%DOMAIN%% or %%SEARCH%%",
  },
  { name: 'lower-case placeholder', text: lines(...UDHCPD_OK, 'opt domain %%domain%%'), line: 4, fragment: "unknown placeholder '%%domain%%'" },
  { name: 'unpaired %%', text: lines(...UDHCPD_OK, 'opt dns %%DNS 8.8.8.8'), line: 4, fragment: "found an unpaired '%%'" },
  {
    name: 'placeholder outside an opt',
    text: lines('start 10.0.0.2', 'end 10.0.0.254', 'interface %%DNS%%'),
    line: 3,
    fragment: 'expected placeholders only in opt values',
  },
  {
    name: 'placeholder glued to text',
    text: lines(...UDHCPD_OK, 'opt dns %%%DNS%% 8.8.8.8'),
    line: 4,
    fragment: "placeholder written inside '%%%DNS%%'; expected it as a word of its own",
  },
  { name: 'bad dns address', text: lines(...UDHCPD_OK, 'opt dns %%DNS%% 8.8.8'), line: 4, fragment: "opt dns value '8.8.8' is not an IPv4 address" },
  { name: 'bad router', text: lines(...UDHCPD_OK, 'opt router gateway'), line: 4, fragment: "opt router value 'gateway'" },
  { name: 'option without value', text: lines(...UDHCPD_OK, 'opt domain'), line: 4, fragment: 'opt domain has no value; expected opt domain VALUE' },
  { name: 'keyword without value', text: lines(...UDHCPD_OK, 'lease_file'), line: 4, fragment: 'lease_file has no value; expected lease_file VALUE' },
  { name: 'non-numeric max_leases', text: lines(...UDHCPD_OK, 'max_leases many'), line: 4, fragment: "max_leases 'many' is not a whole number" },
  {
    name: 'two interfaces on one line',
    text: lines('start 10.0.0.2', 'end 10.0.0.254', 'interface eth0 wlan0'),
    line: 3,
    fragment: "interface has 2 values ('eth0 wlan0'); expected one",
  },
  {
    name: 'bad interface name',
    text: lines('start 10.0.0.2', 'end 10.0.0.254', 'interface eth/0'),
    line: 3,
    fragment: "interface 'eth/0' is not a valid interface name",
  },
  {
    name: 'unknown keyword',
    text: lines(...UDHCPD_OK, 'lease_time 600'),
    line: 4,
    severity: 'warning',
    fragment: "unknown keyword 'lease_time' (udhcpd ignores it)",
  },
  { name: 'interface twice', text: lines(...UDHCPD_OK, 'interface eth0'), line: 4, severity: 'warning', fragment: 'interface is set again (first on line 3)' },
  {
    name: 'no start',
    text: lines('end 10.0.0.254', 'interface eth0'),
    line: 1,
    severity: 'warning',
    fragment: 'no start line; expected start ADDRESS (udhcpd would use 192.168.0.20)',
  },
];

const RADVD_OK = ['interface eth0', '{', '\tAdvSendAdvert on;'];
const BAD_RADVD: BadInput[] = [
  { name: 'unclosed interface block', text: lines('# c', ...RADVD_OK), line: 3, fragment: "'{' opened on this line is never closed; expected a matching '};'" },
  {
    name: 'unclosed outer block, inner closed',
    text: lines('interface eth0 {', '  prefix ::/64 {', '    AdvOnLink on;', '  };'),
    line: 1,
    fragment: 'never closed',
  },
  { name: 'unclosed inner block', text: lines('interface eth0 {', '  prefix ::/64', '  {', '    AdvOnLink on;', '};'), line: 1, fragment: 'never closed' },
  { name: 'stray }', text: lines(...RADVD_OK, '};', '};'), line: 5, fragment: "found '}' with no open block" },
  { name: 'setting without ;', text: lines(...RADVD_OK, '\tAdvManagedFlag on', '};'), line: 4, fragment: "'AdvManagedFlag on' is not ended by ';'" },
  { name: '} without ;', text: lines(...RADVD_OK, '}'), line: 4, fragment: "'}' is not followed by ';'; expected '};' to close the block opened on line 2" },
  { name: 'stray ;', text: lines(...RADVD_OK, ';', '};'), line: 4, fragment: "found ';' with nothing before it" },
  { name: 'nameless block', text: lines(...RADVD_OK, '{', '};', '};'), line: 4, fragment: "found a '{' block with no name" },
  {
    name: 'setting at the top level',
    text: lines('AdvSendAdvert on;', ...RADVD_OK, '};'),
    line: 1,
    fragment: "found 'AdvSendAdvert on;' at the top level; expected interface NAME { … };",
  },
  { name: 'interface without a name', text: lines('interface {', '};'), line: 1, fragment: 'at the top level; expected interface NAME' },
  { name: 'bad interface name', text: lines('interface eth/0 {', '};'), line: 1, fragment: "interface 'eth/0' is not a valid interface name" },
  { name: 'interface twice', text: lines(...RADVD_OK, '};', 'interface eth0 {', '};'), line: 5, fragment: 'interface eth0 is defined again (first on line 1)' },
  {
    name: 'unknown placeholder',
    text: lines(...RADVD_OK, '\tRDNSS %%DNS6%% {', '\t};', '};'),
    line: 4,
    fragment: "unknown placeholder '%%DNS6%%'; expected only %%DNS%%",
  },
  { name: 'unpaired %%', text: lines(...RADVD_OK, '\tRDNSS %%DNS fd00::1 {', '\t};', '};'), line: 4, fragment: "found an unpaired '%%' in '%%DNS'" },
  {
    name: 'placeholder outside RDNSS',
    text: lines(...RADVD_OK, '\tprefix %%DNS%% {', '\t};', '};'),
    line: 4,
    fragment: "%%DNS%% in 'prefix %%DNS%%'; expected it only as an address of an RDNSS line",
  },
  {
    name: 'placeholder glued to an address',
    text: lines(...RADVD_OK, '\tRDNSS %%DNS%%,fd00::1 {', '\t};', '};'),
    line: 4,
    fragment: 'expected it only as an address of an RDNSS line',
  },
  { name: 'no interface at all', text: lines('# nothing here'), line: 1, fragment: 'no interface block found' },
  {
    name: 'a no-break space, which ends no word',
    text: lines('interface eth0\u00a0{', '};'),
    line: 1,
    fragment: "interface 'eth0\u00a0' is not a valid interface name",
  },
  { name: 'runaway nesting', text: `interface eth0 ${'{ a '.repeat(40)}`, line: 1, fragment: 'blocks nested 17 deep here; expected at most 16' },
];

const BAD_HOSTNAME: BadInput[] = [
  { name: 'underscore', text: lines('wifi_box'), line: 1, fragment: "host name 'wifi_box' has '_' in 'wifi_box'; expected only letters, digits, '-' and '.'" },
  { name: 'space', text: lines('# c', 'wifi box'), line: 2, fragment: "has ' ' in 'wifi box'; expected only letters" },
  { name: 'control character', text: lines('wifi\x1bbox'), line: 1, fragment: "has '?' in 'wifi?box'; expected only letters" },
  {
    name: 'leading hyphen',
    text: lines('-wifibox'),
    line: 1,
    fragment: "has a label that starts or ends with '-' ('-wifibox'); expected a letter or digit at both ends of each label",
  },
  {
    name: 'empty label',
    text: lines('wifi..box'),
    line: 1,
    fragment: 'has an empty label (a leading, trailing or doubled dot); expected labels separated by single dots',
  },
  { name: 'trailing dot', text: lines('wifibox.'), line: 1, fragment: 'has an empty label' },
  { name: 'label too long', text: lines(`${'a'.repeat(64)}.lan`), line: 1, fragment: 'has a label of 64 characters; expected at most 63 per label' },
  {
    name: 'longer than the kernel takes',
    text: lines(`${'a'.repeat(40)}.${'b'.repeat(40)}`),
    line: 1,
    fragment: "is 81 characters long; expected at most 64, the kernel's limit",
  },
  { name: 'longer than a DNS name', text: lines(Array(5).fill('a'.repeat(60)).join('.')), line: 1, fragment: 'is 304 characters long; expected at most 253' },
  {
    name: 'second line',
    text: lines('wifibox', 'other'),
    line: 2,
    severity: 'warning',
    fragment: "found 'other' after the host name on line 1; expected a single line",
  },
  { name: 'empty', text: '', line: 1, severity: 'warning', fragment: 'no host name found; expected one line such as wifibox' },
];

const IPT_OK = ['*filter', ':INPUT ACCEPT [0:0]'];
const BAD_IPTABLES: BadInput[] = [
  {
    name: 'table not closed',
    text: lines('# c', ...IPT_OK),
    line: 2,
    fragment: 'table *filter is not closed by COMMIT; expected COMMIT at the end of each table',
  },
  { name: 'control character in an unclosed table', text: lines('*fil\x1bter'), line: 1, fragment: 'table *fil?ter is not closed by COMMIT; expected COMMIT' },
  {
    name: 'table not closed before the next',
    text: lines(...IPT_OK, '*nat', 'COMMIT'),
    line: 1,
    fragment: 'table *filter is not closed by COMMIT before *nat on line 3',
  },
  { name: 'unknown table', text: lines('*filtre', 'COMMIT'), line: 1, fragment: "found table '*filtre'; expected one of *filter, *nat" },
  { name: 'COMMIT without table', text: lines(...IPT_OK, 'COMMIT', 'COMMIT'), line: 4, fragment: 'found COMMIT with no table open' },
  { name: 'rule outside a table', text: lines('-A INPUT -j ACCEPT'), line: 1, fragment: "found '-A INPUT -j ACCEPT' outside a table" },
  {
    name: 'chain without policy',
    text: lines('*filter', ':INPUT', 'COMMIT'),
    line: 2,
    fragment: "found chain line ':INPUT'; expected :CHAIN POLICY [packets:bytes]",
  },
  { name: 'bad counters', text: lines('*filter', ':INPUT ACCEPT [x:0]', 'COMMIT'), line: 2, fragment: 'expected :CHAIN POLICY [packets:bytes]' },
  {
    name: 'iptables command',
    text: lines(...IPT_OK, 'iptables -A INPUT -j ACCEPT', 'COMMIT'),
    line: 3,
    fragment: "found 'iptables -A INPUT -j ACCEPT'; expected *TABLE, :CHAIN POLICY [0:0], -A CHAIN",
  },
  { name: 'append without chain', text: lines(...IPT_OK, '[0:0] -A', 'COMMIT'), line: 3, fragment: '-A has no chain; expected -A CHAIN' },
];

describe('malformed input', () => {
  it.each(BAD_INTERFACES)('interfaces.conf: $name', (bad) => {
    expectProblem(parseInterfaces(bad.text, 'i.conf').problems, 'i.conf', bad);
  });
  it.each(BAD_SYSCTL)('sysctl.conf: $name', (bad) => {
    const r = parseSysctl(bad.text, 's.conf');
    expectProblem(r.problems, 's.conf', bad);
    expect(r.entries).toHaveLength(bad.severity === 'warning' ? 1 : 0);
  });
  it.each(BAD_UDHCPD)('udhcpd.conf: $name', (bad) => {
    const r = parseUdhcpdTemplate(bad.text, 'u.conf');
    expectProblem(r.problems, 'u.conf', bad);
    // Nothing is served from a file known to be wrong; warnings do not stop it.
    expect(r.template === null).toBe(r.problems.some((p) => p.severity === 'error'));
  });
  it.each(BAD_RADVD)('radvd.conf: $name', (bad) => {
    const r = parseRadvdTemplate(bad.text, 'r.conf');
    expectProblem(r.problems, 'r.conf', bad);
    expect(r.template).toBeNull();
  });
  it.each(BAD_HOSTNAME)('hostname: $name', (bad) => {
    const r = parseHostname(bad.text, 'h');
    expectProblem(r.problems, 'h', bad);
    expect(r.hostname).toBe(bad.severity === 'warning' && bad.text !== '' ? 'wifibox' : null);
  });
  it.each(BAD_IPTABLES)('iptables: $name', (bad) => {
    expectProblem(checkIptablesRestore(bad.text, 'ipt'), 'ipt', bad);
  });

  it('an unclosed radvd block is reported at its own brace, every level', () => {
    const r = parseRadvdTemplate(lines('interface eth0', '{', '  prefix ::/64', '  {', '    AdvOnLink on;'), 'r');
    expect(r.problems.map((p) => p.line)).toEqual([2, 4]);
  });

  it('an unreadable option is reported once, not again as a missing address', () => {
    const r = parseInterfaces(lines('iface eth0 inet static', '  address 10.0.0.1/24 # host side'), 'i');
    expect(r.problems.map((p) => p.line)).toEqual([2]);
    expect(r.interfaces[0]?.inet).toBeNull();
  });

  it('a broken stanza does not take the others down', () => {
    const r = parseInterfaces(lines('iface eth0 inet static', '  address 10.0.0.1/99', 'iface wlan0 inet ppp', '  address 1.2.3.4/8', 'iface wlan1 dhcp'), 'i');
    expect(r.problems.map((p) => p.line)).toEqual([2, 3]);
    expect(r.interfaces).toEqual([
      { name: 'eth0', line: 1, inet: null, inet6: null },
      { name: 'wlan1', line: 5, inet: { method: 'dhcp', line: 5 }, inet6: null },
    ]);
  });
});

describe('accepted variants', () => {
  it('interfaces.conf: auto, allow-hotplug, comments, unindented options, bare prefix netmask, CRLF', () => {
    const text = [
      '# generated',
      'auto lo eth0 wlan0',
      'iface lo inet loopback',
      'allow-hotplug eth0',
      'iface eth0 inet static',
      'address 10.0.0.1',
      '\t# indented comment',
      'netmask 24',
      '',
      'iface eth0 inet6 static',
      '  address fd00::1',
      '  netmask 64',
      '  gateway fe80::1',
      'iface wlan0 inet static',
      '  address 192.168.0.1/24',
      '  netmask 255.255.255.0',
      '  gateway 192.168.0.254',
      'iface wlan0 inet6 manual',
    ].join('\r\n');
    const r = parseInterfaces(text, 'i');
    expect(r.problems).toEqual([]);
    expect(r.interfaces).toEqual([
      { name: 'lo', line: 3, inet: null, inet6: null },
      {
        name: 'eth0',
        line: 5,
        inet: { method: 'static', address: '10.0.0.1', prefixLength: 24, gateway: null, line: 5 },
        inet6: { method: 'static', address: 'fd00::1', prefixLength: 64, gateway: 'fe80::1', line: 10 },
      },
      { name: 'wlan0', line: 14, inet: { method: 'static', address: '192.168.0.1', prefixLength: 24, gateway: '192.168.0.254', line: 14 }, inet6: null },
    ]);
  });

  it.each(['::1', '::', 'fd00::ffff', 'fd01::1', 'FD00::ABCD', '2001:db8:0:0:0:0:0:1', '2001:db8::', '::ffff:10.0.0.1', '1:2:3:4:5:6:7::'])('IPv6 %s', (a) => {
    const r = parseInterfaces(lines('iface eth0 inet6 static', `address ${a}/64`), 'i');
    expect(r.problems).toEqual([]);
    expect(r.interfaces[0]?.inet6?.address).toBe(a);
  });

  it.each(['1:2:3:4:5:6:7:8:9', ':1', '1:', '::1::', 'g::1', '1.2.3.4', '::ffff:1.2.3', 'fe80::1%eth0', '1:2:3:4:5:6:7:8::'])('not IPv6: %s', (a) => {
    expect(parseInterfaces(lines('iface eth0 inet6 static', `address ${a}/64`), 'i').problems).toHaveLength(1);
  });

  it('sysctl: -key ignores errors, / separators, ; comments, no spaces', () => {
    const r = parseSysctl(
      lines(
        '; semicolon comment',
        '-net.ipv6.conf.all.disable_ipv6=1',
        'net/ipv4/conf/eth0.100/rp_filter = 2',
        'kernel.hostname=a=b',
        '  vm.swappiness   =   10  ',
      ),
      's',
    );
    expect(r.problems).toEqual([]);
    expect(r.entries.map((e) => [e.key, e.value, e.line, e.ignoreErrors])).toEqual([
      ['net.ipv6.conf.all.disable_ipv6', '1', 2, true],
      ['net.ipv4.conf.eth0/100.rp_filter', '2', 3, false],
      ['kernel.hostname', 'a=b', 4, false],
      ['vm.swappiness', '10', 5, false],
    ]);
  });

  it('sysctlPath and scope', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('net/ipv4/ip_forward');
    expect(sysctlPath('net.ipv4.conf.eth0/100.rp_filter')).toBe('net/ipv4/conf/eth0.100/rp_filter');
    for (const k of [
      'kernel.panic',
      'fs.protected_hardlinks',
      'vm.swappiness',
      'dev.tty.ldisc_autoload',
      'user.max_user_namespaces',
      'debug.exception-trace',
      'abi.vsyscall32',
    ]) {
      expect(scope(k), k).toBe('global');
    }
    expect(scope('net.ipv4.ip_forward')).toBe('net');
    expect(scope('net.core.somaxconn')).toBe('net');
    expect(scope('netfilter.x')).toBe('global');
  });

  it('udhcpd: option and opt, case-insensitive keywords, trailing comments, placeholders in comments ignored', () => {
    const t = udhcpd(
      lines(
        'INTERFACE eth0 # serve the host',
        'start 10.0.0.2',
        'end 10.0.0.2',
        'option lease 600',
        'opt search %%SEARCH%%',
        '#opt x %%FOO%%',
        'opt domain lan # %%BAR%%',
      ),
    );
    expect(t).toMatchObject({ interface: 'eth0', leaseSeconds: 600, placeholders: ['SEARCH'] });
    const out = renderUdhcpd(t, { dns: [], domain: null, search: ['a.lan'] });
    expect(out).toContain('\nINTERFACE eth0 # serve the host\n');
    expect(out).toContain('\nopt search a.lan\nopt domain lan\n');
    expect(out).not.toContain('%%');
  });

  it('hostname: comments and blank lines before the name', () => {
    expect(parseHostname(lines('# the name', '', '  wifibox-2.lan  '), 'h')).toEqual({ hostname: 'wifibox-2.lan', problems: [] });
    expect(hostnameFault('9box')).toBeNull();
  });

  it('iptables: user chains, inserts, counters on rules, several tables', () => {
    expect(
      checkIptablesRestore(
        lines(
          '*mangle',
          ':PREROUTING ACCEPT [1:2]',
          ':mine - [0:0]',
          '-N other',
          '-I PREROUTING 1 -j mine',
          '[3:4] -A mine -j RETURN',
          'COMMIT',
          '*raw',
          'COMMIT',
        ),
        'i',
      ),
    ).toEqual([]);
  });
});

describe('loadGuestConfig', () => {
  const STATION_IFACES = lines('iface eth0 inet static', '  address 10.0.0.1/24', 'iface wlan0 dhcp');
  const AP_IFACES = lines('iface eth0 inet static', '  address 10.0.0.2/24', 'iface wlan0 inet static', '  address 192.168.0.1/24');

  it('interfaces.conf is required; every other file is optional', () => {
    const c = loadGuestConfig(fakeTree({}));
    expect(c.problems).toEqual([{ file: '/media/etc/interfaces.conf', line: 0, severity: 'error', message: expect.stringContaining('file not found') }]);
    const d = loadGuestConfig(fakeTree({ 'interfaces.conf': STATION_IFACES }));
    expect(d).toEqual({
      dir: '/media/etc',
      hostname: null,
      interfaces: expect.any(Array),
      sysctl: [],
      iptables: null,
      ip6tables: null,
      udhcpd: null,
      dhcpcdConf: null,
      radvd: null,
      settings: { relay: true, relay_timeout: 1, relay_max_queries: 256, cache: 1000, arp_probe: false, start_delay: false, rapid_commit: true },
      flavor: 'station',
      problems: [],
    });
  });

  it('the interfaces are the ones wifibox-init is told, not literal eth0 and wlan0', () => {
    const renamed = STATION_IFACES.replace(/wlan0/g, 'wlp1s0').replace(/eth0/g, 'enp0s5');
    const c = loadGuestConfig(fakeTree({ 'interfaces.conf': renamed }), { lanInterface: 'enp0s5', wirelessInterface: 'wlp1s0' });
    expect(c.problems).toEqual([]);
    expect(c.flavor).toBe('station');
    const ap = loadGuestConfig(fakeTree({ 'interfaces.conf': AP_IFACES.replace(/wlan0/g, 'wlp1s0') }), { wirelessInterface: 'wlp1s0' });
    expect(ap.problems).toEqual([]);
    expect(ap.flavor).toBe('access-point');
    // With the default names, the renamed file lacks them: said with the names looked for.
    expect(loadGuestConfig(fakeTree({ 'interfaces.conf': renamed })).problems.map((p) => p.message)).toEqual([
      expect.stringContaining('no iface wlan0 inet stanza'),
      expect.stringContaining('no iface eth0 inet stanza'),
    ]);
  });

  it('reads from another folder, sysctl.d/*.conf by name and before sysctl.conf', () => {
    const files = fakeTree(
      {
        'interfaces.conf': STATION_IFACES,
        'sysctl.conf': 'a.b = 3\n',
        'sysctl.d/20-b.conf': 'a.b = 2\n',
        'sysctl.d/10-a.conf': 'a.b = 1\n',
        'sysctl.d/README': 'not = read\n',
      },
      '/tmp/etc',
    );
    const c = loadGuestConfig(files, { dir: '/tmp/etc' });
    expect(c.problems).toEqual([]);
    expect(c.sysctl.map((e) => [e.file, e.value])).toEqual([
      ['/tmp/etc/sysctl.d/10-a.conf', '1'],
      ['/tmp/etc/sysctl.d/20-b.conf', '2'],
      ['/tmp/etc/sysctl.conf', '3'],
    ]);
  });

  it('flavor and required interfaces', () => {
    expect(
      loadGuestConfig(
        fakeTree({ 'interfaces.conf': lines('iface eth0 inet static', 'address 10.0.0.1/24', 'iface wlan0 inet static', 'address 192.168.0.1/24') }),
      ).flavor,
    ).toBe('access-point');
    const noWlan = loadGuestConfig(fakeTree({ 'interfaces.conf': lines('iface eth0 inet static', 'address 10.0.0.1/24') }));
    expect(noWlan.problems).toEqual([
      expect.objectContaining({ line: 1, message: expect.stringContaining('no iface wlan0 inet stanza; expected iface wlan0 dhcp (station)') }),
    ]);
    const noEth = loadGuestConfig(fakeTree({ 'interfaces.conf': lines('iface wlan0 dhcp') }));
    expect(noEth.problems).toEqual([expect.objectContaining({ message: expect.stringContaining('no iface eth0 inet stanza') })]);
    // A broken file already says what is wrong: no second guess on top.
    const broken = loadGuestConfig(
      fakeTree({ 'interfaces.conf': lines('iface eth0 inet static', 'address 10.0.0.1/24', 'iface wlan0 inet static', 'address 192.168.0.1') }),
    );
    expect(broken.problems.map((p) => p.line)).toEqual([4]);
  });

  it('udhcpd must serve an interface with a static address, from its network', () => {
    const serveWlan = loadGuestConfig(
      fakeTree({ 'interfaces.conf': STATION_IFACES, 'udhcpd.conf': lines('start 10.0.0.2', 'end 10.0.0.9', 'interface wlan0') }),
    );
    expect(serveWlan.problems).toEqual([
      {
        file: '/media/etc/udhcpd.conf',
        line: 3,
        severity: 'error',
        message: expect.stringContaining('udhcpd serves wlan0, which gets its address by DHCP in interfaces.conf'),
      },
    ]);
    const outside = loadGuestConfig(
      fakeTree({ 'interfaces.conf': STATION_IFACES, 'udhcpd.conf': lines('interface eth0', 'start 192.168.0.2', 'end 192.168.0.9') }),
    );
    expect(outside.problems.map((p) => [p.line, p.severity, p.message.slice(0, 45)])).toEqual([
      [2, 'warning', "start 192.168.0.2 is outside eth0's network 1"],
      [3, 'warning', "end 192.168.0.9 is outside eth0's network 10."],
    ]);
  });

  it('a broken optional file is reported and its feature left off', () => {
    const c = loadGuestConfig(
      fakeTree({
        'interfaces.conf': STATION_IFACES,
        iptables: lines('*nat', '-A POSTROUTING -o wlan0 -j MASQUERADE'),
        'udhcpd.conf': lines('start 10.0.0.2'),
        'radvd.conf': lines('interface eth0 {'),
        hostname: 'bad_name\n',
      }),
    );
    expect(c).toMatchObject({ iptables: null, udhcpd: null, radvd: null, hostname: null });
    expect(c.problems.map((p) => `${p.file}:${p.line}`)).toEqual([
      '/media/etc/hostname:1',
      '/media/etc/iptables:1',
      '/media/etc/udhcpd.conf:1',
      '/media/etc/udhcpd.conf:1',
      '/media/etc/radvd.conf:1',
    ]);
  });
});
