// The spoofscan page's worker: owns the WebGPU engine and the models, so decoding audio, running XLS-R and
// fine-tuning never block the page. Uses exactly the library code Node uses (inference/, models/, train/data/),
// hence the same numbers. Protocol: web/app-protocol.ts.
import { initBrowserEngine, Rng, type Engine } from '../engine/index.ts';
import { scoreClip } from '../inference/detect.ts';
import { clipLogits } from '../inference/clip.ts';
import { traceClip, tracerLogits, classNames } from '../inference/trace.ts';
import { fineTunedInfo, HeadFineTuner, type FineTuneClip } from '../inference/finetune.ts';
import { Detector } from '../models/detector.ts';
import { encodeModel } from '../models/export.ts';
import { blobSource, bufferSource, formatLoadReport, loadWeights, type ByteSource, type LoadedWeights } from '../models/io/index.ts';
import type { ModelConfig } from '../models/config.ts';
import { describeProvenance, readModelInfo, type ModelInfo } from '../models/model-info.ts';
import { fittingBatch, limitProblems } from '../models/requirements.ts';
import { DEFAULT_OPEN_SET_THRESHOLD, openSetDecisions } from '../models/tracer/open-set.ts';
import { TracingModel } from '../models/tracer/tracing-model.ts';
import { receptiveField } from '../models/xlsr/config.ts';
import { loadAudio } from '../train/data/decode.ts';
import type { DetectResult, Event, FineTuneResult, InitResult, LoadResult, Request, ScoreResult, Slot, TraceResult, WorkerMessage } from './app-protocol.ts';

/** Cache API bucket for downloaded checkpoints (a reload reads them from here, not the network). */
export const MODEL_CACHE = 'spoofscan-models-v1';

interface Loaded<M> {
  model: M;
  info: ModelInfo;
  config: ModelConfig;
  file: string;
}

let engine: Engine | null = null;
let detector: Loaded<Detector> | null = null;
let tracer: Loaded<TracingModel> | null = null;
let tuned: { steps: number; clips: number; seed: number } | null = null;

const post = (m: WorkerMessage, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

/** Downloads `url` once, streaming (progress events), and keeps it in the Cache API; later calls read the cache. */
async function fetchCached(url: string, emit: (e: Event) => void): Promise<{ bytes: Uint8Array; fromCache: boolean }> {
  const key = new URL(url, self.location.href).href;
  const cache = 'caches' in self ? await caches.open(MODEL_CACHE).catch(() => null) : null;
  const hit = await cache?.match(key);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    emit({ kind: 'progress', what: 'download', done: bytes.length, total: bytes.length });
    return { bytes, fromCache: true };
  }
  let res: Response;
  try {
    res = await fetch(key, { cache: 'no-store' });
  } catch (e) {
    throw new Error(`${url}: cannot fetch (${(e as Error).message})`);
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}${res.status === 404 ? ' (no model at this URL)' : ''}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const chunks: Uint8Array[] = [];
  let done = 0;
  let last = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done: end, value } = await reader.read();
    if (end) break;
    chunks.push(value);
    done += value.length;
    const now = performance.now();
    if (now - last > 50) {
      last = now;
      emit({ kind: 'progress', what: 'download', done, total: total || done });
    }
  }
  const bytes = new Uint8Array(done);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  emit({ kind: 'progress', what: 'download', done, total: done });
  await cache?.put(key, new Response(bytes, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(done) } })).catch(() => undefined);
  return { bytes, fromCache: false };
}

function describeConfig(c: ModelConfig): string {
  const x = c.xlsr;
  const front = `XLS-R ${x.layers} layers, d ${x.dModel}, FFN ${x.ffnDim}, ${x.heads} heads`;
  if (c.tracer) return `${front} → reference tracer (${c.tracer.classes} classes, hidden ${c.tracer.hidden})`;
  const n = c.nes2net!;
  return `${front} → Nes2Net-${n.la ? 'LA' : 'X'} (groups ${n.nesRatio[0]}×${n.nesRatio[1]}, ${n.nOut} outputs)`;
}

