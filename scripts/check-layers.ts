// The layering rules of the repository, written down once, and the check that enforces them.
//
//   npx tsx scripts/check-layers.ts        (also part of `npm test`, and test/layers/layers.test.ts runs it)
//
// docs/architecture.md explains the layers; this table is the authority, the document quotes it.
// The check reads every .ts / .mts / .mjs source under the folders below, parses its imports with the
// TypeScript parser (static imports, `export … from`, `import()` calls and `import('x').T` types) and reports:
//
//   layer      a file imports a file of a layer it may not import (type-only imports count too: a type
//              from a higher layer is still a dependency on it);
//   cycle      files that import each other, directly or through others (type-only imports count too);
//   node-only  a file that must stay portable (it may be bundled for the browser) imports a Node-only
//              module (`node:*`, a Node builtin, or a Node-only package) or a Node-only file;
//   unresolved a relative import of a source file that does not exist.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export interface Layer {
  name: string;
  /** Path prefixes (repository-relative, with a trailing slash); the longest matching prefix wins. */
  paths: string[];
  /** Layers this one may import besides itself; '*' = any. */
  mayImport: string[] | '*';
  /** What the layer owns, for the error message and docs/architecture.md. */
  owns: string;
}

// Bottom to top: engine ← kernels ← nn ← models ← {inference, train} ← {cli, web, bench}.
// `data` (train/data/, train/metrics/) is the host-side audio and scoring library: it sits under inference
// and train so that both (and the front ends) can read audio, crop windows and compute metrics; it imports only
// engine/ (the seeded Rng). inference/ may import data but not the rest of train/; train/ may import inference/
// (evaluation scores clips exactly as deployment does).
export const LAYERS: readonly Layer[] = [
  { name: 'engine', paths: ['engine/'], mayImport: [], owns: 'device, tensors, buffer pool, scopes, autograd tape' },
  { name: 'kernels', paths: ['kernels/'], mayImport: ['engine'], owns: 'WGSL ops with their gradients, optimizer kernels, self-check' },
  { name: 'nn', paths: ['nn/'], mayImport: ['engine', 'kernels'], owns: 'the Module contract, parameter builder, layers, autograd helpers, optimizers over named parameters' },
  { name: 'models', paths: ['models/'], mayImport: ['engine', 'kernels', 'nn'], owns: 'XLS-R, Nes2Net, tracers, detector, weight I/O (models/io/)' },
  { name: 'data', paths: ['train/data/', 'train/metrics/'], mayImport: ['engine'], owns: 'audio decoding, crops and windows, protocols, loaders, metrics' },
  {
    name: 'inference',
    paths: ['inference/'],
    mayImport: ['engine', 'kernels', 'nn', 'models', 'data'],
    owns: 'clip → windows → scores for detection and tracing',
  },
  {
    name: 'train',
    paths: ['train/'],
    mayImport: ['engine', 'kernels', 'nn', 'models', 'data', 'inference'],
    owns: 'training loop, run directory, evaluation, reports, the demo',
  },
  { name: 'common', paths: ['common/'], mayImport: [], owns: 'helpers shared by the front ends: user errors and exit codes, progress bar' },
  {
    name: 'cli',
    paths: ['cli/'],
    // web: `spoofscan serve` runs the page's build-and-serve tooling (web/serve-lib.mjs).
    mayImport: ['engine', 'kernels', 'nn', 'models', 'data', 'inference', 'train', 'common', 'web'],
    owns: 'the spoofscan command line',
  },
  {
    name: 'web',
    paths: ['web/'],
    mayImport: ['engine', 'kernels', 'nn', 'models', 'data', 'inference', 'train', 'common'],
    owns: 'browser bundle and its build/serve tooling',
  },
  {
    name: 'bench',
    paths: ['bench/'],
    mayImport: ['engine', 'kernels', 'nn', 'models', 'data', 'inference', 'train', 'common'],
    owns: 'benchmarks (Node)',
  },
  { name: 'tools', paths: ['test/', 'scripts/', 'bin/', ''], mayImport: '*', owns: 'tests, scripts, the bin launcher, root config files' },
];

