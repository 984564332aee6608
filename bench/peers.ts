// `spoofscan bench peers`: spoofscan against other engines side by side in one process (round robin, so
// machine noise hits them alike), on the same inputs, their outputs checked against each other:
//   matmul           tfjs-backend-webgpu on the very same Dawn device, onnxruntime-node CPU, PyTorch CPU
//   local-attention  the fused localWindowAttention forward against a gather-based banded attention in PyTorch
//                    and the same torch function exported to ONNX for onnxruntime-node
//   xlsr             the XLS-R eval forward of one clip against torchaudio's wav2vec2 in PyTorch and its ONNX
//                    export in onnxruntime-node, all three with the same seeded random weights
// PyTorch runs in a /usr/bin/python3 child (scripts/peers/torch_peer.py) that the bench drives sample by sample.
// A peer that is not installed (or a file it needs that is absent) is skipped with the reason.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { noGrad, tensor, type Engine, type Tensor } from '../engine/node.ts';
import { defaultVariant, matmulRaw } from '../kernels/matmul.ts';
import { localWindowAttention } from '../kernels/local-attention.ts';
import { fileSource } from '../models/io/file-source.node.ts';
import { forwardMacs, loadXlsr, xlsrPreset, XlsrModel } from '../models/xlsr/index.ts';
import { UserError } from '../common/errors.ts';
import { COMMON_OPTIONS, finishEnvironment, fmt, formatTable, intList, openBenchEngine, saveRecord, summarise, type Stats } from './lib/harness.ts';
import { matmulOnnxModel } from './lib/onnx.ts';

export const summary = 'spoofscan against peers (tfjs-webgpu, onnxruntime-node CPU, PyTorch CPU): matmul, local attention, XLS-R eval';

const PEERS = ['spoofscan', 'tfjs-webgpu', 'ort-cpu', 'torch-cpu'] as const;
type Peer = (typeof PEERS)[number];
const CASES = ['matmul', 'local-attention', 'xlsr'] as const;
type CaseKind = (typeof CASES)[number];
/** Python presets of scripts/peers/torch_peer.py. */
const XLSR_PEER_PRESETS = ['xlsr-300m', 'xlsr-1b', 'tiny'];
const TORCH_SCRIPT = fileURLToPath(new URL('../scripts/peers/torch_peer.py', import.meta.url));

export const usage = `usage: spoofscan bench peers [--cases LIST] [--sizes LIST] [--attn LIST] [--heads H] [--dims D]
                             [--preset NAME] [--samples N] [--runs N] [--cache DIR] [--export]
                             [--peers LIST] [--threads N] [--python PATH] [--quick] [--budget SECONDS]
                             [--adapter auto|default|swiftshader|gles] [--json FILE]

  --cases LIST   ${CASES.join(',')} (default all)
  --sizes LIST   matmul: square sizes N (N×N·N×N, default 512,1024; with --quick 128)
  --attn LIST    local-attention: NxW shapes, forward, policy mask (default 201x7,201x31,1024x7,1024x31;
                 --quick 33x3), with --heads H (default 8; --quick 1) and --dims D = d_k = d_v (default 64; --quick 16)
  --preset NAME  xlsr: ${XLSR_PEER_PRESETS.join(', ')} (default xlsr-300m; --quick tiny), random weights, batch 1
  --samples N    xlsr: clip length (default 64600 = 4.04 s; --quick 4000)
  --runs N       xlsr: timed runs per peer after the first run (default 2; --quick 1)
  --cache DIR    xlsr: where the shared weights (xlsr-300m-seed0.bin, made by PyTorch when absent) and the ONNX
                 export live (default bench-out/peers)
  --export       xlsr: make the ONNX export when it is absent (minutes and ~1.2 GB for xlsr-300m); without it
                 ort-cpu is skipped and the command that makes the file is printed
  --peers LIST   ${PEERS.join(',')} (default all); a missing one is skipped with the reason:
                   tfjs-webgpu  @tensorflow/tfjs-core + @tensorflow/tfjs-backend-webgpu (optional dependencies),
                                given spoofscan's own GPUDevice, so it runs on the same Dawn adapter (matmul only)
                   ort-cpu      onnxruntime-node (optional dependency; ONNXRUNTIME_NODE_INSTALL=skip npm ci
                                skips its CUDA download): matmul from a graph built in bench/lib/onnx.ts, the
                                others from PyTorch's ONNX export
                   torch-cpu    PyTorch in --python (default /usr/bin/python3), scripts/peers/torch_peer.py
  --threads N    intra-op threads of the CPU peers (default: all ${cpus().length} cores, as llvmpipe uses)
  --quick        tiny cases, 1 warm-up, ≥1 timed run, 0.3 s per peer; writes JSON only with --json
  --budget S     timed seconds per peer and case (default 2; xlsr: --runs)
  --adapter A    the WebGPU adapter of spoofscan and tfjs (default: SPOOFSCAN_ADAPTER or auto)
  --json FILE    where to write the JSON record (default bench-out/peers-<adapter>.json)`;

