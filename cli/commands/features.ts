// spoofscan features --model CKPT [--layers final|all] [--normalize] --out OUT.safetensors AUDIO…
// Eval-mode XLS-R representations of whole files at 16 kHz, one safetensors file, so that they can be compared
// with other toolkits (fairseq, Hugging Face, torchaudio). Tensor names and numbering: see HELP and docs/models.md.
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine, noGrad, tensor, tidy, type Tensor } from '../../engine/node.ts';
import { formatLoadReport, LoadError } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { writeSafetensorsFile, type WritableTensor } from '../../models/io/safetensors-write.node.ts';
import { loadXlsr, receptiveField, type XlsrModel } from '../../models/xlsr/index.ts';
import { loadAudio } from '../../train/data/decode.ts';
import { TARGET_RATE } from '../../train/data/resample.ts';
import { readBytes } from '../../train/data/loader.node.ts';
import { UserError } from '../errors.ts';
import { Progress } from '../progress.ts';

export const summary = 'write XLS-R features (final, or every layer) of audio files to a .safetensors file';

const HELP = `usage: spoofscan features --model CKPT --out OUT.safetensors [--layers final|all] [--normalize] AUDIO...

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
  let bytes: Uint8Array;
  try {
    bytes = await readBytes(file);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code && FS_ERRORS.has(code)) throw new UserError(`${file}: cannot read (${code})`);
    throw e;
  }
  return (await loadAudio(bytes, file, { minSamples })).samples;
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
  if (!files.length) throw new UserError(`no audio file given\n${HELP}`);
  const selection: LayerSelection = values.layers;
  const normalize = values.normalize;
  const out = values.out;

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
    const config = model.config;
    const minSamples = receptiveField(config.convLayers);
    // First pass: every file decodes and is long enough, before any model work; lengths fix the tensor shapes.
    const inputs: FeatureInput[] = [];
    for (const [i, file] of files.entries()) {
      const samples = (await decode(file, minSamples)).length;
      inputs.push({ prefix: `${i}.`, file, samples, frames: model.frames(samples) });
    }

    // Second pass, lazily while writing: the writer asks for tensors in order, so one file's outputs are in
    // memory at a time (the audio is decoded again rather than kept).
    const progress = new Progress('features', files.length, 'files');
    let pending: { index: number; arrays: Float32Array[] } | null = null;
    const tensorOf = async (index: number, k: number): Promise<Float32Array> => {
      if (pending?.index !== index) {
        const { file, samples } = inputs[index];
        const wav = await decode(file, minSamples);
        if (wav.length !== samples) throw new UserError(`${file}: changed while running (${samples} samples, now ${wav.length})`);
        pending = { index, arrays: await forwardOne(model, wav, inputs[index], selection, normalize) };
        progress.tick(1, basename(file));
      }
      return pending.arrays[k];
    };
    const tensors: WritableTensor[] = inputs.flatMap((input, index) =>
      featureNames(index, config.layers, selection).map((name, k) => ({
        name,
        dtype: 'F32' as const,
        shape: [input.frames, config.dModel],
        data: () => tensorOf(index, k),
      })),
    );
    const metadata = {
      format: 'spoofscan-features',
      'spoofscan.inputs': JSON.stringify(inputs),
      'spoofscan.xlsr_config': JSON.stringify(config),
      'spoofscan.model': basename(values.model),
      'spoofscan.layers': selection,
      'spoofscan.normalize': String(normalize),
    };
    const t0 = Date.now();
    const { bytes } = await writeSafetensorsFile(out, tensors, metadata).catch((e: unknown) => {
      const code = (e as { code?: string }).code;
      if (code && FS_ERRORS.has(code)) throw new UserError(`${out}: cannot write the output (${(e as Error).message})`);
      throw e;
    });
    const frames = inputs.reduce((a, b) => a + b.frames, 0);
    console.log(
      `wrote ${out}: ${files.length} file${files.length === 1 ? '' : 's'}, ${frames.toLocaleString('en-US')} frames, ` +
        `${tensors.length} tensor${tensors.length === 1 ? '' : 's'} [T, ${config.dModel}] f32, ` +
        `${bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    return 0;
  } finally {
    model.dispose();
  }
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
