// Property-based fuzzing of loadGuestConfig over a whole /media/etc: the upstream sample trees
// with files mutated, removed or added. It must never throw, name only files the folder has (or
// the missing interfaces.conf) at lines they have, give each file's part exactly as that file's
// parser does, and find nothing wrong across files without an error saying so.
import fc from 'fast-check';
import { posix } from 'node:path';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAgentsConf } from '../../agents/common/agents-conf';
import { parseIPv4, sameNetwork4 } from '../../agents/common/ipv4';
import { GUEST_PATHS } from '../../agents/common/paths';
import {
  checkIptablesRestore,
  loadGuestConfig,
  parseHostname,
  parseInterfaces,
  parseRadvdTemplate,
  parseSysctl,
  parseUdhcpdTemplate,
} from '../../agents/init/config';
import { INIT_SETTINGS } from '../../agents/init/settings';
import { check, COMMON_HAZARDS, expectProblemsOnRealLines, hasError, mutated, timed, type Problem } from '../helpers/fuzz';
import { REPO } from '../helpers/paths';
import { sampleFiles } from '../helpers/samples';

const DIR = GUEST_PATHS.confDir;
const at = (name: string): string => posix.join(DIR, name);
const TREES = [
  ['wpa_supplicant/appliance'],
  ['hostapd/appliance'],
  ['wpa_supplicant/appliance', 'optional/ipv6/wpa_supplicant/appliance'],
  ['hostapd/appliance', 'optional/ipv6/hostapd/appliance'],
].map((dirs) => {
  const files = sampleFiles(dirs);
  // The packaged settings sample, its settings uncommented.
  files.set(at('wifibox-agents.conf'), readFileSync(join(REPO, 'apk', 'wifibox-agents.conf.sample'), 'utf8').replace(/^#(\w+ = )/gm, '$1'));
  return files;
});
const HAZARDS = [
  '%%DNS%%',
  '{',
  '};',
  'iface',
  'eth0',
  'wlan0',
  'inet',
  'static',
  'address',
  '10.0.0.1/24',
  'interface',
  'start',
  'COMMIT',
  '=',
  '[init]',
  ...COMMON_HAZARDS,
];

/** A sample tree with each file kept, mutated or removed, and sysctl.d drop-ins added (some not *.conf). */
const folder = fc
  .constantFrom(...TREES)
  .chain((tree) =>
    fc.tuple(
      fc.tuple(
        ...[...tree].map(([path, text]) =>
          fc
            .oneof({ weight: 3, arbitrary: fc.constant(text) }, { weight: 2, arbitrary: mutated([text], HAZARDS) }, fc.constant(null))
            .map((t) => [path, t] as const),
        ),
      ),
      fc.array(
        fc.tuple(
          fc.constantFrom('00-a.conf', 'Z.conf', 'b.conf', 'README', 'x.conf.bak', 'ä.conf'),
          fc.constantFrom('net.ipv4.ip_forward = 1', 'kernel.panic', '-vm.swappiness = 10\n# c'),
        ),
        { maxLength: 3 },
      ),
    ),
  )
  .map(([kept, dropIns]) => {
    const files = new Map<string, string>();
    for (const [path, text] of kept) if (text !== null) files.set(path, text);
    for (const [name, text] of dropIns) files.set(at(`sysctl.d/${name}`), text);
    return files;
  });

describe('loadGuestConfig', () => {
  it('any folder: never throws, problems at real lines of files it has, each part as its parser gives it, no silent cross-file fault', () => {
    let clean = 0;
    check(folder, 2000, (files) => {
      const cfg = timed('loadGuestConfig', () =>
        loadGuestConfig({
          read: (p) => files.get(p) ?? null,
          list: (d) => [...files.keys()].filter((k) => posix.dirname(k) === d).map((k) => posix.basename(k)),
        }),
      );
      const text = (name: string): string | null => files.get(at(name)) ?? null;

      // Problems: grouped by file, each file's at lines it has; only the missing interfaces.conf at line 0.
      const byFile = new Map<string, Problem[]>();
      for (const p of cfg.problems) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
      for (const [file, problems] of byFile) {
        const t = files.get(file);
        if (t === undefined) expect(problems.map((p) => [p.file, p.line, p.severity])).toEqual([[at('interfaces.conf'), 0, 'error']]);
        else expectProblemsOnRealLines(problems, t, file, file === at('wifibox-agents.conf'));
      }

      // Each part is its parser's result on its file: nothing lost or changed on the way.
      const parsed = <R>(name: string, parse: (t: string, f: string) => R): R | null => (text(name) === null ? null : parse(text(name)!, at(name)));
      expect(cfg.hostname).toBe(parsed('hostname', parseHostname)?.hostname ?? null);
      expect(cfg.interfaces).toEqual(parsed('interfaces.conf', parseInterfaces)?.interfaces ?? []);
      expect(cfg.udhcpd).toEqual(parsed('udhcpd.conf', parseUdhcpdTemplate)?.template ?? null);
      expect(cfg.radvd).toEqual(parsed('radvd.conf', parseRadvdTemplate)?.template ?? null);
      expect(cfg.settings).toEqual(readAgentsConf(text('wifibox-agents.conf'), at('wifibox-agents.conf'), 'init', INIT_SETTINGS).settings);
      for (const name of ['iptables', 'ip6tables'] as const) {
        const t = text(name);
        expect(cfg[name]).toEqual(t === null || hasError(checkIptablesRestore(t, at(name))) ? null : { file: at(name), text: t });
      }
      // sysctl.d/*.conf in byte order, then sysctl.conf: later files win, as `sysctl --system` has it.
      const dropIns = [...files.keys()]
        .filter((k) => posix.dirname(k) === at('sysctl.d') && k.endsWith('.conf'))
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(cfg.sysctl).toEqual([...dropIns, at('sysctl.conf')].flatMap((f) => (files.has(f) ? parseSysctl(files.get(f)!, f).entries : [])));
      expect(cfg.dhcpcdConf).toBe(text('dhcpcd.conf') === null ? null : at('dhcpcd.conf'));

      // Across files: without an error, both interfaces are configured and udhcpd serves its own network.
      if (hasError(cfg.problems)) return;
      clean++;
      const inet = (name: string) => cfg.interfaces.find((i) => i.name === name)?.inet ?? null;
      expect(inet('eth0')).not.toBeNull();
      expect(inet('wlan0')).not.toBeNull();
      expect(cfg.flavor).toBe(inet('wlan0')?.method === 'static' ? 'access-point' : 'station');
      const served = cfg.udhcpd === null ? null : inet(cfg.udhcpd.interface);
      if (cfg.udhcpd !== null) expect(served?.method).toBe('static');
      if (cfg.udhcpd !== null && served?.method === 'static') {
        const inside = (ip: string) => sameNetwork4(parseIPv4(ip)!, parseIPv4(served.address)!, served.prefixLength);
        // Outside is a warning: it must then be in the problems.
        if (!inside(cfg.udhcpd.start) || !inside(cfg.udhcpd.end))
          expect(cfg.problems.some((p) => p.file === at('udhcpd.conf') && p.message.includes('is outside'))).toBe(true);
      }
    });
    // Enough folders come through whole for the cross-file checks to mean something.
    expect(clean).toBeGreaterThan(100);
  });
});
