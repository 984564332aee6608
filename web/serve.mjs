// Builds the browser bundles and serves web/ so the smoke page can be opened by hand.
// Usage: node web/serve.mjs [--port 8080] [--host 127.0.0.1]   then open http://localhost:8080/
// WebGPU needs a secure context: http://localhost or 127.0.0.1 qualify, a LAN address does not.
import { parseArgs } from 'node:util';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build.mjs';
import { startStaticServer } from './static-server.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log('usage: node web/serve.mjs [--port 8080] [--host 127.0.0.1]\nBuilds web/dist/ and serves web/ for the smoke page.');
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`web/serve.mjs: --port '${values.port}' is not a port number (0–65535)`);
  process.exit(1);
}

try {
  const out = await buildWeb();
  console.log(`built ${out.files.length} bundles into web/dist/ (${out.inputs.length} source files)`);
  const srv = await startStaticServer(dirname(fileURLToPath(import.meta.url)), { host: values.host, port });
  console.log(`serving web/ at ${srv.url}  (open http://localhost:${srv.port}/ ; Ctrl-C stops)`);
} catch (e) {
  const msg = e?.code === 'EADDRINUSE' ? `port ${port} is in use; pick another with --port` : (e?.errors?.map((m) => m.text).join('\n') ?? e?.message ?? String(e));
  console.error(`web/serve.mjs: ${msg}`);
  process.exit(1);
}
