// `spoofscan bench peers`: spoofscan's matmul against other engines side by side in one process (round
// robin, so machine noise hits them alike): tfjs-backend-webgpu on the very same Dawn device, and the native
// CPU references onnxruntime-node and PyTorch (a /usr/bin/python3 child process, timed inside Python and
// interleaved with the others in rounds). A peer that is not installed is skipped with the reason.
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { randn, type Engine, type Tensor } from '../engine/node.ts';
import { defaultVariant, matmulRaw } from '../kernels/matmul.ts';
import { UserError } from '../common/errors.ts';
import { COMMON_OPTIONS, finishEnvironment, fmt, formatTable, openBenchEngine, saveRecord, summarise, type Stats } from './lib/harness.ts';
import { matmulOnnxModel } from './lib/onnx.ts';

export const summary = 'matmul against peers: tfjs-backend-webgpu on the same adapter, onnxruntime-node CPU, PyTorch CPU';

const PEERS = ['spoofscan', 'tfjs-webgpu', 'ort-cpu', 'torch-cpu'] as const;
type Peer = (typeof PEERS)[number];

export const usage = `usage: spoofscan bench peers [--sizes LIST] [--peers LIST] [--threads N] [--python PATH] [--quick]
                             [--budget SECONDS] [--adapter auto|default|swiftshader|gles] [--json FILE]

  --sizes LIST   square matmul sizes N (N×N·N×N, default 512,1024; with --quick 128)
  --peers LIST   ${PEERS.join(',')} (default all); a missing one is skipped with the reason:
                   tfjs-webgpu  @tensorflow/tfjs-core + @tensorflow/tfjs-backend-webgpu (optional dependencies),
                                given spoofscan's own GPUDevice, so it runs on the same Dawn adapter
                   ort-cpu      onnxruntime-node (optional dependency; ONNXRUNTIME_NODE_INSTALL=skip npm ci
                                skips its CUDA download), a MatMul graph built in bench/lib/onnx.ts
                   torch-cpu    PyTorch in --python (default /usr/bin/python3), torch.matmul
  --threads N    intra-op threads of the CPU peers (default: all ${cpus().length} cores, as llvmpipe uses)
  --quick        1 warm-up, ≥1 timed run, 0.3 s per peer; writes JSON only with --json
  --budget S     timed seconds per peer and size (default 2)
  --adapter A    the WebGPU adapter of spoofscan and tfjs (default: SPOOFSCAN_ADAPTER or auto)
  --json FILE    where to write the JSON record (default bench-out/peers-<adapter>.json)`;

interface Runner {
  /** One timed sample: runs reps back to back and returns the elapsed ms of the whole sample. */
  sample(reps: number): Promise<number>;
  dispose(): Promise<void> | void;
  detail: string;
}

interface PeerResult {
  peer: Peer;
  skipped: string | null;
  detail: string;
  firstRunMs: number | null;
  stats: Stats | null;
  gflops: number | null;
  /** peer time / spoofscan time: above 1 spoofscan is faster. */
  peerOverSpoofscan: number | null;
  maxRelErr: number | null;
}

interface SizeResult {
  N: number;
  gflop: number;
  results: PeerResult[];
}

/** Deterministic inputs shared by every peer (uniform in [-1, 1)), so the results can be compared. */
function inputs(N: number): { a: Float32Array; b: Float32Array } {
  let s = 12345;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  const a = new Float32Array(N * N).map(next);
  const b = new Float32Array(N * N).map(next);
  return { a, b };
}

function relErr(got: Float32Array, ref: Float32Array): number {
  let err = 0;
  let max = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i] - ref[i]));
    max = Math.max(max, Math.abs(ref[i]));
  }
  return max > 0 ? err / max : err;
}

// A module name held in a variable: bundlers leave the import alone and tsc does not need its types.
async function optionalImport(name: string): Promise<Record<string, unknown>> {
  return (await import(name)) as Record<string, unknown>;
}

async function spoofscanRunner(engine: Engine, a: Float32Array, b: Float32Array, N: number): Promise<{ runner: Runner; out: Float32Array }> {
  const { tensor } = await import('../engine/node.ts');
  const ta: Tensor = tensor(a, [N, N]);
  const tb: Tensor = tensor(b, [N, N]);
  const c = matmulRaw(ta, tb);
  const out = (await c.data()) as Float32Array;
  c.dispose();
  return {
    out,
    runner: {
      detail: `matmul '${defaultVariant(engine)}' on ${engine.adapter.device || engine.adapter.backend}`,
      async sample(reps) {
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) matmulRaw(ta, tb).dispose();
        await engine.sync();
        return performance.now() - t0;
      },
      dispose() {
        ta.dispose();
        tb.dispose();
      },
    },
  };
}

