// A diag bundle unpacked by a real tar program must give exactly the files our own reader sees.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { buildBundle } from '../../agents/diag/bundle';
import { FILES, fakeSystem, members, plantedInput } from './diag-bundle-fixtures';

export function expectTarExtractsBundle(tool: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'diag-bundle-tar-'));
  try {
    const gz = join(dir, 'b.tar.gz');
    writeFileSync(gz, buildBundle(plantedInput(), fakeSystem(FILES)));
    const out = join(dir, 'x');
    mkdirSync(out);
    const r = spawnSync(tool[0]!, [...tool.slice(1), '-xzf', gz, '-C', out], { encoding: 'utf8' });
    expect(r.error, `${tool.join(' ')} must be installed`).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
    const extracted = new Map(walk(out).map((f) => [relative(out, f), readFileSync(f, 'utf8')]));
    const expected = new Map(members(buildBundle(plantedInput(), fakeSystem(FILES))).map((m) => [m.name, m.data.toString('utf8')]));
    expect(extracted).toEqual(expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
