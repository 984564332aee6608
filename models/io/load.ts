// Loading weights for a spoofscan model: open any supported file, map its names to canonical ones, work out
// the model configuration, and check every tensor against the parameter list of that configuration.
// Missing or mis-shaped required tensors (and, unless strict is off, unexpected ones) are an error listing
// them; tensors skipped on purpose and everything inferred are reported.
import type { ByteSource } from './byte-source.ts';
import type { Checkpoint } from './checkpoint.ts';
import { openCheckpoint } from './checkpoint.ts';
import type { ConfigResult } from './config.ts';
import { nes2netFromShapes, tracerFromShapes, validateConfig, xlsrFromFairseq, xlsrFromHf, xlsrFromShapes } from './config.ts';
import type { HostDType, HostTensor } from './dtypes.ts';
import { castFloat, isFloatDType, toFloat32 } from './dtypes.ts';
import { CheckpointError, listSome } from './errors.ts';
import type { Layout } from './mapping.ts';
import { classify, stripModulePrefix } from './mapping.ts';
import { modelParams, type ModelConfig } from '../config.ts';
import type { Nes2NetConfig } from '../nes2net/config.ts';
import type { ParamSpec } from '../param-spec.ts';
import type { TracerConfig } from '../tracer/config.ts';
import type { XlsrConfig } from '../xlsr/config.ts';

/** safetensors metadata keys written by `spoofscan convert`. */
export const META_CONFIG = 'spoofscan.config';

export interface LoadOptions {
  /** A parsed Hugging Face config.json (for pytorch_model.bin / model.safetensors of HF models). */
  hfConfig?: unknown;
  hfConfigFile?: string;
  /** Applied last, e.g. { xlsr: { heads: 4 } } for a width without a preset. */
  overrides?: { xlsr?: Partial<XlsrConfig>; nes2net?: Partial<Nes2NetConfig>; tracer?: Partial<TracerConfig> };
  /** When true (default) unexpected tensors are an error. */
  strict?: boolean;
}

export interface Mismatch {
  name: string;
  source: string;
  expected: string;
  actual: string;
}

export interface LoadReport {
  file: string;
  format: Checkpoint['format'];
  layout: Layout[];
  stateDictKey: string;
  configSource: string;
  notes: string[];
  mapped: { source: string; name: string }[];
  skipped: { source: string; reason: string }[];
  unexpected: string[];
  missing: string[];
  missingOptional: string[];
  mismatched: Mismatch[];
  /** Trainable parameters in the mapped tensors. */
  params: number;
}

export interface MappedTensor {
  /** Canonical name. */
  name: string;
  /** Name in the file. */
  source: string;
  dtype: HostDType;
  shape: number[];
  spec: ParamSpec;
  /** Reads the data; `as` converts floating tensors to F32 or F16. */
  read(as?: 'F32' | 'F16'): Promise<HostTensor>;
}

export interface LoadedWeights {
  file: string;
  config: ModelConfig;
  report: LoadReport;
  /** In the order of modelParams(config). */
  tensors: MappedTensor[];
  get(name: string): MappedTensor | undefined;
  /** safetensors `__metadata__` (null for PyTorch files): task, classes, calibration, provenance (models/model-info.ts). */
  metadata: Record<string, string> | null;
}

export class LoadError extends CheckpointError {
  constructor(
    file: string,
    problem: string,
    readonly report: LoadReport,
  ) {
    super(file, problem);
    this.name = 'LoadError';
  }
}

export async function loadWeights(source: ByteSource, opts: LoadOptions = {}): Promise<LoadedWeights> {
  return mapCheckpoint(await openCheckpoint(source), opts);
}

