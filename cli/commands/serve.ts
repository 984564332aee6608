// spoofscan serve [--port 8080] [--host 127.0.0.1] [--detector F] [--tracer F] [--open]
// Builds the browser bundles and serves the spoofscan page (web/index.html) on localhost: score, trace and
// fine-tune in the browser on WebGPU. A thin wrapper over web/serve-lib.mjs; when the committed demo checkpoints
// (models/pretrained/) are absent it serves seeded stand-ins (models/demo.ts), labelled untrained.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine } from '../../engine/node.ts';
import { standinFiles } from '../../models/demo.ts';
import { pretrainedModels, startWeb, type ModelSlot } from '../../web/serve-lib.mjs';
import { UserError } from '../../common/errors.ts';

export const summary = 'serve the spoofscan page on localhost: score, trace and fine-tune in the browser (WebGPU)';

const HELP = `usage: spoofscan serve [--port 8080] [--host 127.0.0.1] [--detector FILE] [--tracer FILE] [--open]

Builds the browser bundles and serves the page on http://localhost:PORT/. It loads the detector and tracer
served at models/pretrained/{detector,tracer}.safetensors (the committed demo models; --detector/--tracer serve
other files there; seeded random stand-ins when neither exists), and takes further checkpoints by file, drop or
URL. WebGPU needs a secure context: open http://localhost or http://127.0.0.1, not a LAN address.

options:
  --port N          port (default 8080; 0 picks a free one)
  --host H          address to listen on (default 127.0.0.1)
  --detector FILE   detector checkpoint served at the default detector URL
  --tracer FILE     tracer checkpoint served at the default tracer URL
  --open            open the page in the default browser
  -h, --help        this help`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      detector: { type: 'string' },
      tracer: { type: 'string' },
      open: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port must be a port number (0–65535), not "${values.port}"`);
  const models: Partial<Record<ModelSlot, string>> = pretrainedModels();
  for (const [slot, file] of [['detect', values.detector], ['trace', values.tracer]] as const) {
    if (file === undefined) continue;
    if (!existsSync(file)) throw new UserError(`${file}: no such file`);
    models[slot] = resolve(file);
  }
  let standinDir: string | null = null;
  const missing = (['detect', 'trace'] as const).filter((s) => !models[s]);
  if (missing.length) {
    await initEngine(undefined, { quiet: true });
    const files = await standinFiles();
    standinDir = mkdtempSync(join(tmpdir(), 'spoofscan-standin-'));
    for (const slot of missing) {
      const path = join(standinDir, slot === 'detect' ? 'detector.safetensors' : 'tracer.safetensors');
      writeFileSync(path, slot === 'detect' ? files.detector : files.tracer);
      models[slot] = path;
      console.log(`note: models/pretrained/${slot === 'detect' ? 'detector' : 'tracer'}.safetensors is absent: serving a stand-in (tiny, random weights, labelled untrained)`);
    }
  }
  let started;
  try {
    started = await startWeb({ host: values.host, port, models });
  } catch (e) {
    if ((e as { code?: string }).code === 'EADDRINUSE') throw new UserError(`port ${port} is in use; pick another with --port`);
    throw e;
  }
  const { server, bundle } = started;
  const size = bundle.files.filter((f) => /app(-worker)?\.js$/.test(f.path)).reduce((a, f) => a + f.bytes, 0);
  console.log(`page bundles: ${(size / 1024).toFixed(1)} KiB (app.js + app-worker.js, ${bundle.inputs.length} source files)`);
  const local = `http://localhost:${server.port}/`;
  console.log(`serving the spoofscan page at ${local}  (engine smoke test: ${local}smoke.html; Ctrl-C stops)`);
  if (values.open) {
    const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    spawn(opener, [local], { stdio: 'ignore', detached: true }).on('error', () => console.error(`could not run ${opener}: open ${local} by hand`)).unref();
  }
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(() => done());
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  if (standinDir) rmSync(standinDir, { recursive: true, force: true });
  return 0;
}
