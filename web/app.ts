// The spoofscan page (web/index.html): the UI thread. Checks for WebGPU, starts the worker (web/app-worker.ts) that
// owns the engine and the models, loads the default detector and tracer, and turns file inputs, drops and the
// microphone into requests. Scores, plots and losses land in the DOM (with full-precision data-* attributes that
// test/browser/app.test.ts reads); `window.spoofscanApp` tells scripts when the page is idle.
import type { ClipCrop } from '../inference/clip.ts';
import type { DetectLabel } from '../inference/finetune.ts';
import type { AudioInput, Event, FineTuneResult, InitResult, LoadResult, ModelSourceSpec, Request, ScoreResult, Slot, WorkerMessage } from './app-protocol.ts';
import { escapeHtml, linePlot } from './plot.ts';

export const DEFAULT_MODELS: Record<Slot, string> = {
  detect: 'models/pretrained/detector.safetensors',
  trace: 'models/pretrained/tracer.safetensors',
};
const WINDOW = 64600;

export interface AppState {
  state: 'starting' | 'ready' | 'no-webgpu' | 'error';
  /** Requests sent to the worker and not answered yet. */
  pending: number;
  error?: string;
  adapter?: string;
  models: Partial<Record<Slot, LoadResult>>;
  results: ScoreResult[];
  finetune?: FineTuneResult;
}

declare global {
  interface Window {
    spoofscanApp: AppState;
  }
}

const app: AppState = { state: 'starting', pending: 0, models: {}, results: [] };
window.spoofscanApp = app;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const log = (text: string) => {
  $('log').textContent += `${new Date().toLocaleTimeString()}  ${text}\n`;
};
const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const fmtBytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

// ---- worker RPC -------------------------------------------------------------------------------------------
let worker: Worker | null = null;
let nextId = 1;
const calls = new Map<number, { resolve(v: unknown): void; reject(e: Error): void; onEvent?(e: Event): void }>();

function call<T>(req: Request, onEvent?: (e: Event) => void, transfer: Transferable[] = []): Promise<T> {
  const id = nextId++;
  app.pending++;
  return new Promise<T>((resolve, reject) => {
    calls.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent });
    worker!.postMessage({ id, req }, transfer);
  }).finally(() => {
    app.pending--;
  });
}

function onWorkerMessage(e: MessageEvent<WorkerMessage>): void {
  const m = e.data;
  const c = calls.get(m.id);
  if (!c) return;
  if (m.kind === 'event') c.onEvent?.(m.event);
  else {
    calls.delete(m.id);
    if (m.kind === 'done') c.resolve(m.result);
    else c.reject(new Error(m.message));
  }
}

// ---- WebGPU availability ----------------------------------------------------------------------------------
function showBlocker(title: string, html: string): void {
  const el = $('gpu-message');
  el.hidden = false;
  el.innerHTML = `<h2>${escapeHtml(title)}</h2>${html}`;
  for (const b of Array.from(document.querySelectorAll<HTMLInputElement | HTMLButtonElement>('input, button, select'))) b.disabled = true;
}

/** Why this page cannot use WebGPU, or null when navigator.gpu is there. */
function webgpuProblem(): { title: string; html: string } | null {
  if (!window.isSecureContext) {
    return {
      title: 'WebGPU needs a secure context',
      html: `<p>This page was opened from <code>${escapeHtml(location.origin)}</code>, which is not a secure context, so the browser hides WebGPU.
        Open it from <code>http://localhost</code> or <code>http://127.0.0.1</code> (run <code>spoofscan serve</code> on this machine and open the address it prints), or serve it over https.</p>`,
    };
  }
  if (!('gpu' in navigator) || !navigator.gpu) {
    return {
      title: 'This browser has no WebGPU',
      html: `<p><code>navigator.gpu</code> is undefined: the models run on WebGPU and cannot start.</p>
        <ul><li>Use Chrome or Edge 113 or newer (Windows, macOS, ChromeOS, Android), or Safari 26.</li>
        <li>On Linux, start Chromium/Chrome with <code>--enable-unsafe-webgpu</code> (and <code>--enable-features=Vulkan</code> on some drivers), or enable <code>chrome://flags/#enable-unsafe-webgpu</code>.</li>
        <li>Firefox: WebGPU is on by default from version 141 on Windows; elsewhere set <code>dom.webgpu.enabled</code> in <code>about:config</code>.</li>
        <li>No browser at hand? <code>spoofscan score</code> runs the same models in Node.</li></ul>`,
    };
  }
  return null;
}

