// What `score` and `trace` share: the input and model-input options, checking them before any model loads,
// opening a checkpoint with its load report and provenance line, writing a score file atomically, and listing
// skipped inputs.
import { initEngine } from '../engine/node.ts';
import { checkClipOptions, type ClipCrop, type ClipOptions } from '../inference/clip.ts';
import { SCORE_FORMATS, type ScoreFormat } from '../inference/score-writer.ts';
import { writeFileAtomic } from '../models/io/atomic-write.node.ts';
import type { ByteSource } from '../models/io/byte-source.ts';
import { formatLoadReport, LoadError, type LoadedWeights } from '../models/io/index.ts';
import { fileSource } from '../models/io/file-source.node.ts';
import { describeProvenance, readModelInfo, type ModelInfo } from '../models/model-info.ts';
import { parseWindowLength } from '../train/data/crop.ts';
import { UserError } from '../common/errors.ts';
import { collectInputs, type Inputs } from './inputs.ts';
import { defaultModel, type PRETRAINED } from './pretrained.ts';

/** parseArgs options of both commands (each adds its own). */
export const CLIP_COMMAND_OPTIONS = {
  model: { type: 'string' },
  out: { type: 'string' },
  format: { type: 'string' },
  list: { type: 'string' },
  root: { type: 'string' },
  'list-format': { type: 'string' },
  'skip-bad': { type: 'boolean', default: false },
  crop: { type: 'string', default: 'first' },
  window: { type: 'string' },
  batch: { type: 'string', default: '8' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface ClipCommandValues {
  out?: string;
  format?: string;
  list?: string;
  root?: string;
  'list-format'?: string;
  'skip-bad'?: boolean;
  crop?: string;
  window?: string;
  batch?: string;
  json?: boolean;
}

/** Checks the flags and every input before a model loads. */
export async function clipCommandSetup(values: ClipCommandValues, positionals: string[]): Promise<{ format: ScoreFormat; clip: Required<ClipOptions>; inputs: Inputs }> {
  const format = (values.format ?? (values.json ? 'json' : 'tsv')) as ScoreFormat;
  if (!SCORE_FORMATS.includes(format)) throw new UserError(`--format must be ${SCORE_FORMATS.join(', ')}, not "${values.format}"`);
  if (values.window !== undefined && values.crop !== 'windows') throw new UserError('--window applies to --crop windows only');
  if (values.root !== undefined && !values.list) throw new UserError('--root applies to --list');
  let clip: Required<ClipOptions>;
  try {
    clip = checkClipOptions({ crop: values.crop as ClipCrop, window: parseWindowLength(values.window), batch: Number(values.batch) });
  } catch (e) {
    if (e instanceof RangeError) throw new UserError(`--${e.message}`);
    throw e;
  }
  const inputs = await collectInputs({ paths: positionals, list: values.list, root: values.root, format: values['list-format'], skipBad: Boolean(values['skip-bad']) });
  return { format, clip, inputs };
}

/** Opens the given checkpoint (or the bundled `kind`) on the engine; prints its load report and what it is. */
export async function openCheckpointModel<M>(
  modelPath: string | undefined,
  kind: keyof typeof PRETRAINED,
  open: (source: ByteSource) => Promise<{ weights: LoadedWeights; model: M }>,
  showReport: boolean,
): Promise<{ model: M; info: ModelInfo; path: string }> {
  const path = modelPath ?? defaultModel(kind);
  await initEngine();
  const source = await fileSource(path);
  try {
    const { weights, model } = await open(source);
    if (showReport) console.error(formatLoadReport(weights.report));
    const info = readModelInfo(weights.metadata ?? undefined, path);
    console.error(`model: ${path} — ${describeProvenance(info)}`);
    return { model, info, path };
  } catch (e) {
    if (e instanceof LoadError) console.error(formatLoadReport(e.report));
    throw e;
  } finally {
    await source.close();
  }
}

export async function writeScoreFile(path: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(path, text);
  } catch (e) {
    throw new UserError(`${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Runs `fn` per input; with skipBad, a user-facing error skips that input instead of stopping the run. */
export async function forEachInput<T extends { path: string }>(items: readonly T[], skipBad: boolean, skipped: { path: string; reason: string }[], fn: (item: T) => Promise<void>, tick?: () => void): Promise<void> {
  for (const it of items) {
    try {
      await fn(it);
    } catch (e) {
      if (!skipBad || !(e as { userFacing?: boolean }).userFacing) throw e;
      skipped.push({ path: it.path, reason: (e as Error).message });
    }
    tick?.();
  }
}

export function reportSkipped(skipped: readonly { path: string; reason: string }[]): void {
  if (!skipped.length) return;
  console.error(`skipped ${skipped.length} input(s):`);
  for (const s of skipped) console.error(`  ${s.path}: ${s.reason}`);
}
