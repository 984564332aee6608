// Bundles the browser side with esbuild: web/engine.ts → dist/spoofscan.js (the engine library),
// web/smoke.ts → dist/smoke.js (the script of web/smoke.html), and the spoofscan page of web/index.html:
// web/app.ts → dist/app.js (the UI thread) and web/app-worker.ts → dist/app-worker.js (models in a Web Worker).
// Usage: node web/build.mjs [--outdir DIR] [--minify]
import { parseArgs } from 'node:util';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const WEB_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_DIR = resolve(WEB_DIR, '..');
export const DEFAULT_OUTDIR = join(WEB_DIR, 'dist');

const ENTRIES = {
  spoofscan: join(WEB_DIR, 'engine.ts'),
  smoke: join(WEB_DIR, 'smoke.ts'),
  app: join(WEB_DIR, 'app.ts'),
  'app-worker': join(WEB_DIR, 'app-worker.ts'),
};

// Files that only Node may load: the Dawn device (engine/*.node.ts, engine/node.ts) and dawn.node itself.
const NODE_ONLY = /(\.node(\.ts)?$)|(^|\/)engine\/node(\.ts)?$|^webgpu$/;

/** Fails the build with the importing file named when browser code reaches a Node-only module. */
export const nodeOnlyGuard = {
  name: 'node-only-guard',
  setup(b) {
    b.onResolve({ filter: NODE_ONLY }, (args) => ({
      errors: [
        {
          text: `'${args.path}' is Node-only and must not be imported by browser code (imported by ${relative(REPO_DIR, args.importer)}). Browser code uses engine/index.ts; only Node files may import engine/node.ts or *.node.ts.`,
        },
      ],
    }));
  },
};

/**
 * Builds the bundles into `outdir` (default web/dist). Returns the written files with their sizes
 * and every source file that went into them (repository-relative), for checks.
 */
export async function buildWeb({ outdir = DEFAULT_OUTDIR, minify = false } = {}) {
  const result = await build({
    entryPoints: ENTRIES,
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: REPO_DIR,
    plugins: [nodeOnlyGuard],
  });
  const files = Object.entries(result.metafile.outputs)
    .filter(([path]) => !path.endsWith('.map'))
    .map(([path, info]) => ({ path: resolve(REPO_DIR, path), bytes: info.bytes }));
  return { outdir, files, inputs: Object.keys(result.metafile.inputs).sort() };
}

async function main() {
  const { values } = parseArgs({
    options: { outdir: { type: 'string' }, minify: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log('usage: node web/build.mjs [--outdir DIR] [--minify]\nBundles web/engine.ts, web/smoke.ts, web/app.ts and web/app-worker.ts for browsers (default output: web/dist/).');
    return;
  }
  const t0 = performance.now();
  const out = await buildWeb({ outdir: values.outdir ? resolve(values.outdir) : DEFAULT_OUTDIR, minify: values.minify });
  for (const f of out.files) console.log(`${relative(process.cwd(), f.path).padEnd(28)} ${(f.bytes / 1024).toFixed(1)} KiB`);
  console.log(`${out.inputs.length} source files bundled in ${Math.round(performance.now() - t0)} ms`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    // esbuild errors carry their messages (file, line, text) in e.errors
    const errors = e?.errors?.length ? e.errors.map((m) => (m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text)) : [e?.message ?? String(e)];
    console.error(`web/build.mjs: build failed:\n  ${errors.join('\n  ')}`);
    process.exit(1);
  });
}