// ---- models -------------------------------------------------------------------------------------------------
function setProgress(e: Event): void {
  const bar = $<HTMLProgressElement>('load-progress');
  if (e.kind === 'progress' && e.what === 'download') {
    bar.max = Math.max(1, e.total);
    bar.value = e.done;
    $('load-status').textContent = `downloading: ${fmtBytes(e.done)} of ${fmtBytes(e.total)}`;
  } else if (e.kind === 'status') $('load-status').textContent = e.text;
}

function renderCard(slot: Slot, body: string): void {
  $(`card-${slot}`).querySelector('.body')!.outerHTML = `<div class="body">${body}</div>`;
}

function renderModel(r: LoadResult, extra = ''): void {
  const trained = r.info.provenance?.trained === true;
  const info = r.info;
  const rows: [string, string][] = [
    ['file', `${escapeHtml(r.file)} (${fmtBytes(r.bytes)}, ${r.fromCache ? 'from the browser cache' : 'downloaded'})`],
    ['model', escapeHtml(r.config)],
    ['parameters', r.params.toLocaleString('en-US')],
  ];
  if (info.classes) rows.push(['classes', escapeHtml(info.classes.join(', '))]);
  if (r.slot === 'trace') rows.push(['open set', `top probability below τ = ${info.threshold ?? 0.5} → “unseen”`]);
  if (r.slot === 'detect') rows.push(['calibration', info.calibration ? `llr = ${info.calibration.a.toPrecision(4)}·score + ${info.calibration.c.toPrecision(4)}` : 'none (no probabilities)']);
  rows.push(['loaded in', fmtMs(r.ms)]);
  renderCard(
    r.slot,
    `<div class="provenance ${trained ? 'trained' : 'untrained'}" data-provenance>${escapeHtml(r.provenance)}</div>
     <dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
     <div class="status" id="warmup-${r.slot}">${extra}</div>
     <details><summary>load report</summary><pre>${escapeHtml(r.report)}</pre></details>`,
  );
  $(`card-${r.slot}`).dataset.loaded = r.file;
}

async function loadModel(source: ModelSourceSpec, expect?: Slot): Promise<void> {
  const what = source.kind === 'url' ? source.url : source.file.name;
  // The worker lives in dist/: resolve page-relative URLs here.
  if (source.kind === 'url') source = { kind: 'url', url: new URL(source.url, location.href).href };
  try {
    const r = await call<LoadResult>({ type: 'load', source, expect }, setProgress);
    app.models[r.slot] = r;
    renderModel(r, 'warm-up: compiling shaders…');
    $('load-status').textContent = `${what}: loaded (${r.fromCache ? 'from the cache' : 'downloaded'})`;
    log(`loaded ${r.file} as the ${r.slot === 'detect' ? 'detector' : 'tracer'}: ${r.provenance}`);
    const w = await call<{ ms: number; pipelines: number }>({ type: 'warmup', slot: r.slot, window: WINDOW });
    const el = document.getElementById(`warmup-${r.slot}`);
    if (el) {
      el.textContent = `ready: warm-up ${fmtMs(w.ms)} (${w.pipelines} shaders compiled)`;
      el.dataset.ready = '1';
    }
    updateButtons();
  } catch (e) {
    const msg = (e as Error).message;
    $('load-status').textContent = `${what}: ${msg}`;
    log(`load failed: ${msg}`);
    if (expect && !app.models[expect]) renderCard(expect, `<span class="muted">${escapeHtml(msg)}; load one below.</span>`);
  }
}

