// The addon's rtnetlink watch (watchRoute), in a network namespace of its own (unshare -n): the
// kernel's link and address events reach the process (a veth pair: the lab's own kind of link), and nothing else wakes it meanwhile.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { addonPath, ROUTE_GROUPS } from '../../agents/common/unix-dgram';

// Runs in the new namespace, on the addon itself: counts events while `ip` adds a veth pair, an address, and removes it.
const SCRIPT = `
const mod = { exports: {} };
process.dlopen(mod, process.argv[1]);
const addon = mod.exports;
const { execFileSync } = require('node:child_process');
const seen = { link: 0, address: 0 };
const links = addon.watchRoute(${ROUTE_GROUPS.link}, () => seen.link++);
const addrs = addon.watchRoute(${ROUTE_GROUPS.ipv4Address}, () => seen.address++);
const step = (argv) => execFileSync('ip', argv);
(async () => {
  await new Promise((r) => setTimeout(r, 200));
  const before = { ...seen };
  step(['link', 'add', 'wbxtest0', 'type', 'veth', 'peer', 'name', 'wbxtest1']);
  step(['link', 'set', 'wbxtest1', 'up']);
  step(['link', 'set', 'wbxtest0', 'up']);
  step(['addr', 'add', '10.255.0.1/24', 'dev', 'wbxtest0']);
  step(['link', 'del', 'wbxtest0']);
  for (let i = 0; i < 100 && (seen.link < 3 || seen.address < 2); i++) await new Promise((r) => setTimeout(r, 20));
  addon.close(links);
  addon.close(addrs);
  console.log(JSON.stringify({ before, after: seen }));
})();
`;

describe('rtnetlink watch (native addon)', () => {
  it('tells of a link added, brought up and removed, and of its address, in the namespace it runs in', () => {
    const r = spawnSync('unshare', ['-n', process.execPath, '-e', SCRIPT, addonPath()], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { before: { link: number; address: number }; after: { link: number; address: number } };
    // Nothing happened in the new namespace before the steps: no event.
    expect(out.before).toEqual({ link: 0, address: 0 });
    // add, up (and carrier), del: at least three link events; the address added and removed: two.
    expect(out.after.link).toBeGreaterThanOrEqual(3);
    expect(out.after.address).toBeGreaterThanOrEqual(2);
  });
});
