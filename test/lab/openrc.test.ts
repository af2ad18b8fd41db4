// The OpenRC service files are shellcheck clean: openrc-run scripts are POSIX sh; so is the lab's
// script for the host's ISC dhclient.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../lab/proc';
import { REPO } from '../helpers/paths';

const scripts = ['wifibox-init.initd', 'uds_passthru.initd', 'forwarding.initd'].map((f) => join(REPO, 'init', f));

describe('OpenRC service files', () => {
  it('pass shellcheck', async () => {
    const r = await run(['shellcheck', '--shell=sh', '--severity=style', ...scripts]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it("the lab's dhclient script passes shellcheck too", async () => {
    const r = await run(['shellcheck', '--shell=sh', '--severity=style', join(REPO, 'lab', 'dhclient-script.sh')]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});