// ---- scoring -----------------------------------------------------------------------------------------------
function renderResult(tr: HTMLTableRowElement, r: ScoreResult): void {
  const d = r.detect;
  const t = r.trace;
  tr.dataset.state = 'done';
  if (d) tr.dataset.score = String(d.score);
  if (d?.probability !== undefined) tr.dataset.probability = String(d.probability);
  if (t) {
    tr.dataset.label = t.label;
    tr.dataset.trace = JSON.stringify(t.ranked);
  }
  const verdict = d ? (d.probability !== undefined ? d.probability >= 0.5 : d.score >= 0) : null;
  const plot =
    d && d.windows.length > 1
      ? linePlot(d.windows.map((w) => ({ x: (w.start + WINDOW / 2) / 16000, y: w.score })), { refY: 0, width: 240, height: 90, xLabel: 'time (s)' })
      : d
        ? '<span class="muted">one window</span>'
        : '';
  const trace = t
    ? `<b>${escapeHtml(t.label)}</b>${t.unseen ? ` <span class="muted">(top probability below τ = ${t.threshold})</span>` : ''}<br>${t.ranked.map((c) => `${escapeHtml(c.name)} ${(100 * c.prob).toFixed(1)} %`).join('<br>')}`
    : '<span class="muted">no tracer</span>';
  tr.innerHTML =
    `<td>${escapeHtml(r.name)}</td><td class="num">${(r.samples / 16000).toFixed(2)} s<br><span class="muted">${r.sourceRate} Hz</span></td>` +
    `<td class="num">${d ? `<span class="${verdict ? 'verdict-bona' : 'verdict-spoof'}">${d.score.toFixed(4)}</span><br><span class="muted">${verdict ? 'bona fide' : 'spoof'}</span>` : '–'}</td>` +
    `<td class="num">${d?.probability !== undefined ? `${(100 * d.probability).toFixed(1)} %` : '<span class="muted">no calibration</span>'}</td>` +
    `<td>${plot}</td><td>${trace}</td>` +
    `<td class="num">decode ${fmtMs(r.decodeMs)}${d ? `<br>detect ${fmtMs(d.ms)}` : ''}${t ? `<br>trace ${fmtMs(t.ms)}` : ''}</td>`;
}

async function scoreFiles(files: readonly AudioInput[]): Promise<void> {
  const crop = $<HTMLSelectElement>('crop').value as ClipCrop;
  const body = $('results').querySelector('tbody')!;
  await Promise.all(
    files.map(async (f) => {
      const tr = document.createElement('tr');
      tr.dataset.file = f.name;
      tr.dataset.state = 'running';
      tr.innerHTML = `<td>${escapeHtml(f.name)}</td><td colspan="6" class="muted">scoring…</td>`;
      body.appendChild(tr);
      try {
        const r = await call<ScoreResult>({ type: 'score', file: f, crop, window: WINDOW });
        app.results.push(r);
        renderResult(tr, r);
      } catch (e) {
        tr.dataset.state = 'error';
        tr.innerHTML = `<td>${escapeHtml(f.name)}</td><td colspan="6" class="err">${escapeHtml((e as Error).message)}</td>`;
      }
    }),
  );
}

const readFiles = (list: FileList | readonly File[]) => Promise.all(Array.from(list).map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));

// ---- fine-tuning --------------------------------------------------------------------------------------------
const ftClips: (AudioInput & { label: DetectLabel })[] = [];

function renderClips(): void {
  const body = $('ft-clips').querySelector('tbody')!;
  body.innerHTML = ftClips
    .map(
      (c, i) =>
        `<tr data-clip="${i}"><td>${escapeHtml(c.name)}</td><td><select class="ft-label" data-index="${i}"><option value="1"${c.label === 1 ? ' selected' : ''}>bona fide</option><option value="0"${c.label === 0 ? ' selected' : ''}>spoof</option></select></td><td><button class="ft-remove" data-index="${i}">remove</button></td></tr>`,
    )
    .join('');
  updateButtons();
}

async function addClips(list: FileList | readonly File[]): Promise<void> {
  for (const f of await readFiles(list)) ftClips.push({ ...f, label: /bona.?fide|genuine|human|real/i.test(f.name) ? 1 : 0 });
  renderClips();
}

let lossPoints: { x: number; y: number }[] = [];
let tuned = false;

