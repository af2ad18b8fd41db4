// The OpenRC service files keep the names and order the guest image's runlevels expect
// (shellcheck: test/lab/openrc.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths';

const INIT = join(REPO, 'init');
const scripts = ['wifibox-init.initd', 'uds_passthru.initd', 'forwarding.initd'].map((f) => join(INIT, f));

describe('OpenRC service files', () => {
  it('supervise the agents and order them as the old services were', () => {
    const init = readFileSync(scripts[0]!, 'utf8');
    const passthru = readFileSync(scripts[1]!, 'utf8');
    const forwarding = readFileSync(scripts[2]!, 'utf8');
    for (const s of [init, passthru, forwarding]) {
      expect(s.startsWith('#!/sbin/openrc-run\n')).toBe(true);
      expect(s).toMatch(/^supervisor=supervise-daemon$/m);
      expect(s).toMatch(/^respawn_max=/m);
    }
    expect(init).toMatch(/^command="\/usr\/sbin\/wifibox-init"$/m);
    expect(init).toMatch(/^\s*provide net firewall$/m);
    expect(passthru).toMatch(/^command="\/usr\/sbin\/wifibox-passthru"$/m);
    expect(passthru).toMatch(/^\s*need net$/m);
    expect(passthru).toMatch(/^\s*after firewall wpa_supplicant hostapd$/m);
    // forwarding keeps the old service's name and order; reload is SIGHUP, as uds_passthru's.
    expect(forwarding).toMatch(/^name="forwarding"$/m);
    expect(forwarding).toMatch(/^command="\/usr\/sbin\/wifibox-forward"$/m);
    expect(forwarding).toMatch(/^\s*need net$/m);
    expect(forwarding).toMatch(/^\s*after firewall$/m);
    for (const s of [passthru, forwarding]) expect(s).toMatch(/^\s*supervise-daemon "\$\{RC_SVCNAME\}" --signal HUP$/m);
  });
});
