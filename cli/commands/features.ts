// spoofscan features --model CKPT [--layers final|all] [--normalize] --out OUT.safetensors AUDIO…
// Eval-mode XLS-R representations of whole files at 16 kHz, one safetensors file, so that they can be compared
// with other toolkits (fairseq, Hugging Face, torchaudio). Tensor names and numbering: see HELP and docs/models.md.
import { existsSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine, noGrad, tensor, tidy, type Tensor } from '../../engine/node.ts';
import { formatLoadReport, LoadError } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { writeSafetensorsFile, type WritableTensor } from '../../models/io/safetensors-write.node.ts';
import { loadXlsr, receptiveField, type XlsrModel } from '../../models/xlsr/index.ts';
import { TARGET_RATE } from '../../train/data/resample.ts';
import { loadAudioFile } from '../../train/data/read-audio.node.ts';
import { UserError } from '../../common/errors.ts';
import { formatShardTag } from '../../inference/shard.ts';
import { FEATURES_FORMAT, openFeatures, settingsOf, SHARD_KEY, writeMergedFeatures, type OpenFeatures } from '../features-merge.ts';
import { checkHeaders, collectInputs, type InputItem } from '../inputs.ts';
import { Progress } from '../../common/progress.ts';
import { planShard, SHARD_HELP, SHARD_OPTIONS } from '../shard-output.ts';

export const summary = 'write XLS-R features (final, or every layer) of audio files to a .safetensors file';

const HELP = `usage: spoofscan features --model CKPT --out OUT.safetensors [--layers final|all] [--normalize]
                          [--list FILE --root DIR] [--shard i/N|auto [--shards N]] [--resume] [--save-every K]
                          AUDIO...

Runs the XLS-R front-end in eval mode over each whole audio file (WAV, FLAC or MP3; mixed to mono and
resampled to 16 kHz) in one forward pass, and writes the representations to one safetensors file.
CKPT is any checkpoint spoofscan reads: fairseq xlsr2_300m.pt, Hugging Face pytorch_model.bin /
model.safetensors, a spoofscan .safetensors, or a full detector (MultiAPI-Spoof epoch_5_1.422.pth: its
fine-tuned XLS-R part is used, the back-end ignored).

Tensors, for the i-th AUDIO file (i = 0, 1, ...), all float32 [T, D] with T = floor((L - 400)/320) + 1 frames
for L samples at 16 kHz (D = 1024 for XLS-R 300M):
  <i>.final      output after the final encoder LayerNorm (fairseq res['x'], HF last_hidden_state)
  with --layers all, also <i>.layer_00 ... <i>.layer_NN (NN = number of layers, 24 for 300M):
  <i>.layer_00   input of the first encoder layer (after the positional-conv add) = HF hidden_states[0]
  <i>.layer_jj   (jj = 01 ... NN) raw output of encoder layer jj, no final LayerNorm = fairseq
                 layer_results[jj-1] = HF hidden_states[jj] for jj < NN; HF hidden_states[NN] is <i>.final
__metadata__: "spoofscan.inputs" (JSON list of {prefix, file, samples, frames}), "spoofscan.xlsr_config"
(JSON), "spoofscan.model", "spoofscan.layers", "spoofscan.normalize".

options:
  --model CKPT        XLS-R or detector weights
  --out FILE          output .safetensors (written atomically: complete or not at all)
  --layers final|all  final: only <i>.final (default); all: also every hidden state
  --normalize         zero-mean unit-variance per file before the model (vanilla XLS-R use); the
                      anti-spoofing recipes do not normalise (default off)
  --list FILE --root DIR
                      inputs from a protocol list (as in spoofscan score); "file" in spoofscan.inputs is the
                      list's path as written
${SHARD_HELP}
                      Sharded, <i> is the input's index in the whole list; the partial results are
                      OUT.partial.<first index>.safetensors, one per K inputs; spoofscan merge joins the shards
  -h, --help          this help`;

export type LayerSelection = 'final' | 'all';

/** What `spoofscan.inputs` holds per input file. */
export interface FeatureInput {
  /** Tensor name prefix: "<index>.". */
  prefix: string;
  file: string;
  /** Samples at 16 kHz. */
  samples: number;
  frames: number;
}

