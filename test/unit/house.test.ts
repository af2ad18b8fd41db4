// The house rules a maintainer relies on, counted from the code itself with TypeScript's own
// parser: no import circle, no function longer than a screen in the agents or the benches, and
// the tests typed with the status types (`any` only where a test must take any shape).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import * as ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const MAX_FUNCTION_LINES = 80;
const MAX_ANY_IN_TESTS = 5;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(path));
    else if (e.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const parsed = new Map<string, ts.SourceFile>();
function source(file: string): ts.SourceFile {
  let s = parsed.get(file);
  if (!s) {
    s = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
    parsed.set(file, s);
  }
  return s;
}

function walk(node: ts.Node, visit: (n: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** The files a file imports or re-exports from, type-only imports included. */
function importsOf(file: string, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const st of source(file).statements) {
    if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || !st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    const spec = st.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    const base = normalize(join(dirname(file), spec));
    const target = [`${base}.ts`, join(base, 'index.ts')].find((c) => known.has(c));
    if (target) out.push(target);
  }
  return out;
}

/** Every set of files that import each other, directly or around (Tarjan's strongly connected components). */
function importCircles(files: string[]): string[][] {
  const known = new Set(files);
  const edges = new Map(files.map((f) => [f, importsOf(f, known)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) circles.push(component.sort());
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return circles;
}

/** Functions (declarations, methods, arrows, expressions) with a body, first line to last; an inner function counts apart and within its parent. */
function longFunctions(files: string[], max: number): string[] {
  const out: string[] = [];
  for (const file of files) {
    const s = source(file);
    walk(s, (n) => {
      if (!ts.isFunctionLike(n) || !('body' in n) || !n.body) return;
      const first = s.getLineAndCharacterOfPosition(n.getStart(s)).line;
      const lines = s.getLineAndCharacterOfPosition(n.getEnd()).line - first + 1;
      if (lines > max) out.push(`${file}:${first + 1} (${lines} lines)`);
    });
  }
  return out;
}

function anyKeywords(files: string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const s = source(file);
    walk(s, (n) => {
      if (n.kind === ts.SyntaxKind.AnyKeyword) out.push(`${file}:${s.getLineAndCharacterOfPosition(n.getStart(s)).line + 1}`);
    });
  }
  return out;
}

describe('the house rules', () => {
  const code = ['agents', 'bench', 'lab', 'test'].flatMap(tsFiles);

  it('no two files import each other, directly or around', () => {
    expect(importCircles(code)).toEqual([]);
  });

  it(`no function in agents/ or bench/ is over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(longFunctions(['agents', 'bench'].flatMap(tsFiles), MAX_FUNCTION_LINES)).toEqual([]);
  });

  it(`test/ and lab/ use \`any\` at most ${MAX_ANY_IN_TESTS} times`, () => {
    const found = anyKeywords(['test', 'lab'].flatMap(tsFiles));
    expect(found.length, found.join('\n')).toBeLessThanOrEqual(MAX_ANY_IN_TESTS);
  });

  it('agents/ and bench/ use no `any`: the status types and `unknown` with narrowing serve', () => {
    expect(anyKeywords(['agents', 'bench'].flatMap(tsFiles))).toEqual([]);
  });

  it('the counters see what they count', () => {
    // A circle, a long function and an `any` planted in memory are found: the rules above can fail.
    parsed.set('x/a.ts', ts.createSourceFile('x/a.ts', "import { b } from './b';\nexport const a: any = 1;", ts.ScriptTarget.Latest, true));
    parsed.set(
      'x/b.ts',
      ts.createSourceFile('x/b.ts', `import { a } from './a';\nexport function b() {\n${'  a;\n'.repeat(90)}}`, ts.ScriptTarget.Latest, true),
    );
    expect(importCircles(['x/a.ts', 'x/b.ts'])).toEqual([['x/a.ts', 'x/b.ts']]);
    expect(longFunctions(['x/b.ts'], MAX_FUNCTION_LINES)).toEqual(['x/b.ts:2 (92 lines)']);
    expect(anyKeywords(['x/a.ts'])).toEqual(['x/a.ts:2']);
  });
});
