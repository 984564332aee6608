#!/usr/bin/env node
// Builds a self-contained benchmark runner for a machine that has a GPU but no npm (a lent GPU box):
//   node scripts/bench-bundle.mjs OUTDIR
// writes OUTDIR/bench.mjs (every bench/*.ts module bundled with esbuild) and OUTDIR/node_modules/webgpu
// (dawn.node for linux-x64 only). There: `node OUTDIR/bench.mjs matmul --adapter default ...`.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, '.devpack'));
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts') && /export\s+async\s+function\s+run\s*\(/.test(readFileSync(join(root, 'bench', f), 'utf8')))
  .map((f) => f.slice(0, -3));

// One entry that imports every benchmark statically (a bundle cannot import .ts files at run time).
const entry = [
  ...benches.map((b, i) => `import * as b${i} from ${JSON.stringify(join(root, 'bench', `${b}.ts`))};`),
  `const benches = { ${benches.map((b, i) => `${JSON.stringify(b)}: b${i}`).join(', ')} };`,
  `const [name, ...rest] = process.argv.slice(2);`,
  `const mod = benches[name];`,
  `if (!mod) { console.error('usage: node bench.mjs <' + Object.keys(benches).join('|') + '> [options]'); process.exit(1); }`,
  `process.exitCode = await mod.run(rest);`,
].join('\n');

mkdirSync(out, { recursive: true });
await build({
  stdin: { contents: entry, resolveDir: root, loader: 'ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  outfile: join(out, 'bench.mjs'),
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
const webgpu = join(root, 'node_modules', 'webgpu');
const dest = join(out, 'node_modules', 'webgpu');
mkdirSync(join(dest, 'dist', 'linux-x64'), { recursive: true });
for (const f of ['index.js', 'package.json', 'LICENSE.md']) cpSync(join(webgpu, f), join(dest, f));
cpSync(join(webgpu, 'dist', 'linux-x64', 'dawn.node'), join(dest, 'dist', 'linux-x64', 'dawn.node'));
writeFileSync(join(out, 'README.txt'), `Bundled benchmarks: ${benches.join(', ')}\nRun: node bench.mjs NAME [options]\n`);
console.log(`wrote ${out}/bench.mjs (${benches.join(', ')}) and node_modules/webgpu`);
