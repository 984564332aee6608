// Builds the browser bundles and serves web/: the spoofscan page at / (with the committed demo models when
// present; `spoofscan serve` also makes stand-ins when they are not) and the engine smoke page at /smoke.html.
// Usage: node web/serve.mjs [--port 8080] [--host 127.0.0.1]   then open http://localhost:8080/
// WebGPU needs a secure context: http://localhost or 127.0.0.1 qualify, a LAN address does not.
import { parseArgs } from 'node:util';
import { startWeb } from './serve-lib.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: node web/serve.mjs [--port 8080] [--host 127.0.0.1]\nBuilds web/dist/ and serves web/ (the spoofscan page at /, the smoke page at /smoke.html).');
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`web/serve.mjs: --port '${values.port}' is not a port number (0–65535)`);
  process.exit(1);
}

try {
  const { server, bundle, models } = await startWeb({ host: values.host, port });
  console.log(`built ${bundle.files.length} bundles into web/dist/ (${bundle.inputs.length} source files)`);
  if (!models.detect) console.log('note: models/pretrained/detector.safetensors is absent: the page asks for a model (spoofscan serve makes a stand-in)');
  console.log(`serving web/ at ${server.url}  (open http://localhost:${server.port}/ ; smoke test at /smoke.html ; Ctrl-C stops)`);
} catch (e) {
  const msg = e?.code === 'EADDRINUSE' ? `port ${port} is in use; pick another with --port` : (e?.errors?.map((m) => m.text).join('\n') ?? e?.message ?? String(e));
  console.error(`web/serve.mjs: ${msg}`);
  process.exit(1);
}