/** Tensor names of one input, in file order: `<i>.final`, then `<i>.layer_00` … `<i>.layer_NN` for 'all'. */
export function featureNames(index: number, layers: number, selection: LayerSelection): string[] {
  const names = [`${index}.final`];
  if (selection === 'all') {
    const width = Math.max(2, String(layers).length);
    for (let j = 0; j <= layers; j++) names.push(`${index}.layer_${String(j).padStart(width, '0')}`);
  }
  return names;
}

/** Eval-mode forward of one waveform [1, L] → host arrays in featureNames order (final, then hidden states). */
export async function computeFeatures(model: XlsrModel, wav: Tensor, selection: LayerSelection, normalize: boolean): Promise<Float32Array[]> {
  const outs = noGrad(() =>
    tidy(() => {
      const opts = { normalize, outputLayers: selection === 'all' };
      const run = model.begin(wav, opts);
      try {
        const { y } = model.featureEncoder(wav, run, opts);
        const x0 = model.positional(y, run);
        const { x, layers } = model.transformer(x0, run, opts);
        return selection === 'all' ? [x, x0, ...layers!] : [x];
      } finally {
        model.end(run);
      }
    }),
  );
  try {
    const host: Float32Array[] = [];
    for (const t of outs) host.push((await t.data()) as Float32Array);
    return host;
  } finally {
    for (const t of new Set(outs)) t.dispose();
  }
}

/** Resource limits (GPU buffer sizes, dispatch sizes, memory) that a long file can run into. */
const SIZE_LIMIT = /maxBufferSize|maxStorageBufferBindingSize|maxComputeWorkgroupsPerDimension|out[- ]of[- ]memory|Invalid (typed )?array length|Array buffer allocation/i;

/** File-system errors on the output that are the user's to fix (missing directory, permissions, full disk). */
const FS_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EISDIR', 'ENOTDIR', 'EDQUOT']);