async function runFineTune(): Promise<void> {
  const steps = Number($<HTMLInputElement>('ft-steps').value);
  const lr = Number($<HTMLInputElement>('ft-lr').value);
  const seed = Number($<HTMLInputElement>('ft-seed').value);
  const status = $('ft-status');
  const curve = $('ft-curve');
  lossPoints = [];
  curve.innerHTML = '';
  curve.dataset.losses = '[]';
  $<HTMLButtonElement>('ft-run').disabled = true;
  // Copies: the worker keeps nothing of the originals, and the clips can be trained on again.
  const clips = ftClips.map((c) => ({ ...c, bytes: c.bytes.slice(0) }));
  try {
    const r = await call<FineTuneResult>({ type: 'finetune', clips, steps, lr, seed }, (e) => {
      if (e.kind === 'status') status.textContent = e.text;
      if (e.kind === 'progress') status.textContent = `XLS-R features: ${e.done} of ${e.total} clip(s)`;
      if (e.kind === 'loss') {
        lossPoints.push({ x: e.step, y: e.loss });
        curve.dataset.losses = JSON.stringify(lossPoints.map((p) => p.y));
        curve.innerHTML = linePlot(lossPoints, { width: 420, height: 150, xLabel: 'step', yLabel: 'loss', cls: 'loss' });
        status.textContent = `step ${e.step} of ${steps}: loss ${e.loss.toFixed(5)} (${fmtMs(e.ms)})`;
      }
    });
    app.finetune = r;
    tuned = true;
    curve.dataset.done = '1';
    status.textContent = `done: ${r.steps} steps on ${clips.length} clip(s), loss ${r.losses[0].toFixed(4)} → ${r.losses[r.losses.length - 1].toFixed(4)}; features ${fmtMs(r.featuresMs)}, ${fmtMs(r.stepMs.reduce((a, b) => a + b, 0) / r.stepMs.length)} per step. The detector above now uses the fine-tuned head.`;
    const models = app.models.detect;
    if (models) {
      const card = $('card-detect').querySelector('[data-provenance]');
      if (card) {
        card.textContent = `fine-tuned in the browser (${r.steps} steps on ${clips.length} clips) from: ${models.provenance}`;
        card.className = 'provenance trained';
      }
    }
  } catch (e) {
    status.textContent = `fine-tuning failed: ${(e as Error).message}`;
  } finally {
    updateButtons();
  }
}

async function downloadTuned(): Promise<void> {
  const bytes = await call<Uint8Array>({ type: 'export' });
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'detector-finetuned.safetensors';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  log(`fine-tuned weights: ${fmtBytes(bytes.length)} (detector-finetuned.safetensors)`);
}

function updateButtons(): void {
  const ready = app.state === 'ready';
  $<HTMLButtonElement>('ft-run').disabled = !ready || !app.models.detect || ftClips.length === 0;
  $<HTMLButtonElement>('ft-download').disabled = !ready || !tuned;
}

// ---- microphone ---------------------------------------------------------------------------------------------
let recording: { stop(): Promise<AudioInput> } | null = null;
let recordings = 0;

/** 16-bit PCM mono WAV bytes (what the project's own WAV decoder reads). */
function wavBytes(samples: Float32Array, rate: number): ArrayBuffer {
  const buf = new ArrayBuffer(44 + 2 * samples.length);
  const v = new DataView(buf);
  const str = (o: number, s: string) => [...s].forEach((ch, i) => v.setUint8(o + i, ch.charCodeAt(0)));
  str(0, 'RIFF');
  v.setUint32(4, 36 + 2 * samples.length, true);
  str(8, 'WAVEfmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, 2 * rate, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, 'data');
  v.setUint32(40, 2 * samples.length, true);
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + 2 * i, Math.round(32767 * Math.max(-1, Math.min(1, samples[i]))), true);
  return buf;
}

/** Captures raw PCM from the microphone (the AudioContext only records; decoding stays the project's own). */
async function startRecording(): Promise<{ stop(): Promise<AudioInput> }> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(stream);
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const chunks: Float32Array[] = [];
  proc.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
  src.connect(proc);
  proc.connect(ctx.destination);
  return {
    async stop() {
      src.disconnect();
      proc.disconnect();
      for (const t of stream.getTracks()) t.stop();
      const rate = ctx.sampleRate;
      await ctx.close();
      const all = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        all.set(c, at);
        at += c.length;
      }
      return { name: `recording-${++recordings}.wav`, bytes: wavBytes(all, rate) };
    },
  };
}