export function mapCheckpoint(ck: Checkpoint, opts: LoadOptions = {}): LoadedWeights {
  const file = ck.file;
  const byName = new Map<string, Checkpoint['tensors'][number]>();
  const layouts = new Map<Layout, number>();
  const report: LoadReport = {
    file, format: ck.format, layout: [], stateDictKey: ck.stateDictKey, configSource: '', notes: [],
    mapped: [], skipped: [], unexpected: [], missing: [], missingOptional: [], mismatched: [], params: 0,
  };
  for (const n of ck.nonTensors) report.skipped.push({ source: n, reason: 'not a tensor' });
  for (const t of ck.tensors) {
    const c = classify(stripModulePrefix(t.name));
    if (c.kind === 'unexpected') report.unexpected.push(t.name);
    else {
      if (c.layout) layouts.set(c.layout, (layouts.get(c.layout) ?? 0) + 1);
      if (c.kind === 'skipped') report.skipped.push({ source: t.name, reason: c.reason });
      else if (byName.has(c.name)) report.unexpected.push(`${t.name} (second tensor for ${c.name}, first: ${byName.get(c.name)!.name})`);
      else byName.set(c.name, t);
    }
  }
  if (ck.tensors.length && stripModulePrefix(ck.tensors[0].name) !== ck.tensors[0].name) report.notes.push('stripped the DDP `module.` prefix');
  report.layout = [...layouts.entries()].sort((a, b) => b[1] - a[1]).map(([l]) => l);
  if (byName.size === 0) {
    throw new LoadError(file, `no tensor of a known model (XLS-R, Nes2Net, tracer) found; keys: ${listSome(ck.tensors.map((t) => t.name), 8)}`, report);
  }

  const shapes = new Map([...byName].map(([k, t]) => [k, t.shape] as const));
  const cfg = resolveConfig(ck, shapes, opts);
  report.configSource = cfg.source;
  report.notes.push(...cfg.notes);
  const config = cfg.config;

  const tensors: MappedTensor[] = [];
  const expectedNames = new Set<string>();
  for (const spec of modelParams(config)) {
    expectedNames.add(spec.name);
    const t = byName.get(spec.name);
    if (!t) {
      (spec.optional ? report.missingOptional : report.missing).push(spec.name);
      continue;
    }
    const dtypeOk = spec.dtype === 'float' ? isFloatDType(t.dtype) : t.dtype === 'I64';
    if (!dtypeOk || t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      report.mismatched.push({ name: spec.name, source: t.name, expected: `${spec.dtype} [${spec.shape}]`, actual: `${t.dtype} [${t.shape}]` });
      continue;
    }
    report.mapped.push({ source: t.name, name: spec.name });
    if (spec.kind === 'param') report.params += spec.shape.reduce((a, b) => a * b, 1);
    const name = spec.name;
    tensors.push({
      name, source: t.name, dtype: t.dtype, shape: t.shape, spec,
      async read(as) {
        const data = { ...(await t.read()), name };
        if (isFloatDType(data.dtype)) checkFinite(file, t.name, data);
        return as ? castFloat(data, as) : data;
      },
    });
  }
  for (const k of byName.keys()) if (!expectedNames.has(k)) report.unexpected.push(`${byName.get(k)!.name} (→ ${k}, not in the ${config.arch} config)`);

  const problems: string[] = [];
  if (report.missing.length) problems.push(`missing ${report.missing.length} required tensor(s): ${listSome(report.missing)}`);
  if (report.mismatched.length) {
    problems.push(`${report.mismatched.length} tensor(s) with the wrong shape or dtype: ${listSome(report.mismatched.map((m) => `${m.source} is ${m.actual}, expected ${m.expected}`))}`);
  }
  if (report.unexpected.length && opts.strict !== false) problems.push(`${report.unexpected.length} unexpected tensor(s): ${listSome(report.unexpected)}`);
  if (problems.length) throw new LoadError(file, `does not fit the ${config.arch} model (config from ${cfg.source}): ${problems.join('; ')}`, report);

  const index = new Map(tensors.map((t) => [t.name, t]));
  return { file, config, report, tensors, get: (n) => index.get(n), metadata: ck.metadata };
}