async function decode(file: string, minSamples: number): Promise<Float32Array> {
  try {
    return (await loadAudioFile(file, { minSamples })).samples;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code && FS_ERRORS.has(code)) throw new UserError(`${file}: cannot read (${code})`);
    throw e;
  }
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      layers: { type: 'string', default: 'final' },
      normalize: { type: 'boolean', default: false },
      list: { type: 'string' },
      root: { type: 'string' },
      'list-format': { type: 'string' },
      ...SHARD_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const { values, positionals: files } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model) throw new UserError(`--model CKPT is required\n${HELP}`);
  if (!values.out) throw new UserError(`--out OUT.safetensors is required\n${HELP}`);
  if (!values.out.endsWith('.safetensors')) throw new UserError(`--out must end in .safetensors: ${values.out}`);
  if (values.layers !== 'final' && values.layers !== 'all') throw new UserError(`--layers must be final or all, not "${values.layers}"`);
  if (values.root !== undefined && !values.list) throw new UserError('--root applies to --list');
  if (!files.length && !values.list) throw new UserError(`no audio file given\n${HELP}`);
  const selection: LayerSelection = values.layers;
  const normalize = values.normalize;
  const all: InputItem[] = values.list
    ? (await collectInputs({ paths: files, list: values.list, root: values.root, format: values['list-format'], skipBad: false, canSkip: false })).items
    : files.map((f) => ({ id: f, path: f }));
  const plan = planShard(values, all);
  const out = plan.out!;
  const modelName = basename(values.model);
  const settings = { format: FEATURES_FORMAT, 'spoofscan.model': modelName, 'spoofscan.layers': selection, 'spoofscan.normalize': String(normalize) };

  // Resumable (--shard, --resume): results saved so far, in OUT and in OUT.partial.<first index>.safetensors.
  const saved: OpenFeatures[] = [];
  const done = new Map<string, [number, number]>();
  const tag = plan.tag ? formatShardTag(plan.tag) : null;
  try {
    if (plan.resumable) {
      const ids = new Set(plan.items.map((x) => x.item.id));
      if (ids.size !== plan.items.length) throw new UserError('the input list names an id more than once; a resumable run keys results by id');
      for (const path of [out, ...(await partFiles(out))]) {
        if (!existsSync(path)) continue;
        const f = await openFeatures(path);
        saved.push(f);
        const fTag = f.metadata[SHARD_KEY] ?? null;
        if (fTag !== tag) throw new UserError(`${path} holds ${fTag ? `shard ${fTag}` : 'an unsharded run'}, this run is ${tag ? `shard ${tag}` : 'unsharded'}; give each shard its own --out (e.g. feats.{shard}.safetensors)`);
        for (const [k, v] of Object.entries(settings)) {
          if (f.metadata[k] !== v) throw new UserError(`${path}: written with ${k}=${f.metadata[k]}, this run has ${v}; cannot resume with other settings (remove it, or choose another --out)`);
        }
        f.inputs.forEach((x, k) => {
          if (ids.has(x.file) && !done.has(x.file)) done.set(x.file, [saved.length - 1, k]);
        });
      }
      if (done.size) console.error(`resuming ${out}: ${done.size} of ${plan.items.length} inputs already done`);
    }
    const todo = plan.items.filter((x) => !done.has(x.item.id));
    if (!todo.length && plan.resumable) {
      const r = await finishParts(out, saved, plan.items.map((x) => done.get(x.item.id)!), tag);
      console.error(`${out}: all ${r.inputs} inputs already done; nothing to compute`);
      return 0;
    }
    await checkHeaders(todo.map((x) => x.item), false, false); // every file and header, before the model loads

    await initEngine();
    const source = await fileSource(values.model);
    let model: XlsrModel;
    try {
      const loaded = await loadXlsr(source);
      model = loaded.model;
      console.error(formatLoadReport(loaded.weights.report));
      if (loaded.weights.config.arch !== 'xlsr') console.error(`  using the XLS-R part of this ${loaded.weights.config.arch} checkpoint`);
    } catch (e) {
      if (e instanceof LoadError) console.error(formatLoadReport(e.report));
      throw e;
    } finally {
      await source.close();
    }

    try {
      const t0 = Date.now();
      const metadata = (inputs: FeatureInput[]): Record<string, string> => ({
        format: FEATURES_FORMAT,
        'spoofscan.inputs': JSON.stringify(inputs),
        'spoofscan.xlsr_config': JSON.stringify(model.config),
        'spoofscan.model': modelName,
        'spoofscan.layers': selection,
        'spoofscan.normalize': String(normalize),
        ...(tag ? { [SHARD_KEY]: tag } : {}),
      });
      const progress = new Progress('features', todo.length, 'files');
      if (!plan.resumable) {
        const r = await writeFeatures(out, model, todo, selection, normalize, metadata, progress);
        report(out, r, model.config.dModel, t0);
        return 0;
      }
      const config = metadata([]);
      for (const f of saved) {
        if (settingsOf(f.metadata) !== settingsOf(config)) throw new UserError(`${f.path}: written with another XLS-R configuration; cannot resume with other settings (remove it, or choose another --out)`);
      }
      // Chunks of --save-every inputs, each saved atomically as it completes; then OUT from all of them.
      for (let c = 0; c < todo.length; c += plan.saveEvery) {
        const chunk = todo.slice(c, c + plan.saveEvery);
        const part = `${out}.partial.${chunk[0].index}.safetensors`;
        await writeFeatures(part, model, chunk, selection, normalize, metadata, progress);
        const f = await openFeatures(part);
        saved.push(f);
        f.inputs.forEach((x, k) => done.set(x.file, [saved.length - 1, k]));
      }
      const r = await finishParts(out, saved, plan.items.map((x) => done.get(x.item.id)!), tag);
      report(out, { ...r, frames: saved.reduce((a, f) => a + f.inputs.reduce((b, x) => b + x.frames, 0), 0), tensors: 0 }, model.config.dModel, t0);
      return 0;
    } finally {
      model.dispose();
    }
  } finally {
    for (const f of saved) await f.close();
  }
}

/** The saved parts of a resumable run writing `out`: OUT.partial.<first index>.safetensors. */
async function partFiles(out: string): Promise<string[]> {
  const prefix = `${basename(out)}.partial.`;
  const names = await readdir(dirname(out)).catch(() => [] as string[]);
  return names
    .filter((n) => n.startsWith(prefix) && n.endsWith('.safetensors'))
    .sort((a, b) => Number(a.slice(prefix.length).split('.')[0]) - Number(b.slice(prefix.length).split('.')[0]))
    .map((n) => join(dirname(out), n));
}

/** OUT from the saved results (in list order, prefixes kept), then the parts removed. */
async function finishParts(out: string, saved: OpenFeatures[], order: [number, number][], tag: string | null): Promise<{ bytes: number; inputs: number }> {
  const r = await writeMergedFeatures(out, saved, order, tag, false).catch((e: unknown) => {
    const code = (e as { code?: string }).code;
    if (code && FS_ERRORS.has(code)) throw new UserError(`${out}: cannot write the output (${(e as Error).message})`);
    throw e;
  });
  for (const p of await partFiles(out)) await unlink(p).catch(() => undefined);
  return r;
}