interface TfTensor {
  data(): Promise<Float32Array>;
  dispose(): void;
}
interface Tf {
  registerBackend(name: string, factory: () => unknown, priority?: number): boolean;
  removeBackend(name: string): void;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  backend(): unknown;
  version_core?: string;
  version?: Record<string, string>;
}

let tfReady: Promise<Tf> | null = null;

async function loadTf(engine: Engine): Promise<Tf> {
  // Our own device: tfjs then runs on exactly the adapter spoofscan opened. It still checks that
  // navigator.gpu exists before it uses a device it is given, so Node (no navigator.gpu) gets a stand-in.
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  if (g.navigator && !g.navigator.gpu) {
    Object.defineProperty(g.navigator, 'gpu', { value: { requestAdapter: async () => null, getPreferredCanvasFormat: () => 'rgba8unorm' }, configurable: true });
  }
  const core = (await optionalImport('@tensorflow/tfjs-core')) as unknown as Tf;
  const webgpu = (await optionalImport('@tensorflow/tfjs-backend-webgpu')) as { WebGPUBackend: new (device: GPUDevice, info?: unknown) => unknown };
  // The kernels are registered under the name 'webgpu': replace the package's own factory (which would ask
  // navigator.gpu for an adapter) with one that wraps our device.
  try {
    core.removeBackend('webgpu');
  } catch {
    // not registered (the package registers it only where navigator.gpu existed at import)
  }
  core.registerBackend('webgpu', () => new webgpu.WebGPUBackend(engine.device, { vendor: '', architecture: '' }), 10);
  if (!(await core.setBackend('webgpu'))) throw new Error('tfjs could not initialise its WebGPU backend on this device');
  await core.ready();
  return core;
}

async function tfjsRunner(engine: Engine, a: Float32Array, b: Float32Array, N: number): Promise<{ runner: Runner; out: Float32Array }> {
  tfReady ??= loadTf(engine);
  const tf = await tfReady;
  const ta = tf.tensor2d(a, [N, N]);
  const tb = tf.tensor2d(b, [N, N]);
  const c0 = tf.matMul(ta, tb);
  const out = await c0.data();
  c0.dispose();
  // What tfjs itself does before reading back (backend_webgpu.js getBufferData): end the pass, submit.
  const backend = tf.backend() as { submitQueue(): void; endComputePassEncoder(): void; commandEncoder: unknown };
  return {
    out,
    runner: {
      detail: `tfjs-core ${tf.version_core ?? '?'} webgpu backend on spoofscan's device`,
      async sample(reps) {
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) tf.matMul(ta, tb).dispose();
        backend.endComputePassEncoder();
        if (backend.commandEncoder) backend.submitQueue();
        await engine.device.queue.onSubmittedWorkDone();
        return performance.now() - t0;
      },
      dispose() {
        ta.dispose();
        tb.dispose();
      },
    },
  };
}

interface OrtTensorCtor {
  new (type: 'float32', data: Float32Array, dims: number[]): unknown;
}
interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>>;
  release?: () => Promise<void>;
}
interface Ort {
  Tensor: OrtTensorCtor;
  InferenceSession: { create(model: Uint8Array, opts: Record<string, unknown>): Promise<OrtSession> };
}

async function ortRunner(a: Float32Array, b: Float32Array, N: number, threads: number): Promise<{ runner: Runner; out: Float32Array }> {
  const ort = (await optionalImport('onnxruntime-node')) as unknown as Ort;
  const session = await ort.InferenceSession.create(matmulOnnxModel(N, N, N), {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds = { A: new ort.Tensor('float32', a, [N, N]), B: new ort.Tensor('float32', b, [N, N]) };
  const out = (await session.run(feeds)).C.data;
  let version = '?';
  try {
    const { createRequire } = await import('node:module');
    version = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    // the version is informative only
  }
  return {
    out,
    runner: {
      detail: `onnxruntime-node ${version}, CPU EP, ${threads} intra-op threads`,
      async sample(reps) {
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) await session.run(feeds);
        return performance.now() - t0;
      },
      async dispose() {
        await session.release?.();
      },
    },
  };
}

// The Python side of the torch peer: reads commands on stdin ("N reps" → run, print ms), so its timed samples
// interleave with the other peers' like theirs do.
const TORCH_SERVER = `
import sys, json, time
try:
    import torch
except Exception as e:
    print(json.dumps({"error": "no torch: %s" % e}), flush=True); sys.exit(0)
torch.set_num_threads(int(sys.argv[1]))
print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
mats = {}
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "load":
        n = int(cmd[1])
        a = torch.frombuffer(bytearray(open(cmd[2], "rb").read()), dtype=torch.float32).reshape(n, n)
        b = torch.frombuffer(bytearray(open(cmd[3], "rb").read()), dtype=torch.float32).reshape(n, n)
        c = torch.matmul(a, b)
        c.numpy().tofile(cmd[4])
        mats[n] = (a, b)
        print(json.dumps({"ok": True}), flush=True)
    elif cmd[0] == "run":
        a, b = mats[int(cmd[1])]
        reps = int(cmd[2])
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.matmul(a, b)
        print(json.dumps({"ms": (time.perf_counter() - t0) * 1e3}), flush=True)
`;

class LineProcess {
  private buf = '';
  private waiters: ((line: string) => void)[] = [];
  private lines: string[] = [];
  constructor(readonly proc: ReturnType<typeof spawn>) {
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
  }
  next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const take = (line: string) => resolve(JSON.parse(line) as Record<string, unknown>);
      const l = this.lines.shift();
      if (l !== undefined) return take(l);
      this.proc.once('exit', (code) => reject(new Error(`python exited (${code}) before answering`)));
      this.waiters.push(take);
    });
  }
  async ask(cmd: string): Promise<Record<string, unknown>> {
    this.proc.stdin!.write(`${cmd}\n`);
    return this.next();
  }
}

