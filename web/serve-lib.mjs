// Build the browser bundles and serve web/ (the spoofscan page at /, the engine smoke page at /smoke.html), with
// the demo checkpoints at their default URLs. Used by `spoofscan serve`, web/serve.mjs and test/browser/.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb, DEFAULT_OUTDIR } from './build.mjs';
import { startStaticServer } from './static-server.mjs';

export const WEB_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = resolve(WEB_DIR, '..');
/** URL paths the page loads by default (web/app.ts DEFAULT_MODELS) and the files the repository ships there. */
export const MODEL_URLS = { detect: '/models/pretrained/detector.safetensors', trace: '/models/pretrained/tracer.safetensors' };
export const PRETRAINED = {
  detect: join(REPO_DIR, 'models/pretrained/detector.safetensors'),
  trace: join(REPO_DIR, 'models/pretrained/tracer.safetensors'),
};

/** The committed demo checkpoints that exist on disk. */
export function pretrainedModels() {
  const out = {};
  for (const slot of ['detect', 'trace']) if (existsSync(PRETRAINED[slot])) out[slot] = PRETRAINED[slot];
  return out;
}

/**
 * Builds the bundles into `outdir` (default web/dist) and serves web/ on host:port; `models` maps 'detect' /
 * 'trace' to checkpoint files served at the default URLs (default: the committed ones). Returns the server
 * (url, port, close()) and the build (bundle sizes).
 */
export async function startWeb({ host = '127.0.0.1', port = 0, outdir = DEFAULT_OUTDIR, models = pretrainedModels(), minify = false, onRequest } = {}) {
  const bundle = await buildWeb({ outdir, minify });
  const files = {};
  if (resolve(outdir) !== DEFAULT_OUTDIR) {
    for (const f of bundle.files) {
      files[`/dist/${basename(f.path)}`] = f.path;
      files[`/dist/${basename(f.path)}.map`] = `${f.path}.map`;
    }
  }
  for (const [slot, path] of Object.entries(models)) if (path) files[MODEL_URLS[slot]] = path;
  const server = await startStaticServer(WEB_DIR, { host, port, files, onRequest });
  return { server, bundle, models };
}
