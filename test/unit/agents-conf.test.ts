// /media/etc/wifibox-agents.conf: read with the ini package, checked against each agent's keys,
// every problem named with file and line, a bad value's key kept at its default.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAgentsConf } from '../../agents/common/agents-conf';
import { INIT_SETTINGS } from '../../agents/init/settings';
import { REPO } from '../helpers/paths';

const F = '/media/etc/wifibox-agents.conf';
const DEFAULTS = { relay: true, relay_timeout: 1, relay_max_queries: 256, cache: 1000, arp_probe: false, start_delay: false, rapid_commit: true };
const read = (text: string | null) => readAgentsConf(text, F, 'init', INIT_SETTINGS);

describe('wifibox-agents.conf', () => {
  it('absent or empty: every default, no problem', () => {
    expect(read(null)).toEqual({ settings: DEFAULTS, problems: [] });
    expect(read('')).toEqual({ settings: DEFAULTS, problems: [] });
  });

  it('takes yes/no, true/false, on/off, 1/0 and numbers in range, comments after values', () => {
    const r = read(
      '[init]\nrelay = No ; back to before\narp_probe=on\nstart_delay = 1\nrapid_commit = false # no\nrelay_timeout = 2.5\nrelay_max_queries = 64\ncache = 0\n',
    );
    expect(r.problems).toEqual([]);
    expect(r.settings).toEqual({ relay: false, relay_timeout: 2.5, relay_max_queries: 64, cache: 0, arp_probe: true, start_delay: true, rapid_commit: false });
  });

  it('a bad value: FILE:LINE error, that key keeps its default, the others apply', () => {
    const r = read('# settings\n[init]\nrelay_timeout = soon\narp_probe = yes\nrelay_max_queries = 1.5\nrelay = maybe\n');
    expect(r.settings).toEqual({ ...DEFAULTS, arp_probe: true });
    expect(r.problems).toEqual([
      {
        file: F,
        line: 3,
        severity: 'error',
        message: "relay_timeout = 'soon' is not valid; expected a number from 0.1 to 10 (seconds) (the default, 1, is used)",
      },
      {
        file: F,
        line: 5,
        severity: 'error',
        message: "relay_max_queries = '1.5' is not valid; expected a whole number from 16 to 4096 (the default, 256, is used)",
      },
      { file: F, line: 6, severity: 'error', message: "relay = 'maybe' is not valid; expected yes or no (the default, yes, is used)" },
    ]);
  });

  it('unknown keys and sections, and keys outside a section, are warnings (a typo never passes silently)', () => {
    const r = read('relay = no\n[init]\nrelai = no\n[forwardng]\nx = 1\n');
    expect(r.settings).toEqual(DEFAULTS);
    expect(r.problems.map((p) => `${p.line} ${p.severity} ${p.message}`)).toEqual([
      "1 warning 'relay' is outside any section (ignored); expected it under [init]",
      '4 warning unknown section [forwardng] (ignored); expected [init]',
      "3 warning unknown key 'relai' in [init] (ignored); expected one of relay, relay_timeout, relay_max_queries, cache, arp_probe, start_delay, rapid_commit",
    ]);
  });

  it('a key outside any section named like a section (ini then drops that section whole) is an error with its line, not a silently lost section', () => {
    const r = read('# mine\ninit = yes\n[init]\nrelay = no\n');
    expect(r.settings).toEqual(DEFAULTS);
    expect(r.problems.map((p) => `${p.line} ${p.severity} ${p.message}`)).toEqual([
      "2 error 'init' outside any section hides the section [init] (line 3): none of its settings is read; remove this line or put it under a section",
    ]);
    // Without the stray line the section is read.
    expect(read('# mine\n[init]\nrelay = no\n').settings.relay).toBe(false);
  });

  it('a key set twice has its later value, and a problem points at that later line', () => {
    const r = read('[init]\nrelay_timeout = 2\n\n[init]\nrelay_timeout = never\n');
    expect(r.problems.map((p) => p.line)).toEqual([5]);
  });

  it('a value in quotes is that value: single quotes make `ini` read a number, which is taken too', () => {
    const r = read(`[init]\nrelay_timeout = '2.5'\nrelay_max_queries = "64"\nrelay = '0'\narp_probe = 'yes'\n`);
    expect(r.problems).toEqual([]);
    expect(r.settings).toEqual({ ...DEFAULTS, relay_timeout: 2.5, relay_max_queries: 64, relay: false, arp_probe: true });
  });

  it('a quoted key, a key[] and a line ended by CR alone: each problem at its own line', () => {
    const r = read('# c\n[init]\n"relay_timeout" = soon\nrelay[] = maybe\nstart_delay = 2\rrapid_commit = 3\n');
    expect(r.problems.map((p) => `${p.line} ${p.message.split(' ')[0]}`)).toEqual(['3 relay_timeout', '4 relay', '5 start_delay', '5 rapid_commit']);
  });

  it('a list (key[]) or a section ([init.key]) for a setting is named as such, not as its text', () => {
    const r = read('[init]\nrelay[] = yes\n[init.arp_probe]\nx = 1\n');
    expect(r.problems.map((p) => `${p.line} ${p.message}`)).toEqual([
      '2 relay is a list (relay[] = …); expected yes or no (the default, yes, is used)',
      '3 arp_probe is a section ([init.arp_probe]); expected yes or no (the default, no, is used)',
    ]);
  });

  it('keys every object has (constructor, toString) are unknown keys, not settings', () => {
    const r = read('[init]\nconstructor = 1\ntoString = yes\n');
    expect(r.settings).toEqual(DEFAULTS);
    expect(r.problems.map((p) => `${p.line} ${p.severity} ${p.message.split(' (ignored)')[0]}`)).toEqual([
      "2 warning unknown key 'constructor' in [init]",
      "3 warning unknown key 'toString' in [init]",
    ]);
  });

  it('what the file holds is quoted in one printable line', () => {
    const r = read('\x1b[2J = 1\n[init]\nrelay = \x07\n');
    expect(r.problems.map((p) => p.message)).toEqual([
      "'?[2J' is outside any section (ignored); expected it under [init]",
      "relay = '?' is not valid; expected yes or no (the default, yes, is used)",
    ]);
  });

  it('the packaged sample lists every key with its default, and reads without a problem once uncommented', () => {
    const sample = readFileSync(join(REPO, 'apk', 'wifibox-agents.conf.sample'), 'utf8');
    const uncommented = sample.replace(/^#(\w+ = )/gm, '$1');
    const r = read(uncommented);
    expect(r.problems).toEqual([]);
    expect(r.settings).toEqual(DEFAULTS);
    const listed = [...uncommented.matchAll(/^(\w+) = /gm)].map((m) => m[1]);
    expect(listed).toEqual(Object.keys(INIT_SETTINGS));
    expect(read(sample)).toEqual({ settings: DEFAULTS, problems: [] });
  });
});
