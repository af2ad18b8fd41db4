// The bundled agents' command line: --help, --version, and bad options refused with exit 64.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST } from '../helpers/paths';

const agents = ['wifibox-passthru', 'wifibox-forward', 'wifibox-init', 'wifibox-diag'];
const runAgent = (name: string, args: string[]) => spawnSync(process.execPath, [join(DIST, `${name}.js`), ...args], { encoding: 'utf8' });

describe("agents' command line", () => {
  for (const name of agents) {
    it(`${name}: --help, --version, and an unknown option`, () => {
      const help = runAgent(name, ['--help']);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: ${name} `));
      const version = runAgent(name, ['--version']);
      expect(version.stdout).toMatch(new RegExp(`^${name} \\d+\\.\\d+\\.\\d+\\+`));
      const bad = runAgent(name, ['--no-such-option']);
      expect(bad.status).toBe(64);
      expect(bad.stderr).toMatch(/--no-such-option/);
    });
  }
});