/** Folders whose files may import Node-only modules (besides Node-only files anywhere): Node programs that
 *  are never bundled for the browser. */
export const NODE_PLACES: readonly string[] = [
  'cli/',
  'test/',
  'bench/', // Node benchmarks: run by `spoofscan bench` or bundled for Node by scripts/bench-bundle.mjs
  'scripts/',
  'bin/',
  'web/build.mjs', // builds the browser bundle (esbuild)
  'web/serve.mjs', // serves the page for manual runs
  'web/static-server.mjs', // the HTTP server the browser tests use
  'web/serve-lib.mjs', // builds and serves the page (spoofscan serve, web/serve.mjs)
  'vitest.config.ts',
];

/** A Node-only file by name: `*.node.ts` / `*.node.mts` / `*.node.mjs`, and the engine's Node entry `engine/node.ts`. */
export function isNodeOnlyFile(path: string): boolean {
  return /(^|\/)([^/]+\.)?node\.(ts|mts|mjs)$/.test(path);
}

/** npm packages that only run in Node (native bindings, build and test tooling). */
export const NODE_ONLY_PACKAGES: readonly string[] = ['webgpu', 'tsx', 'esbuild', 'playwright-core', 'vitest'];

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

export function isNodeOnlyModule(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  const pkg = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  return BUILTINS.has(pkg) || NODE_ONLY_PACKAGES.includes(pkg) || pkg.startsWith('@vitest/');
}

/** The folders the check reads (relative to the repository root), and the root files it reads. */
export const SOURCE_DIRS: readonly string[] = ['engine', 'kernels', 'nn', 'models', 'inference', 'train', 'common', 'cli', 'web', 'bench', 'test', 'scripts', 'bin'];
export const ROOT_FILES: readonly string[] = ['vitest.config.ts'];
/** Folders skipped while walking (data, not code). */
const SKIP_DIRS = new Set(['node_modules', 'fixtures', 'results', 'dist']);

export interface SourceFile {
  /** Repository-relative, '/'-separated. */
  path: string;
  text: string;
}

export interface Import {
  specifier: string;
  /** Repository-relative path of the imported source file; null for packages and builtins. */
  target: string | null;
  typeOnly: boolean;
  line: number;
}

export interface Violation {
  rule: 'layer' | 'cycle' | 'node-only' | 'unresolved';
  file: string;
  line?: number;
  message: string;
}

const CODE = /\.(ts|mts|mjs|js)$/;

export function layerOf(path: string): Layer {
  let best: Layer | null = null;
  let bestLen = -1;
  for (const l of LAYERS)
    for (const p of l.paths)
      if (path.startsWith(p) && p.length > bestLen) {
        best = l;
        bestLen = p.length;
      }
  return best!;
}

function mayUseNode(path: string): boolean {
  return isNodeOnlyFile(path) || NODE_PLACES.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));
}