let torchProc: Promise<{ lp: LineProcess; detail: string }> | null = null;

async function startTorch(python: string, threads: number): Promise<{ lp: LineProcess; detail: string }> {
  const proc = spawn(python, ['-c', TORCH_SERVER, String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const failed = new Promise<never>((_, reject) => proc.once('error', (e) => reject(new Error(`cannot run ${python}: ${e.message}`))));
  const lp = new LineProcess(proc);
  const hello = await Promise.race([lp.next(), failed]);
  if (typeof hello.error === 'string') throw new Error(hello.error);
  return { lp, detail: `PyTorch ${String(hello.version)} (${python}), ${String(hello.threads)} threads` };
}

async function torchRunner(a: Float32Array, b: Float32Array, N: number, python: string, threads: number): Promise<{ runner: Runner; out: Float32Array }> {
  torchProc ??= startTorch(python, threads);
  const { lp, detail } = await torchProc;
  const { mkdtemp, writeFile, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'spoofscan-peers-'));
  const [pa, pb, pc] = ['a', 'b', 'c'].map((x) => join(dir, `${x}.f32`));
  await writeFile(pa, a);
  await writeFile(pb, b);
  const r = await lp.ask(`load ${N} ${pa} ${pb} ${pc}`);
  if (!r.ok) throw new Error(`torch: ${JSON.stringify(r)}`);
  const bytes = await readFile(pc);
  const out = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  await rm(dir, { recursive: true, force: true });
  return {
    out,
    runner: {
      detail,
      async sample(reps) {
        const res = await lp.ask(`run ${N} ${reps}`);
        return Number(res.ms);
      },
      dispose() {},
    },
  };
}

function stopTorch(): void {
  void torchProc?.then(({ lp }) => lp.proc.kill()).catch(() => undefined);
  torchProc = null;
}

interface Timing {
  warmups: number;
  minRuns: number;
  maxRuns: number;
  budgetMs: number;
  minSampleMs: number;
}

async function runSize(engine: Engine, N: number, peers: readonly Peer[], o: Timing, threads: number, python: string): Promise<SizeResult> {
  const { a, b } = inputs(N);
  const gflop = (2 * N * N * N) / 1e9;
  interface Live {
    peer: Peer;
    runner: Runner;
    out: Float32Array;
    first: number;
    reps: number;
    samples: number[];
    total: number;
  }
  const live: Live[] = [];
  const skipped: PeerResult[] = [];
  for (const peer of peers) {
    const t0 = performance.now();
    try {
      const r =
        peer === 'spoofscan'
          ? await spoofscanRunner(engine, a, b, N)
          : peer === 'tfjs-webgpu'
            ? await tfjsRunner(engine, a, b, N)
            : peer === 'ort-cpu'
              ? await ortRunner(a, b, N, threads)
              : await torchRunner(a, b, N, python, threads);
      const first = performance.now() - t0;
      let last = first;
      for (let w = 0; w < o.warmups; w++) last = await r.runner.sample(1);
      live.push({ peer, ...r, first, reps: Math.max(1, Math.min(64, Math.ceil(o.minSampleMs / Math.max(last, 1e-3)))), samples: [], total: 0 });
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      const reason = /Cannot find (module|package)|ERR_MODULE_NOT_FOUND/.test(msg) ? `not installed (${msg.replace(/ imported from .*/, '')})` : msg;
      skipped.push({ peer, skipped: reason, detail: '', firstRunMs: null, stats: null, gflops: null, peerOverSpoofscan: null, maxRelErr: null });
    }
  }
  const done = (s: Live) => s.samples.length >= o.maxRuns || (s.samples.length >= o.minRuns && s.total >= o.budgetMs);
  while (!live.every(done)) {
    for (const s of live) {
      if (done(s)) continue;
      const dt = await s.runner.sample(s.reps);
      s.samples.push(dt / s.reps);
      s.total += dt;
    }
  }
  const ref = live.find((s) => s.peer === 'torch-cpu') ?? live.find((s) => s.peer === 'ort-cpu') ?? live[0];
  const ours = live.find((s) => s.peer === 'spoofscan');
  const oursMs = ours ? summarise(ours.samples, ours.reps).medianMs : NaN;
  const results: PeerResult[] = [];
  for (const s of live) {
    const stats = summarise(s.samples, s.reps);
    results.push({
      peer: s.peer,
      skipped: null,
      detail: s.runner.detail,
      firstRunMs: s.first,
      stats,
      gflops: gflop / (stats.medianMs / 1e3),
      peerOverSpoofscan: ours ? stats.medianMs / oursMs : null,
      maxRelErr: ref ? relErr(s.out, ref.out) : null,
    });
    await s.runner.dispose();
  }
  engine.pool.trim();
  const order = (p: Peer) => PEERS.indexOf(p);
  return { N, gflop, results: [...results, ...skipped].sort((x, y) => order(x.peer) - order(y.peer)) };
}

const ERR_LIMIT = 1e-4;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string' },
      peers: { type: 'string' },
      threads: { type: 'string' },
      python: { type: 'string', default: '/usr/bin/python3' },
      ...COMMON_OPTIONS,
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const sizes = (values.sizes ?? (values.quick ? '128' : '512,1024')).split(',').map((s) => Number(s.trim()));
  if (!sizes.every((n) => Number.isInteger(n) && n >= 1 && n <= 8192)) throw new UserError(`bench peers: --sizes '${values.sizes}' must list integers 1..8192`);
  const peers = (values.peers ?? PEERS.join(',')).split(',').map((s) => s.trim()) as Peer[];
  for (const p of peers) if (!PEERS.includes(p)) throw new UserError(`bench peers: unknown peer '${p}' (known: ${PEERS.join(', ')})`);
  const threads = values.threads === undefined ? cpus().length : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`bench peers: --threads '${values.threads}' must be a positive integer`);
  const timing: Timing = values.quick
    ? { warmups: 1, minRuns: 1, maxRuns: 5, budgetMs: 300, minSampleMs: 10 }
    : { warmups: 2, minRuns: 3, maxRuns: 30, budgetMs: 2000, minSampleMs: 20 };
  if (values.budget !== undefined) {
    const s = Number(values.budget);
    if (!(s > 0)) throw new UserError(`bench peers: --budget '${values.budget}' is not a positive number of seconds`);
    timing.budgetMs = s * 1000;
  }
  const { engine, env } = await openBenchEngine('peers', values.adapter);
  console.log(`adapter: ${env.adapterDescription}; load ${fmt(env.loadAverage.start)}`);
  const results: SizeResult[] = [];
  try {
    for (const N of sizes) results.push(await runSize(engine, N, peers, timing, threads, values.python));
  } finally {
    stopTorch();
  }
  finishEnvironment(env);
  const rows: string[][] = [];
  for (const s of results) {
    for (const [i, r] of s.results.entries()) {
      rows.push([
        i === 0 ? `${s.N}³` : '',
        r.peer,
        r.stats ? fmt(r.stats.medianMs, 2) : '-',
        r.stats ? fmt(r.stats.p90Ms, 2) : '-',
        r.gflops === null ? '-' : fmt(r.gflops),
        r.peerOverSpoofscan === null ? '-' : `${fmt(r.peerOverSpoofscan, 2)}×`,
        r.maxRelErr === null ? '-' : r.maxRelErr <= ERR_LIMIT ? 'ok' : `BAD ${r.maxRelErr.toExponential(1)}`,
        r.skipped ? `skipped: ${r.skipped}` : r.detail,
      ]);
    }
  }
  console.log('');
  console.log(formatTable(['size', 'peer', 'median ms', 'p90 ms', 'GFLOP/s', 'peer/spoofscan', 'check', 'detail'], rows));
  console.log(`\npeer/spoofscan = peer median / spoofscan median (above 1: spoofscan is faster). Load average ${fmt(env.loadAverage.start)} → ${fmt(env.loadAverage.end ?? NaN)}.`);
  const record = { benchmark: 'peers', environment: env, timing, threads, quick: values.quick, sizes: results };
  await saveRecord('peers', engine, values, record);
  const bad = results.flatMap((s) => s.results.filter((r) => r.maxRelErr !== null && !(r.maxRelErr <= ERR_LIMIT)).map((r) => `${s.N} ${r.peer}`));
  if (bad.length) {
    console.error(`bench peers: results differ by more than ${ERR_LIMIT} (relative) for: ${bad.join('; ')}`);
    return 1;
  }
  return 0;
}