function report(out: string, r: { bytes: number; inputs: number; frames: number; tensors: number }, dModel: number, t0: number): void {
  const { bytes, inputs } = r;
  console.log(
    `wrote ${out}: ${inputs} file${inputs === 1 ? '' : 's'}, ${r.frames.toLocaleString('en-US')} frames, ` +
      (r.tensors ? `${r.tensors} tensor${r.tensors === 1 ? '' : 's'} ` : 'tensors ') +
      `[T, ${dModel}] f32, ` +
      `${bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}

/**
 * Features of `items` (prefix = each item's index in the whole list) into one safetensors file `out`.
 * First pass: every file decodes and is long enough, before any model work; lengths fix the tensor shapes.
 * Second pass, lazily while writing: the writer asks for tensors in order, so one file's outputs are in memory
 * at a time (the audio is decoded again rather than kept).
 */
async function writeFeatures(
  out: string,
  model: XlsrModel,
  items: readonly { item: InputItem; index: number }[],
  selection: LayerSelection,
  normalize: boolean,
  metadata: (inputs: FeatureInput[]) => Record<string, string>,
  progress: Progress,
): Promise<{ bytes: number; inputs: number; frames: number; tensors: number }> {
  const config = model.config;
  const minSamples = receptiveField(config.convLayers);
  const inputs: FeatureInput[] = [];
  for (const { item, index } of items) {
    const samples = (await decode(item.path, minSamples)).length;
    inputs.push({ prefix: `${index}.`, file: item.id, samples, frames: model.frames(samples) });
  }
  let pending: { index: number; arrays: Float32Array[] } | null = null;
  const tensorOf = async (index: number, k: number): Promise<Float32Array> => {
    if (pending?.index !== index) {
      const { samples } = inputs[index];
      const path = items[index].item.path;
      const wav = await decode(path, minSamples);
      if (wav.length !== samples) throw new UserError(`${path}: changed while running (${samples} samples, now ${wav.length})`);
      pending = { index, arrays: await forwardOne(model, wav, inputs[index], selection, normalize) };
      progress.tick(1, basename(path));
    }
    return pending.arrays[k];
  };
  const tensors: WritableTensor[] = inputs.flatMap((input, index) =>
    featureNames(items[index].index, config.layers, selection).map((name, k) => ({
      name,
      dtype: 'F32' as const,
      shape: [input.frames, config.dModel],
      data: () => tensorOf(index, k),
    })),
  );
  const { bytes } = await writeSafetensorsFile(out, tensors, metadata(inputs)).catch((e: unknown) => {
    const code = (e as { code?: string }).code;
    if (code && FS_ERRORS.has(code)) throw new UserError(`${out}: cannot write the output (${(e as Error).message})`);
    throw e;
  });
  return { bytes, inputs: inputs.length, frames: inputs.reduce((a, b) => a + b.frames, 0), tensors: tensors.length };
}

/** One file through the model; a resource limit hit by a long file becomes a UserError naming it. */
async function forwardOne(model: XlsrModel, samples: Float32Array, input: FeatureInput, selection: LayerSelection, normalize: boolean): Promise<Float32Array[]> {
  let wav: Tensor | null = null;
  try {
    wav = tensor(samples, [1, samples.length]);
    const arrays = await computeFeatures(model, wav, selection, normalize);
    const expected = input.frames * model.config.dModel;
    for (const a of arrays) if (a.length !== expected) throw new Error(`${input.file}: model returned ${a.length} values, expected ${input.frames} × ${model.config.dModel}`);
    return arrays;
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (!(e as { userFacing?: boolean }).userFacing && SIZE_LIMIT.test(msg)) {
      const secs = (input.samples / TARGET_RATE).toFixed(1);
      throw new UserError(
        `${input.file}: too long to process in one piece here (${input.samples.toLocaleString('en-US')} samples = ${secs} s, ` +
          `${input.frames.toLocaleString('en-US')} frames): ${msg}. features runs each whole file in one forward pass; cut the file into shorter parts ` +
          `or use a device with larger limits.`,
      );
    }
    throw e;
  } finally {
    wav?.dispose();
  }
}