/** The imports of one file. `known` resolves relative specifiers (a set of repository-relative paths). */
export function parseImports(file: SourceFile, known: ReadonlySet<string>): Import[] {
  const sf = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, file.path.endsWith('.ts') || file.path.endsWith('.mts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const out: Import[] = [];
  const add = (spec: ts.Node, typeOnly: boolean) => {
    if (!ts.isStringLiteralLike(spec)) return;
    const specifier = spec.text;
    let target: string | null = null;
    if (specifier.startsWith('.')) {
      target = posix.normalize(posix.join(posix.dirname(file.path), specifier));
      if (!known.has(target) && !CODE.test(target)) target = null; // JSON, WASM, assets
    }
    out.push({ specifier, target, typeOnly, line: sf.getLineAndCharacterOfPosition(spec.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const typeOnly = Boolean(
        c && (c.isTypeOnly || (!c.name && c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly))),
      );
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const typeOnly = node.isTypeOnly || Boolean(node.exportClause && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length > 0) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Checks a set of files against the rules; returns every violation (empty when the tree is clean). */
export function checkLayers(files: readonly SourceFile[]): Violation[] {
  const known = new Set(files.map((f) => f.path));
  const violations: Violation[] = [];
  const graph = new Map<string, Set<string>>();
  const edgeLine = new Map<string, number>();
  for (const f of files) {
    const from = layerOf(f.path);
    const edges = new Set<string>();
    graph.set(f.path, edges);
    for (const imp of parseImports(f, known)) {
      if (imp.target === null) {
        if (!imp.specifier.startsWith('.') && isNodeOnlyModule(imp.specifier) && !mayUseNode(f.path)) {
          violations.push({
            rule: 'node-only',
            file: f.path,
            line: imp.line,
            message: `imports the Node-only module '${imp.specifier}'; only cli/, test/, bench/, scripts/ and files named *.node.ts may (move the Node part into a *.node.ts file)`,
          });
        }
        continue;
      }
      if (!known.has(imp.target)) {
        violations.push({ rule: 'unresolved', file: f.path, line: imp.line, message: `imports '${imp.specifier}', which does not exist` });
        continue;
      }
      edges.add(imp.target);
      if (!edgeLine.has(`${f.path}\0${imp.target}`)) edgeLine.set(`${f.path}\0${imp.target}`, imp.line);
      const to = layerOf(imp.target);
      if (to !== from && from.mayImport !== '*' && !from.mayImport.includes(to.name)) {
        const allowed = from.mayImport.length ? from.mayImport.join(', ') : 'nothing outside itself';
        violations.push({
          rule: 'layer',
          file: f.path,
          line: imp.line,
          message: `${from.name} may not import ${to.name} ('${imp.specifier}'); ${from.name} may import ${allowed} (docs/architecture.md)`,
        });
      }
      if (isNodeOnlyFile(imp.target) && !mayUseNode(f.path)) {
        violations.push({
          rule: 'node-only',
          file: f.path,
          line: imp.line,
          message: `imports the Node-only file ${imp.target}; a portable file may not (name this file *.node.ts too, or inject the Node part)`,
        });
      }
    }
  }
  for (const scc of cycles(graph)) {
    const ring = ringThrough(scc, graph);
    violations.push({
      rule: 'cycle',
      file: ring[0],
      line: edgeLine.get(`${ring[0]}\0${ring[1]}`),
      message: `import cycle: ${[...ring, ring[0]].join(' → ')}${scc.length > ring.length ? ` (${scc.length} files in the cycle's component: ${[...scc].sort().join(', ')})` : ''}`,
    });
  }
  return violations.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) out.push(comp);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}

/** One concrete cycle inside a strongly connected component (shortest from its first file, by BFS). */
function ringThrough(scc: readonly string[], graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const members = new Set(scc);
  const start = [...scc].sort()[0];
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const ring = [v];
        while (ring[0] !== start) ring.unshift(prev.get(ring[0])!);
        return ring;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** Every source file the check reads, from the repository at `root`. */
export function repoFiles(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) walk(p);
      } else if (/\.(ts|mts|mjs)$/.test(e.name) && !/\.d\.m?ts$/.test(e.name)) {
        files.push({ path: relative(root, p).split(sep).join('/'), text: readFileSync(p, 'utf8') });
      }
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(root, d)) && statSync(join(root, d)).isDirectory()) walk(join(root, d));
  for (const f of ROOT_FILES) if (existsSync(join(root, f))) files.push({ path: f, text: readFileSync(join(root, f), 'utf8') });
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export function formatViolation(v: Violation): string {
  return `${v.file}${v.line ? `:${v.line}` : ''}: [${v.rule}] ${v.message}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const files = repoFiles(root);
  const found = checkLayers(files);
  for (const v of found) console.error(formatViolation(v));
  if (found.length) {
    console.error(`check-layers: ${found.length} violation(s) in ${files.length} files (rules: scripts/check-layers.ts, docs/architecture.md)`);
    process.exitCode = 1;
  } else console.log(`check-layers: ${files.length} files, layering clean`);
}
