// The OpenRC service files keep the names and order the guest image's runlevels expect
// (shellcheck: test/lab/openrc.test.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths';

const INIT = join(REPO, 'init');
const scripts = ['wifibox-init.initd', 'uds_passthru.initd', 'forwarding.initd'].map((f) => join(INIT, f));

describe('OpenRC service files', () => {
  it('supervise the two runtimes and order the services as the old ones were', () => {
    const init = readFileSync(scripts[0]!, 'utf8');
    const passthru = readFileSync(scripts[1]!, 'utf8');
    const forwarding = readFileSync(scripts[2]!, 'utf8');
    for (const s of [init, passthru, forwarding]) expect(s.startsWith('#!/sbin/openrc-run\n')).toBe(true);
    for (const s of [init, forwarding]) {
      expect(s).toMatch(/^supervisor=supervise-daemon$/m);
      expect(s).toMatch(/^respawn_max=/m);
    }
    expect(init).toMatch(/^command="\/usr\/sbin\/wifibox-init"$/m);
    expect(init).toMatch(/^\s*provide net firewall$/m);
    // The passthrough is a part of wifibox-init's runtime: its service starts no process of its own.
    expect(passthru).not.toMatch(/^(supervisor|command)=/m);
    expect(passthru).toMatch(/^parts="\/run\/wifibox-init\/parts"$/m);
    expect(passthru).toMatch(/^\s*need wifibox-init$/m);
    expect(passthru).toMatch(/^\s*after firewall wpa_supplicant hostapd$/m);
    expect(passthru).toMatch(/^\s*supervise-daemon wifibox-init --signal HUP$/m);
    // forwarding keeps the old service's name and order; reload is SIGHUP, as uds_passthru's.
    expect(forwarding).toMatch(/^name="forwarding"$/m);
    expect(forwarding).toMatch(/^command="\/usr\/sbin\/wifibox-forward"$/m);
    expect(forwarding).toMatch(/^\s*need net$/m);
    expect(forwarding).toMatch(/^\s*after firewall$/m);
    expect(forwarding).toMatch(/^\s*supervise-daemon "\$\{RC_SVCNAME\}" --signal HUP$/m);
  });

  it('uds_passthru start takes a run folder wifibox-init makes at the same moment (mkdir finds it there)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wbx-initd-'));
    mkdirSync(join(dir, 'run'));
    try {
      // OpenRC's helpers stubbed; mkdir loses the race: the folder appears, and mkdir fails.
      const script = `. "$1"; parts="$2/run/wifibox-init/parts"
        ebegin() { :; }; eend() { return "$1"; }; eerror() { echo "$*" >&2; }; wait_state() { return 0; }
        mkdir() { command mkdir "$@"; return 1; }
        start`;
      execFileSync('sh', ['-c', script, 'sh', scripts[1]!, dir], { stdio: 'pipe' });
      expect(readFileSync(join(dir, 'run/wifibox-init/parts/passthru.args'), 'utf8')).toMatch(/^# rc-service .* start/);
      expect(existsSync(join(dir, 'run/wifibox-init/parts/passthru.args.new'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
