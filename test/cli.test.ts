// The command line every agent shares: --help, --version, and bad options refused with exit 64.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { numberOption, UsageError } from '../agents/common/cli';

const DIST = join(__dirname, '..', 'dist');
const agents = ['wifibox-passthru', 'wifibox-init', 'wifibox-diag'];
const runAgent = (name: string, args: string[]) => spawnSync(process.execPath, [join(DIST, `${name}.js`), ...args], { encoding: 'utf8' });

describe('agents\' command line', () => {
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

  it('numbers: plain decimal only, in range, whole where it must be', () => {
    expect(numberOption('n', '64', 1, 4096, true)).toBe(64);
    expect(numberOption('t', '0.5', 0, 10)).toBe(0.5);
    for (const v of ['1.5', '0x10', '1e3', ' 5', '', '-1', '5000']) {
      expect(() => numberOption('n', v, 1, 4096, true), v).toThrow(UsageError);
    }
    expect(() => numberOption('t', '11', 0, 10)).toThrow(/expected a number from 0 to 10, got '11'/);
  });
});