function resolveConfig(ck: Checkpoint, shapes: Map<string, readonly number[]>, opts: LoadOptions): ConfigResult {
  const file = ck.file;
  const notes: string[] = [];
  let result: ConfigResult;
  const stored = ck.metadata?.[META_CONFIG];
  if (stored !== undefined) {
    let config: unknown;
    try {
      config = JSON.parse(stored);
    } catch (e) {
      throw new CheckpointError(file, `metadata ${META_CONFIG} is not valid JSON (${(e as Error).message})`);
    }
    validateConfig(file, config); // before overrides touch it: `null`, a list or a string is refused here
    result = { config, source: `${META_CONFIG} metadata`, notes };
  } else {
    const inferred: string[] = [];
    let xlsr = xlsrFromShapes(file, shapes, inferred);
    let source = 'tensor shapes';
    const fq = ck.format === 'torch-zip' ? xlsrFromFairseq(file, ck.root, xlsr, notes) : null;
    if (fq) {
      xlsr = fq.config;
      source = fq.source;
      notes.push(
        `${source}: dropout ${xlsr.dropout}, attention_dropout ${xlsr.attentionDropout}, activation_dropout ${xlsr.activationDropout}, ` +
          `encoder_layerdrop ${xlsr.layerdrop}, dropout_input ${xlsr.dropoutInput}, feature_grad_mult ${xlsr.featureGradMult}` +
          (xlsr.taskNormalize !== null ? `, task normalize ${xlsr.taskNormalize}` : ''),
      );
    } else if (opts.hfConfig !== undefined) {
      xlsr = xlsrFromHf(opts.hfConfigFile ?? file, opts.hfConfig, xlsr);
      source = opts.hfConfigFile ?? 'config.json';
      notes.push(
        `${source}: hidden_dropout ${xlsr.dropout}, attention_dropout ${xlsr.attentionDropout}, activation_dropout ${xlsr.activationDropout}, ` +
          `layerdrop ${xlsr.layerdrop}, feat_proj_dropout ${xlsr.dropoutInput}`,
      );
    } else {
      notes.push(...inferred, 'no stored config: regularisation (dropouts, layerdrop) set to 0; override for fine-tuning');
    }
    const config: ModelConfig = { arch: 'xlsr', xlsr };
    const keys = [...shapes.keys()];
    if (keys.some((k) => k.startsWith('nes2net.'))) {
      config.arch = 'xlsr-nes2net';
      config.nes2net = nes2netFromShapes(shapes, xlsr.dModel, notes);
    }
    if (keys.some((k) => k.startsWith('tracer.'))) {
      config.arch = 'xlsr-tracer';
      config.tracer = tracerFromShapes(shapes, notes);
    }
    result = { config, source, notes };
  }
  const o = opts.overrides;
  if (o) {
    const c = result.config;
    if (o.xlsr) c.xlsr = { ...c.xlsr, ...o.xlsr };
    if (o.nes2net && c.nes2net) c.nes2net = { ...c.nes2net, ...o.nes2net };
    if (o.tracer && c.tracer) c.tracer = { ...c.tracer, ...o.tracer };
    notes.push(`overrides applied: ${JSON.stringify(o)}`);
  }
  validateConfig(file, result.config);
  return result;
}

/** Refuses a weight tensor holding NaN or ±Inf, naming the tensor and the file (a model would score NaN, or a
 *  finite garbage number after a max/clamp). */
export function checkFinite(file: string, tensorName: string, t: HostTensor): void {
  const v = t.dtype === 'F32' || t.dtype === 'F64' ? (t.data as Float32Array | Float64Array) : toFloat32(t);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      throw new CheckpointError(file, `tensor "${tensorName}" holds a non-finite value (${v[i]}) at element ${i}: corrupt weights`);
    }
  }
}

/** A human-readable load report (the CLI prints it). */
export function formatLoadReport(r: LoadReport): string {
  const lines = [
    `${r.file}: ${r.format}, layout ${r.layout.join(' + ') || 'unknown'}${r.stateDictKey ? `, state dict under '${r.stateDictKey}'` : ''}`,
    ...(r.configSource ? [`  config from ${r.configSource}`] : []), // empty when loading stopped before the config
    ...r.notes.map((n) => `  note: ${n}`),
    `  mapped: ${r.mapped.length} tensors, ${r.params.toLocaleString('en-US')} parameters`,
  ];
  const reasons = new Map<string, number>();
  for (const s of r.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
  for (const [reason, n] of reasons) lines.push(`  skipped on purpose: ${n} (${reason})`);
  if (r.missingOptional.length) lines.push(`  absent optional: ${r.missingOptional.length} (${listSome(r.missingOptional, 3)})`);
  if (r.unexpected.length) lines.push(`  unexpected: ${r.unexpected.length}: ${listSome(r.unexpected)}`);
  if (r.missing.length) lines.push(`  MISSING: ${r.missing.length}: ${listSome(r.missing)}`);
  for (const m of r.mismatched.slice(0, 20)) lines.push(`  MISMATCH: ${m.source} is ${m.actual}, expected ${m.expected} (${m.name})`);
  return lines.join('\n');
}