// ---- wiring -------------------------------------------------------------------------------------------------
function dropZone(id: string, onFiles: (files: FileList) => void): void {
  const el = $(id);
  el.addEventListener('dragover', (e) => {
    e.preventDefault();
    el.classList.add('over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    el.classList.remove('over');
    if (e.dataTransfer?.files.length) onFiles(e.dataTransfer.files);
  });
}

function wire(): void {
  const modelFile = $<HTMLInputElement>('model-file');
  modelFile.addEventListener('change', () => {
    const f = modelFile.files?.[0];
    if (f) void loadModel({ kind: 'file', file: f });
    modelFile.value = '';
  });
  dropZone('model-drop', (files) => void loadModel({ kind: 'file', file: files[0] }));
  $('model-url-load').addEventListener('click', () => {
    const url = $<HTMLInputElement>('model-url').value.trim();
    if (url) void loadModel({ kind: 'url', url });
  });
  $('forget-cache').addEventListener('click', async () => {
    const gone = await call<boolean>({ type: 'forget-cache' });
    $('load-status').textContent = gone ? 'cached models forgotten: the next load downloads again' : 'nothing cached';
  });
  const audio = $<HTMLInputElement>('audio-files');
  audio.addEventListener('change', async () => {
    if (audio.files?.length) await scoreFiles(await readFiles(audio.files));
    audio.value = '';
  });
  dropZone('audio-drop', async (files) => scoreFiles(await readFiles(files)));
  $('record').addEventListener('click', async () => {
    const btn = $<HTMLButtonElement>('record');
    try {
      if (recording) {
        const r = recording;
        recording = null;
        btn.textContent = '● Record';
        await scoreFiles([await r.stop()]);
      } else {
        recording = await startRecording();
        btn.textContent = '■ Stop and score';
      }
    } catch (e) {
      recording = null;
      btn.textContent = '● Record';
      log(`microphone: ${(e as Error).message}`);
    }
  });
  const ft = $<HTMLInputElement>('ft-files');
  ft.addEventListener('change', async () => {
    if (ft.files?.length) await addClips(ft.files);
    ft.value = '';
  });
  dropZone('ft-drop', (files) => void addClips(files));
  $('ft-clips').addEventListener('change', (e) => {
    const sel = e.target as HTMLSelectElement;
    if (sel.classList.contains('ft-label')) ftClips[Number(sel.dataset.index)].label = Number(sel.value) as DetectLabel;
  });
  $('ft-clips').addEventListener('click', (e) => {
    const b = e.target as HTMLElement;
    if (b.classList.contains('ft-remove')) {
      ftClips.splice(Number(b.dataset.index), 1);
      renderClips();
    }
  });
  $('ft-run').addEventListener('click', () => void runFineTune());
  $('ft-download').addEventListener('click', () => void downloadTuned().catch((e) => log(`download failed: ${(e as Error).message}`)));
}

async function main(): Promise<void> {
  const problem = webgpuProblem();
  if (problem) {
    app.state = 'no-webgpu';
    app.error = problem.title;
    document.body.dataset.state = app.state;
    $('adapter').textContent = 'no WebGPU';
    showBlocker(problem.title, problem.html);
    return;
  }
  wire();
  worker = new Worker(new URL('./app-worker.js', import.meta.url), { type: 'module', name: 'spoofscan' });
  worker.onmessage = onWorkerMessage;
  worker.onerror = (e) => log(`worker error: ${e.message}`);
  try {
    const init = await call<InitResult>({ type: 'init' });
    app.adapter = init.adapter;
    $('adapter').textContent = `WebGPU: ${init.adapter}${init.isCpu ? ' (a CPU emulator: slow)' : ''}`;
  } catch (e) {
    app.state = 'no-webgpu';
    app.error = (e as Error).message;
    document.body.dataset.state = app.state;
    showBlocker('WebGPU could not start', `<p>${escapeHtml(app.error)}</p><p>The browser exposes WebGPU but gave no adapter: enable hardware acceleration (chrome://settings/system), update the GPU driver, or on Linux start Chromium with <code>--enable-unsafe-webgpu</code>. <code>chrome://gpu</code> shows why WebGPU is off.</p>`);
    return;
  }
  app.state = 'ready';
  document.body.dataset.state = app.state;
  updateButtons();
  const params = new URLSearchParams(location.search);
  for (const slot of ['detect', 'trace'] as const) {
    const url = params.get(slot === 'detect' ? 'detector' : 'tracer') ?? DEFAULT_MODELS[slot];
    if (url !== 'none') await loadModel({ kind: 'url', url }, slot);
  }
}

void main();