interface Runner {
  /** One timed sample: runs reps back to back and returns the elapsed ms of the whole sample. */
  sample(reps: number): Promise<number>;
  dispose(): Promise<void> | void;
  detail: string;
}

/** A peer's runner after its first run, with that run's output (null: not comparable, e.g. other weights). */
interface Made {
  runner: Runner;
  out: Float32Array | null;
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

interface CaseResult {
  kind: CaseKind;
  label: string;
  params: Record<string, number | string>;
  gflop: number;
  /** Largest accepted max |peer − reference| / max |reference|; the reference is torch-cpu, else ort-cpu. */
  errLimit: number;
  results: PeerResult[];
}

/** Deterministic values uniform in [-scale, scale), shared by every peer. */
function uniform(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

function relErr(got: Float32Array, ref: Float32Array): number {
  if (got.length !== ref.length) return Infinity;
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

/** A spoofscan runner: `once` records one run and returns its output tensor (the bench frees it). */
async function spoofscanRunner(engine: Engine, detail: string, once: () => Tensor, dispose: () => void): Promise<Made> {
  const y = once();
  const out = (await y.data()) as Float32Array;
  y.dispose();
  return {
    out,
    runner: {
      detail,
      async sample(reps) {
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) once().dispose();
        await engine.sync();
        return performance.now() - t0;
      },
      dispose,
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
  InferenceSession: { create(model: Uint8Array | string, opts: Record<string, unknown>): Promise<OrtSession> };
}

/** onnxruntime-node on the CPU EP: `model` (bytes or a file), float32 inputs by name, output `output`. */
async function ortRunner(model: Uint8Array | string, inputs: Record<string, [Float32Array, number[]]>, output: string, threads: number): Promise<Made> {
  const ort = (await optionalImport('onnxruntime-node')) as unknown as Ort;
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const feeds: Record<string, unknown> = {};
  for (const [name, [data, dims]] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', data, dims);
  const out = (await session.run(feeds))[output].data;
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

class LineProcess {
  private buf = '';
  private waiters: { take: (line: string) => void; fail: (e: Error) => void }[] = [];
  private lines: string[] = [];
  private exited: Error | null = null;
  stderr = '';
  constructor(readonly proc: ReturnType<typeof spawn>) {
    proc.once('exit', (code) => {
      this.exited = new Error(`python exited (${code}) before answering${this.stderr ? `: ${this.stderr.trim().split('\n').pop()}` : ''}`);
      for (const w of this.waiters.splice(0)) w.fail(this.exited);
    });
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w.take(line);
        else this.lines.push(line);
      }
    });
    // Drained (a full pipe would stall the child); the tail explains a crash.
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-2000);
    });
  }
  next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const take = (line: string) => resolve(JSON.parse(line) as Record<string, unknown>);
      const l = this.lines.shift();
      if (l !== undefined) return take(l);
      if (this.exited) return reject(this.exited);
      this.waiters.push({ take, fail: reject });
    });
  }
  /** Sends one JSON command; an {"error"} answer throws. */
  async ask(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const r = await this.next();
    if (typeof r.error === 'string') throw new Error(`torch: ${r.error}`);
    return r;
  }
}

interface TorchServer {
  lp: LineProcess;
  detail: string;
}

let torchProc: Promise<TorchServer> | null = null;