function slotOf(w: LoadedWeights, info: ModelInfo): Slot {
  if (info.task) return info.task;
  if (w.config.arch === 'xlsr') throw new Error(`${w.file}: holds only XLS-R (no detector or tracing head)`);
  return w.config.arch === 'xlsr-tracer' || w.config.nes2net?.nOut !== 2 ? 'trace' : 'detect';
}

async function load(req: Extract<Request, { type: 'load' }>, emit: (e: Event) => void): Promise<LoadResult> {
  if (!engine) throw new Error('the engine is not initialised');
  const t0 = performance.now();
  let source: ByteSource;
  let fromCache = false;
  if (req.source.kind === 'url') {
    emit({ kind: 'status', text: `downloading ${req.source.url}` });
    const got = await fetchCached(req.source.url, emit);
    fromCache = got.fromCache;
    source = bufferSource(got.bytes, req.source.url.split('/').pop() || req.source.url);
  } else source = blobSource(req.source.file, req.source.file.name);
  emit({ kind: 'status', text: 'reading the checkpoint' });
  const weights = await loadWeights(source);
  const info = readModelInfo(weights.metadata ?? undefined, weights.file);
  const slot = slotOf(weights, info);
  if (req.expect && slot !== req.expect) throw new Error(`${weights.file} is a ${slot === 'detect' ? 'detector' : 'tracer'}, expected a ${req.expect === 'detect' ? 'detector' : 'tracer'}`);
  const problems = limitProblems(weights.config, engine.limits as unknown as Record<string, number>, 64600, 1);
  if (problems.length) throw new Error(`this adapter's limits are too small for ${weights.file}: ${problems.join('; ')}`);
  emit({ kind: 'status', text: 'uploading the weights to the GPU' });
  const entry = { info, config: weights.config, file: weights.file };
  if (slot === 'detect') {
    const model = await Detector.load(weights);
    detector?.model.dispose();
    detector = { model, ...entry };
    tuned = null;
  } else {
    const model = await TracingModel.load(weights);
    tracer?.model.dispose();
    tracer = { model, ...entry };
  }
  return {
    slot,
    file: weights.file,
    bytes: source.size,
    fromCache,
    report: formatLoadReport(weights.report),
    config: describeConfig(weights.config),
    params: weights.report.params,
    info,
    provenance: describeProvenance(info),
    ms: performance.now() - t0,
  };
}

/** One forward pass of a window-length input: compiles the model's shaders before the first file. */
async function warmup(slot: Slot, window: number): Promise<{ ms: number; pipelines: number }> {
  const t0 = performance.now();
  const before = engine!.stats.pipelinesCompiled;
  const rng = new Rng(7);
  const x = Float32Array.from({ length: window }, () => 0.1 * rng.normal());
  if (slot === 'detect') {
    if (!detector) throw new Error('no detector loaded');
    await scoreClip(detector.model, x, { crop: 'first', window });
  } else {
    if (!tracer) throw new Error('no tracer loaded');
    await clipLogits(tracerLogits(tracer.model), x, { crop: 'first', window });
  }
  return { ms: performance.now() - t0, pipelines: engine!.stats.pipelinesCompiled - before };
}

async function score(req: Extract<Request, { type: 'score' }>): Promise<ScoreResult> {
  if (!detector && !tracer) throw new Error('load a detector or a tracer first');
  const t0 = performance.now();
  const conv = (detector ?? tracer)!.config.xlsr.convLayers;
  const audio = await loadAudio(new Uint8Array(req.file.bytes), req.file.name, { minSamples: req.crop === 'full' ? receptiveField(conv) : 1 });
  const out: ScoreResult = { name: req.file.name, samples: audio.samples.length, sourceRate: audio.source.sampleRate, decodeMs: performance.now() - t0 };
  const limits = engine!.limits as unknown as Record<string, number>;
  if (detector) {
    const t1 = performance.now();
    const batch = fittingBatch(detector.config, limits, req.window);
    const r = await scoreClip(detector.model, audio.samples, { crop: req.crop, window: req.window, batch });
    const d: DetectResult = { score: r.score, logits: r.logits, windows: r.windowScores, ms: 0 };
    const cal = detector.info.calibration;
    if (cal) {
      const prior = cal.prior ?? 0.5;
      d.llr = cal.a * r.score + cal.c;
      d.probability = 1 / (1 + Math.exp(-(d.llr + Math.log(prior / (1 - prior)))));
    }
    d.ms = performance.now() - t1;
    out.detect = d;
  }
  if (tracer) {
    const t1 = performance.now();
    const threshold = tracer.info.threshold ?? DEFAULT_OPEN_SET_THRESHOLD;
    const names = classNames(tracer.model.classes, tracer.info.classes);
    const batch = fittingBatch(tracer.config, limits, req.window);
    const r = await traceClip(tracer.model, audio.samples, { crop: req.crop, window: req.window, batch, threshold, names, top: 3 });
    const windows = r.windows.map((w) => {
      const [p] = openSetDecisions(w.logits, tracer!.model.classes, threshold);
      return { start: w.start, label: p.unseen ? 'unseen' : names[p.top], prob: p.topProb };
    });
    const t: TraceResult = { label: r.label, unseen: r.prediction.unseen, threshold, ranked: r.ranked.map(({ name, prob }) => ({ name, prob })), windows, ms: performance.now() - t1 };
    out.trace = t;
  }
  return out;
}

