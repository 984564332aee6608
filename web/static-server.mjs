// A tiny static file server for the smoke page (used by web/serve.mjs and test/browser/).
// Serves GET/HEAD (and single byte ranges) for files under `root` only; everything else is 404/405.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The file under root that a URL path names (index.html for directories), or null when outside root. */
function fileFor(root, urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  const file = resolve(join(root, path));
  return file === root || file.startsWith(root + sep) ? file : null;
}

/** Streams [start, end] of `file` (inclusive) into the response; HEAD sends headers only. */
function send(req, res, file, start, end) {
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return;
  }
  const stream = createReadStream(file, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * Starts serving `root` on host:port (port 0 picks a free one). Resolves once listening with the
 * server, the port and the base URL; close() stops it. `files` maps exact URL paths to files outside
 * root (e.g. '/models/pretrained/detector.safetensors' → a path); `onRequest` sees every request
 * (method, path, Range header) before it is answered (tests count downloads with it).
 */
export async function startStaticServer(root, { host = '127.0.0.1', port = 0, files = {}, onRequest } = {}) {
  const absRoot = resolve(root);
  const server = createServer(async (req, res) => {
    const urlPath = (req.url ?? '/').split('?')[0];
    onRequest?.({ method: req.method ?? '', path: urlPath, range: req.headers.range ?? null });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    let file = Object.hasOwn(files, urlPath) ? resolve(files[urlPath]) : fileFor(absRoot, req.url ?? '/');
    try {
      if (file && (await stat(file)).isDirectory()) file = join(file, 'index.html');
      if (!file) throw new Error('outside root');
      const size = (await stat(file)).size;
      const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store', 'accept-ranges': 'bytes' };
      // Single byte ranges (models/io's urlSource reads weight files lazily this way).
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        const end = Math.min(range[2] === '' ? size - 1 : Number(range[2]), size - 1);
        if (start > end) {
          res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
          return;
        }
        res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
        send(req, res, file, start, end);
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': size });
      send(req, res, file, 0, size - 1);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${req.url}\n`);
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(undefined));
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    port: actualPort,
    url: `http://${urlHost}:${actualPort}/`,
    close: () => new Promise((ok) => server.close(() => ok(undefined))),
  };
}