async function startTorch(python: string, threads: number): Promise<TorchServer> {
  if (!existsSync(TORCH_SCRIPT)) throw new Error(`the PyTorch peer script is not at ${TORCH_SCRIPT}`);
  const proc = spawn(python, [TORCH_SCRIPT, 'serve', String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const failed = new Promise<never>((_, reject) => proc.once('error', (e) => reject(new Error(`cannot run ${python}: ${e.message}`))));
  const lp = new LineProcess(proc);
  const hello = await Promise.race([lp.next(), failed]);
  return { lp, detail: `PyTorch ${String(hello.version)} (${python}), ${String(hello.threads)} threads` };
}

function torchServer(python: string, threads: number): Promise<TorchServer> {
  torchProc ??= startTorch(python, threads);
  return torchProc;
}

function stopTorch(): void {
  void torchProc?.then(({ lp }) => lp.proc.kill()).catch(() => undefined);
  torchProc = null;
}

let caseKeys = 0;

/** A PyTorch case: inputs go through files, `setup` builds it in the server and runs it once (output to `out`). */
async function torchRunner(server: TorchServer, setup: Record<string, unknown>, inputs: Record<string, Float32Array>): Promise<Made> {
  const dir = await mkdtemp(join(tmpdir(), 'spoofscan-peers-'));
  const key = `case${++caseKeys}`;
  try {
    const files: Record<string, string> = {};
    for (const [name, data] of Object.entries(inputs)) {
      files[name] = join(dir, `${name}.f32`);
      await writeFile(files[name], data);
    }
    const outPath = join(dir, 'out.f32');
    await server.lp.ask({ ...setup, ...files, key, out: outPath });
    const bytes = await readFile(outPath);
    const out = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return {
      out,
      runner: {
        detail: server.detail,
        async sample(reps) {
          return Number((await server.lp.ask({ op: 'run', key, reps })).ms);
        },
        async dispose() {
          await server.lp.ask({ op: 'drop', key });
        },
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Timing {
  warmups: number;
  minRuns: number;
  maxRuns: number;
  budgetMs: number;
  minSampleMs: number;
}

/** A peer's factory (runs it once), or the reason it is skipped in this case. */
type Factory = (() => Promise<Made>) | string;

function skipReason(e: unknown): string {
  const msg = (e as Error).message.split('\n')[0];
  return /Cannot find (module|package)|ERR_MODULE_NOT_FOUND/.test(msg) ? `not installed (${msg.replace(/ imported from .*/, '')})` : msg;
}

async function runCase(
  engine: Engine,
  head: Omit<CaseResult, 'results'>,
  factories: Partial<Record<Peer, Factory>>,
  peers: readonly Peer[],
  o: Timing,
): Promise<CaseResult> {
  interface Live {
    peer: Peer;
    runner: Runner;
    out: Float32Array | null;
    first: number;
    reps: number;
    samples: number[];
    total: number;
  }
  const live: Live[] = [];
  const skipped: PeerResult[] = [];
  const skip = (peer: Peer, reason: string) =>
    skipped.push({ peer, skipped: reason, detail: '', firstRunMs: null, stats: null, gflops: null, peerOverSpoofscan: null, maxRelErr: null });
  for (const peer of peers) {
    const f = factories[peer] ?? `no ${head.kind} in ${peer}`;
    if (typeof f === 'string') {
      skip(peer, f);
      continue;
    }
    const t0 = performance.now();
    try {
      const r = await f();
      const first = performance.now() - t0;
      let last = first;
      for (let w = 0; w < o.warmups; w++) last = await r.runner.sample(1);
      live.push({ peer, ...r, first, reps: Math.max(1, Math.min(64, Math.ceil(o.minSampleMs / Math.max(last, 1e-3)))), samples: [], total: 0 });
    } catch (e) {
      skip(peer, skipReason(e));
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
  const withOut = live.filter((s) => s.out !== null);
  const ref = withOut.find((s) => s.peer === 'torch-cpu') ?? withOut.find((s) => s.peer === 'ort-cpu') ?? withOut[0];
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
      gflops: head.gflop / (stats.medianMs / 1e3),
      peerOverSpoofscan: ours ? stats.medianMs / oursMs : null,
      maxRelErr: ref?.out && s.out ? relErr(s.out, ref.out) : null,
    });
    await s.runner.dispose();
  }
  engine.pool.trim();
  const order = (p: Peer) => PEERS.indexOf(p);
  return { ...head, results: [...results, ...skipped].sort((x, y) => order(x.peer) - order(y.peer)) };
}

interface Context {
  engine: Engine;
  peers: readonly Peer[];
  threads: number;
  python: string;
  timing: Timing;
}

async function matmulCase(c: Context, N: number): Promise<CaseResult> {
  const a = uniform(N * N, 12345);
  const b = uniform(N * N, 54321);
  const { engine, threads } = c;
  const factories: Partial<Record<Peer, Factory>> = {
    spoofscan: async () => {
      const ta = tensor(a, [N, N]);
      const tb = tensor(b, [N, N]);
      return spoofscanRunner(engine, `matmul '${defaultVariant(engine)}' on ${engine.adapter.device || engine.adapter.backend}`, () => matmulRaw(ta, tb), () => {
        ta.dispose();
        tb.dispose();
      });
    },
    'tfjs-webgpu': () => tfjsRunner(engine, a, b, N),
    'ort-cpu': () => ortRunner(matmulOnnxModel(N, N, N), { A: [a, [N, N]], B: [b, [N, N]] }, 'C', threads),
    'torch-cpu': async () => torchRunner(await torchServer(c.python, threads), { op: 'matmul', n: N }, { a, b }),
  };
  return runCase(engine, { kind: 'matmul', label: `${N}³`, params: { N }, gflop: (2 * N * N * N) / 1e9, errLimit: 1e-4 }, factories, c.peers, c.timing);
}

async function localAttentionCase(c: Context, N: number, W: number, H: number, d: number, cache: string): Promise<CaseResult> {
  const shape = [1, H, N, d];
  const size = H * N * d;
  const [q, k, v] = [uniform(size, 1, 1), uniform(size, 2, 1), uniform(size, 3, 1)];
  const { engine, threads } = c;
  const onnxPath = resolve(cache, `local-attention-n${N}-w${W}-h${H}-d${d}.onnx`);
  const factories: Partial<Record<Peer, Factory>> = {
    spoofscan: async () => {
      const [tq, tk, tv] = [q, k, v].map((x) => tensor(x, shape));
      return spoofscanRunner(engine, `fused localWindowAttention (policy mask) on ${engine.adapter.device || engine.adapter.backend}`, () => noGrad(() => localWindowAttention(tq, tk, tv, { window: W, policy: 'mask' })), () => {
        for (const t of [tq, tk, tv]) t.dispose();
      });
    },
    'tfjs-webgpu': 'no local-window attention op in tfjs',
    'ort-cpu': async () => {
      if (!existsSync(onnxPath)) {
        // The graph is PyTorch's export of the very function the torch peer runs.
        const server = await torchServer(c.python, threads).catch((e: unknown) => {
          throw new Error(`the ONNX graph is exported by PyTorch, which is unavailable: ${skipReason(e)}`);
        });
        await mkdir(cache, { recursive: true });
        await server.lp.ask({ op: 'export-local', n: N, w: W, h: H, d, path: onnxPath });
      }
      return ortRunner(onnxPath, { q: [q, shape], k: [k, shape], v: [v, shape] }, 'o', threads);
    },
    'torch-cpu': async () => torchRunner(await torchServer(c.python, threads), { op: 'local', n: N, w: W, h: H, d }, { q, k, v }),
  };
  const gflop = (2 * N * W * 2 * d * H) / 1e9;
  return runCase(engine, { kind: 'local-attention', label: `N${N} W${W} H${H} d${d}`, params: { N, W, H, d }, gflop, errLimit: 1e-4 }, factories, c.peers, c.timing);
}

/** The command that makes the XLS-R ONNX export the ort-cpu peer runs. */
function exportCommand(python: string, preset: string, weights: string, samples: number, onnx: string): string[] {
  return [python, TORCH_SCRIPT, 'export-xlsr', '--preset', preset, '--weights', weights, '--samples', String(samples), '--out', onnx];
}

async function runCommand(argv: string[]): Promise<void> {
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => void (err = (err + d).slice(-2000)));
  const code = await new Promise<number | null>((res, rej) => {
    proc.once('error', rej);
    proc.once('exit', res);
  });
  if (code !== 0) throw new Error(`${argv.slice(0, 3).join(' ')} … exited ${code}: ${err.trim().split('\n').pop() ?? ''}`);
}

async function xlsrCase(c: Context, preset: string, samples: number, cache: string, exportOnnx: boolean): Promise<CaseResult> {
  const { engine, threads, python } = c;
  const stem = preset.startsWith('xlsr-') ? preset : `xlsr-${preset}`;
  const weights = resolve(cache, `${stem}-seed0.bin`);
  const onnxPath = resolve(cache, `${stem}-${samples}.onnx`);
  const wav = uniform(samples, 777, 0.3);
  // The shared weights: PyTorch makes them once (seeded); without PyTorch spoofscan uses its own random weights
  // and the outputs are not compared.
  let weightsNote = '';
  if (!existsSync(weights)) {
    try {
      await mkdir(cache, { recursive: true });
      await runCommand([python, TORCH_SCRIPT, 'weights', '--preset', preset, '--out', weights]);
    } catch (e) {
      weightsNote = skipReason(e);
    }
  }
  const shared = existsSync(weights);
  const factories: Partial<Record<Peer, Factory>> = {
    spoofscan: async () => {
      let model: XlsrModel;
      if (shared) {
        const src = await fileSource(weights);
        try {
          model = (await loadXlsr(src)).model;
        } finally {
          await src.close();
        }
      } else {
        model = XlsrModel.fromConfig(xlsrPreset(preset), 1);
      }
      model.setFrozen('all');
      const input = tensor(wav, [1, samples]);
      const made = await spoofscanRunner(engine, `XLS-R eval forward, ${shared ? 'shared weights' : `own random weights (${weightsNote})`}, on ${engine.adapter.device || engine.adapter.backend}`, () => noGrad(() => model.forward(input).x), () => {
        input.dispose();
        model.dispose();
      });
      return shared ? made : { ...made, out: null };
    },
    'tfjs-webgpu': 'no XLS-R in tfjs',
    'ort-cpu': async () => {
      if (!existsSync(onnxPath)) {
        const cmd = exportCommand(python, preset, weights, samples, onnxPath);
        if (!exportOnnx) throw new Error(`no ONNX export at ${onnxPath}; make it with --export or: ${cmd.join(' ')}`);
        await runCommand(cmd);
      }
      return ortRunner(onnxPath, { wav: [wav, [1, samples]] }, 'x', threads);
    },
    'torch-cpu': async () => {
      if (!shared) throw new Error(`no shared weights: ${weightsNote}`);
      return torchRunner(await torchServer(python, threads), { op: 'xlsr', preset, weights, samples }, { wav });
    },
  };
  const gflop = (2 * forwardMacs(xlsrPreset(preset), samples).total) / 1e9;
  // Random 24-layer weights in float32 on three code paths: the final-LN outputs agreed to 2e-6 (300M, llvmpipe);
  // the limit leaves room for other adapters and accumulation orders.
  return runCase(engine, { kind: 'xlsr', label: `${preset} eval b1 ${samples}`, params: { preset, samples }, gflop, errLimit: 1e-2 }, factories, c.peers, c.timing);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cases: { type: 'string' },
      sizes: { type: 'string' },
      attn: { type: 'string' },
      heads: { type: 'string' },
      dims: { type: 'string' },
      preset: { type: 'string' },
      samples: { type: 'string' },
      runs: { type: 'string' },
      cache: { type: 'string', default: 'bench-out/peers' },
      export: { type: 'boolean', default: false },
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
  const q = values.quick;
  const cases = (values.cases ?? CASES.join(',')).split(',').map((s) => s.trim()) as CaseKind[];
  for (const k of cases) if (!CASES.includes(k)) throw new UserError(`bench peers: unknown case '${k}' (known: ${CASES.join(', ')})`);
  const sizes = intList('peers', 'sizes', values.sizes ?? (q ? '128' : '512,1024'), 8192);
  const attn = (values.attn ?? (q ? '33x3' : '201x7,201x31,1024x7,1024x31')).split(',').map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UserError(`bench peers: --attn '${s}' is not NxW`);
    return [Number(m[1]), Number(m[2])] as const;
  });
  const [heads] = intList('peers', 'heads', values.heads ?? (q ? '1' : '8'), 1 << 20);
  const [dims] = intList('peers', 'dims', values.dims ?? (q ? '16' : '64'), 1 << 20);
  const preset = values.preset ?? (q ? 'tiny' : 'xlsr-300m');
  if (!XLSR_PEER_PRESETS.includes(preset)) throw new UserError(`bench peers: --preset '${preset}' is not one of ${XLSR_PEER_PRESETS.join(', ')}`);
  const [samples] = intList('peers', 'samples', values.samples ?? (q ? '4000' : '64600'), 1 << 20);
  if (samples < 400) throw new UserError(`bench peers: --samples must be at least 400`);
  const runs = Number(values.runs ?? (q ? 1 : 2));
  if (!Number.isInteger(runs) || runs < 1) throw new UserError(`bench peers: --runs '${values.runs}' must be a positive integer`);
  const peers = (values.peers ?? PEERS.join(',')).split(',').map((s) => s.trim()) as Peer[];
  for (const p of peers) if (!PEERS.includes(p)) throw new UserError(`bench peers: unknown peer '${p}' (known: ${PEERS.join(', ')})`);
  const threads = values.threads === undefined ? cpus().length : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`bench peers: --threads '${values.threads}' must be a positive integer`);
  const timing: Timing = q
    ? { warmups: 1, minRuns: 1, maxRuns: 5, budgetMs: 300, minSampleMs: 10 }
    : { warmups: 2, minRuns: 3, maxRuns: 30, budgetMs: 2000, minSampleMs: 20 };
  if (values.budget !== undefined) {
    const s = Number(values.budget);
    if (!(s > 0)) throw new UserError(`bench peers: --budget '${values.budget}' is not a positive number of seconds`);
    timing.budgetMs = s * 1000;
  }
  // XLS-R: the first run is the warm-up; then exactly `runs` single-run samples per peer.
  const xlsrTiming: Timing = { warmups: 0, minRuns: runs, maxRuns: runs, budgetMs: 0, minSampleMs: 0 };
  const cache = resolve(values.cache);
  const { engine, env } = await openBenchEngine('peers', values.adapter);
  console.log(`adapter: ${env.adapterDescription}; load ${fmt(env.loadAverage.start)}`);
  const ctx: Context = { engine, peers, threads, python: values.python, timing };
  const results: CaseResult[] = [];
  try {
    if (cases.includes('matmul')) for (const N of sizes) results.push(await matmulCase(ctx, N));
    if (cases.includes('local-attention')) for (const [N, W] of attn) results.push(await localAttentionCase(ctx, N, W, heads, dims, cache));
    if (cases.includes('xlsr')) results.push(await xlsrCase({ ...ctx, timing: xlsrTiming }, preset, samples, cache, values.export));
  } finally {
    stopTorch();
  }
  finishEnvironment(env);
  const rows: string[][] = [];
  for (const s of results) {
    for (const [i, r] of s.results.entries()) {
      rows.push([
        i === 0 ? s.label : '',
        r.peer,
        r.stats ? fmt(r.stats.medianMs, 2) : '-',
        r.stats ? fmt(r.stats.p90Ms, 2) : '-',
        r.gflops === null ? '-' : fmt(r.gflops),
        r.peerOverSpoofscan === null ? '-' : `${fmt(r.peerOverSpoofscan, 2)}×`,
        r.maxRelErr === null ? '-' : r.maxRelErr <= s.errLimit ? `ok ${r.maxRelErr.toExponential(0)}` : `BAD ${r.maxRelErr.toExponential(1)}`,
        r.skipped ? 'skipped (below)' : r.detail,
      ]);
    }
  }
  console.log('');
  console.log(formatTable(['case', 'peer', 'median ms', 'p90 ms', 'GFLOP/s', 'peer/spoofscan', 'check', 'detail'], rows));
  const skipped = results.flatMap((s) => s.results.filter((r) => r.skipped).map((r) => `  ${s.label} ${r.peer}: ${r.skipped}`));
  if (skipped.length) console.log(`\nskipped:\n${skipped.join('\n')}`);
  console.log(`\npeer/spoofscan = peer median / spoofscan median (above 1: spoofscan is faster). Load average ${fmt(env.loadAverage.start)} → ${fmt(env.loadAverage.end ?? NaN)}.`);
  const record = { benchmark: 'peers', environment: env, timing, xlsrTiming, threads, quick: q, cases: results };
  await saveRecord('peers', engine, values, record);
  const bad = results.flatMap((s) => s.results.filter((r) => r.maxRelErr !== null && !(r.maxRelErr <= s.errLimit)).map((r) => `${s.label} ${r.peer}`));
  if (bad.length) {
    console.error(`bench peers: results differ by more than the case's limit (relative) for: ${bad.join('; ')}`);
    return 1;
  }
  return 0;
}