async function finetune(req: Extract<Request, { type: 'finetune' }>, emit: (e: Event) => void): Promise<FineTuneResult> {
  if (!detector) throw new Error('load a detector first: fine-tuning trains its back-end head');
  if (!(Number.isInteger(req.steps) && req.steps >= 1 && req.steps <= 1000)) throw new Error(`steps must be an integer from 1 to 1000, not ${req.steps}`);
  const clips: FineTuneClip[] = [];
  for (const c of req.clips) clips.push({ name: c.name, label: c.label, samples: (await loadAudio(new Uint8Array(c.bytes), c.name, { minSamples: 1 })).samples });
  emit({ kind: 'status', text: `XLS-R features of ${clips.length} clip(s) (front-end frozen)` });
  const t0 = performance.now();
  const tuner = await HeadFineTuner.prepare(detector.model, clips, { lr: req.lr, seed: req.seed }, (done, total) => emit({ kind: 'progress', what: 'features', done, total }));
  const featuresMs = performance.now() - t0;
  const stepMs: number[] = [];
  try {
    for (let s = 0; s < req.steps; s++) {
      const t1 = performance.now();
      const loss = await tuner.step();
      stepMs.push(performance.now() - t1);
      emit({ kind: 'loss', step: s + 1, loss, ms: stepMs[s] });
    }
  } finally {
    tuner.dispose();
  }
  tuned = { steps: (tuned?.steps ?? 0) + req.steps, clips: clips.length, seed: req.seed };
  return { losses: tuner.losses, steps: req.steps, featuresMs, stepMs };
}

async function handle(id: number, req: Request): Promise<{ result: unknown; transfer?: Transferable[] }> {
  const emit = (event: Event) => post({ id, kind: 'event', event });
  switch (req.type) {
    case 'init': {
      engine = await initBrowserEngine();
      const a = engine.adapter;
      const r: InitResult = { adapter: engine.describe(), isCpu: a.isCpu, limits: a.limits, features: a.features };
      return { result: r };
    }
    case 'load':
      return { result: await load(req, emit) };
    case 'warmup':
      return { result: await warmup(req.slot, req.window) };
    case 'score':
      return { result: await score(req) };
    case 'finetune':
      return { result: await finetune(req, emit) };
    case 'export': {
      if (!detector) throw new Error('no detector loaded');
      if (!tuned) throw new Error('fine-tune the detector first');
      const bytes = await encodeModel(detector.model, fineTunedInfo(detector.info, tuned));
      return { result: bytes, transfer: [bytes.buffer] };
    }
    case 'forget-cache':
      return { result: 'caches' in self ? await caches.delete(MODEL_CACHE) : false };
  }
}

// Requests run one at a time, in order: the engine is single-threaded and models are shared between them.
let queue: Promise<void> = Promise.resolve();
self.onmessage = (e: MessageEvent<{ id: number; req: Request }>) => {
  const { id, req } = e.data;
  queue = queue.then(async () => {
    try {
      const { result, transfer } = await handle(id, req);
      post({ id, kind: 'done', result }, transfer);
    } catch (err) {
      post({ id, kind: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  });
};
