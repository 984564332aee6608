// Joining features files (spoofscan features): the shards of a job array (`spoofscan merge`), or one shard's
// saved parts into its output (a resumable `features --shard` run). Tensors are streamed one at a time from
// the sources into one safetensors file written atomically; inputs are renumbered by their merged position,
// so the shards of a split merge into the file an unsharded run writes.
import { fileSource } from '../models/io/file-source.node.ts';
import { openSafetensors, type SafetensorsFile } from '../models/io/index.ts';
import { writeSafetensorsFile, type WritableTensor } from '../models/io/safetensors-write.node.ts';
import { MergeError, mergeOrder } from '../inference/merge.ts';
import { parseShardTag, type ShardTag } from '../inference/shard.ts';
import { UserError } from '../common/errors.ts';

export const FEATURES_FORMAT = 'spoofscan-features';
export const SHARD_KEY = 'spoofscan.shard';
const INPUTS_KEY = 'spoofscan.inputs';

export interface FeaturesEntry {
  prefix: string;
  file: string;
  samples: number;
  frames: number;
}

export interface OpenFeatures {
  path: string;
  st: SafetensorsFile;
  metadata: Record<string, string>;
  inputs: FeaturesEntry[];
  tag: ShardTag | null;
  close(): Promise<void>;
}

/** Opens a features file and reads its inputs; not one → UserError naming it. */
export async function openFeatures(path: string): Promise<OpenFeatures> {
  const src = await fileSource(path);
  try {
    const st = await openSafetensors(src);
    const metadata = st.metadata ?? {};
    if (metadata.format !== FEATURES_FORMAT || !metadata[INPUTS_KEY]) throw new UserError(`${path}: not a spoofscan features file (no ${INPUTS_KEY} metadata)`);
    let inputs: FeaturesEntry[];
    try {
      inputs = JSON.parse(metadata[INPUTS_KEY]) as FeaturesEntry[];
      if (!Array.isArray(inputs) || !inputs.every((x) => typeof x?.prefix === 'string' && typeof x.file === 'string')) throw new Error('not a list of {prefix, file}');
    } catch (e) {
      throw new UserError(`${path}: bad ${INPUTS_KEY} metadata (${(e as Error).message})`);
    }
    return { path, st, metadata, inputs, tag: metadata[SHARD_KEY] ? parseShardTag(metadata[SHARD_KEY]) : null, close: () => src.close() };
  } catch (e) {
    await src.close();
    throw e;
  }
}

/** Metadata other than the inputs and the shard tag: what must agree between files merged together. */
export function settingsOf(metadata: Record<string, string>): string {
  return JSON.stringify(Object.entries(metadata).filter(([k]) => k !== INPUTS_KEY && k !== SHARD_KEY));
}

/**
 * Writes `out` from `files` (already open; not closed here). `order`: [file, input] pairs in output order.
 * `tag`: the shard tag to record (assembling one shard), or null (a merged, whole output). `renumber`: prefixes
 * become the merged position (merge), else stay as they are (one shard's parts: the index in the whole list).
 */
export async function writeMergedFeatures(
  out: string,
  files: readonly OpenFeatures[],
  order: readonly [number, number][],
  tag: string | null,
  renumber = true,
): Promise<{ bytes: number; inputs: number }> {
  const inputs: FeaturesEntry[] = [];
  const tensors: WritableTensor[] = [];
  order.forEach(([f, k], pos) => {
    const { st, inputs: ins } = files[f];
    const input = ins[k];
    const prefix = renumber ? `${pos}.` : input.prefix;
    inputs.push({ ...input, prefix });
    for (const e of st.entries) {
      if (!e.name.startsWith(input.prefix)) continue;
      tensors.push({ name: prefix + e.name.slice(input.prefix.length), dtype: e.dtype, shape: e.shape, data: async () => (await st.read(e)).data });
    }
  });
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(files[0].metadata)) {
    if (k === SHARD_KEY) continue;
    metadata[k] = k === INPUTS_KEY ? JSON.stringify(inputs) : v;
  }
  if (tag) metadata[SHARD_KEY] = tag;
  const { bytes } = await writeSafetensorsFile(out, tensors, metadata);
  return { bytes, inputs: inputs.length };
}

/** `spoofscan merge` of features files: the checks of mergeOrder, and the same settings throughout. */
export async function mergeFeatureFiles(out: string, paths: readonly string[], list?: readonly string[]): Promise<{ bytes: number; inputs: number }> {
  const files: OpenFeatures[] = [];
  try {
    for (const p of paths) files.push(await openFeatures(p));
    const problems = files.filter((f) => settingsOf(f.metadata) !== settingsOf(files[0].metadata)).map((f) => `${f.path} was written with other settings (model, layers, normalisation or XLS-R config) than ${files[0].path}`);
    if (problems.length) throw new MergeError(problems);
    const order = mergeOrder(
      files.map((f) => ({ source: f.path, tag: f.tag, ids: f.inputs.map((x) => x.file), where: (k: number) => `input ${f.inputs[k].prefix.slice(0, -1)}` })),
      list,
    );
    return await writeMergedFeatures(out, files, order, null);
  } finally {
    for (const f of files) await f.close();
  }
}
