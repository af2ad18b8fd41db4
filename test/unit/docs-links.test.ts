// Every relative link in the README and docs/ points at a file that exists, and every #anchor at
// a heading of that file: a newcomer's first clicks must not end nowhere.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths';

const pages = [
  'README.md',
  'upstream-config/README.md',
  'apk/README.md',
  ...readdirSync(join(REPO, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor for a heading: lowercase, markup and punctuation dropped, spaces to '-'. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, (c) => (c === '_' ? '_' : ''))
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchorOf(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
}

describe('links in the README and docs/', () => {
  it("the README is a newcomer's page: at most 12 KB, the two commands first", () => {
    const readme = readFileSync(join(REPO, 'README.md'));
    expect(readme.length).toBeLessThanOrEqual(12 * 1024);
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme.toString())![1]!;
    expect(
      firstBlock
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('#')[0]!.trim()),
    ).toEqual(['npm run lab', 'npm test']);
  });

  it.each(pages)('%s: every relative link resolves', (page) => {
    const broken: string[] = [];
    for (const link of links(readFileSync(join(REPO, page), 'utf8'))) {
      const [path, anchor] = link.split('#') as [string, string | undefined];
      const target = path === '' ? join(REPO, page) : join(REPO, dirname(page), path);
      if (!existsSync(target)) broken.push(`${link}: no file ${relative(REPO, target)}`);
      else if (anchor !== undefined && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(anchor)) {
        broken.push(`${link}: no heading with that anchor`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('finds links where there are some (the check itself works)', () => {
    expect(links('see [a](docs/a.md#x) and `[b](c)` and [web](https://x.y)')).toEqual(['docs/a.md#x']);
    expect([...anchors('# wifibox-init: the `plan`\n## Bundle sizes\n## Bundle sizes\n')]).toEqual(['wifibox-init-the-plan', 'bundle-sizes', 'bundle-sizes-1']);
  });
});
