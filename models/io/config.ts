// Model configuration from whatever a weight file offers: a spoofscan config in safetensors metadata, the
// fairseq config pickled in the checkpoint (cfg.model, or the legacy args Namespace), a Hugging Face
// config.json, and always the tensor shapes. Shapes decide the architecture; a config only adds what
// shapes cannot tell (heads, strides, regularisation) and is cross-checked against them by the loader.
import { CheckpointError } from './errors.ts';
import { modelParams, type ModelConfig } from '../config.ts';
import { NES2NET_LA, type Nes2NetConfig } from '../nes2net/config.ts';
import { countParams } from '../param-spec.ts';
import { TRACER, type TracerConfig } from '../tracer/config.ts';
import { XLSR_300M, type XlsrConfig } from '../xlsr/config.ts';
import { pyGet, unwrap } from './pickle.ts';

/** Attention heads by model width, for files without a config (spec model-xlsr.md §8.1); 64 is the tiny fixture. */
export const HEADS_BY_WIDTH: Readonly<Record<number, number>> = { 1024: 16, 1280: 16, 1920: 16, 64: 4 };
/** Conv strides by kernel in the standard wav2vec 2.0 extractor. */
const STRIDE_BY_KERNEL: Readonly<Record<number, number>> = { 10: 5, 3: 2, 2: 2 };

export interface ConfigResult {
  config: ModelConfig;
  source: string;
  notes: string[];
}

type Shapes = ReadonlyMap<string, readonly number[]>;

/** Counts consecutive indices `prefix{n}suffix` present from 0. */
function countIndexed(shapes: Shapes, prefix: string, suffix: string): number {
  let n = 0;
  while (shapes.has(`${prefix}${n}${suffix}`)) n++;
  return n;
}

function maxIndex(shapes: Shapes, re: RegExp): number {
  let max = -1;
  for (const k of shapes.keys()) {
    const m = re.exec(k);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

export function xlsrFromShapes(file: string, shapes: Shapes, notes: string[]): XlsrConfig {
  const c: XlsrConfig = { ...XLSR_300M, convLayers: [] };
  const nConv = countIndexed(shapes, 'xlsr.conv.', '.weight');
  for (let i = 0; i < nConv; i++) {
    const [ch, , k] = shapes.get(`xlsr.conv.${i}.weight`)!;
    const s = STRIDE_BY_KERNEL[k];
    if (s === undefined) throw new CheckpointError(file, `cannot infer the stride of conv block ${i} (kernel ${k}); pass a config`);
    c.convLayers.push([ch, k, s]);
  }
  if (!nConv) {
    c.convLayers = XLSR_300M.convLayers;
    notes.push('no conv feature extractor weights: assumed the XLS-R 300M extractor');
  }
  c.convBias = shapes.has('xlsr.conv.0.bias') || !nConv;
  c.dModel = shapes.get('xlsr.proj.weight')?.[0] ?? shapes.get('xlsr.final_norm.weight')?.[0] ?? c.dModel;
  c.layers = maxIndex(shapes, /^xlsr\.layers\.(\d+)\./) + 1;
  c.ffnDim = shapes.get('xlsr.layers.0.ffn.fc1.weight')?.[0] ?? c.ffnDim;
  const v = shapes.get('xlsr.pos_conv.weight_v');
  if (v && v.length === 3 && v[1] > 0) {
    c.posConvKernel = v[2];
    c.posConvGroups = c.dModel / v[1];
  }
  const heads = HEADS_BY_WIDTH[c.dModel];
  c.heads = heads ?? 0;
  notes.push(
    `XLS-R architecture inferred from tensor shapes: ${c.layers} layers, width ${c.dModel}, FFN ${c.ffnDim}, ` +
      `${c.convLayers.length} conv blocks, pos conv kernel ${c.posConvKernel} / ${c.posConvGroups} groups; ` +
      `strides from the standard pattern; ${heads ? `${heads} heads (preset for width ${c.dModel})` : 'heads unknown'}`,
  );
  return c;
}

export function nes2netFromShapes(shapes: Shapes, dModel: number, notes: string[]): Nes2NetConfig {
  const blocks = countIndexed(shapes, 'nes2net.blocks.', '.conv1.weight');
  const inputDim = shapes.get('nes2net.bn.weight')?.[0] ?? dModel;
  const n1 = shapes.get('nes2net.la.pos_emb')?.[0] ?? blocks + 1;
  const n2 = countIndexed(shapes, 'nes2net.blocks.0.convs.', '.weight') + 1;
  const conv = shapes.get('nes2net.blocks.0.convs.0.weight');
  const se = shapes.get('nes2net.blocks.0.se.fc1.weight');
  const C = inputDim / n1;
  const c: Nes2NetConfig = {
    ...NES2NET_LA,
    inputDim,
    nesRatio: [n1, n2],
    kernel: conv?.[2] ?? NES2NET_LA.kernel,
    seRatio: se?.[0] ? C / se[0] : NES2NET_LA.seRatio,
    nOut: shapes.get('nes2net.fc.weight')?.[0] ?? NES2NET_LA.nOut,
    la: [...shapes.keys()].some((k) => k.startsWith('nes2net.la.')) ? NES2NET_LA.la : null,
  };
  notes.push(
    `Nes2Net${c.la ? '-LA' : '-X'} inferred from tensor shapes: D ${inputDim}, Nes_ratio [${n1}, ${n2}], kernel ${c.kernel}, ` +
      `SE ratio ${c.seRatio}, ${c.nOut} outputs; dilation ${c.dilation}, dropout ${c.dropout}` +
      (c.la ? `, window ${c.la.windowSize}, attention dropout ${c.la.dropout}` : '') + ' from the released config',
  );
  return c;
}

export function tracerFromShapes(shapes: Shapes, notes: string[]): TracerConfig {
  const c: TracerConfig = {
    ...TRACER,
    hidden: shapes.get('tracer.fc1.weight')?.[0] ?? TRACER.hidden,
    classes: shapes.get('tracer.fc3.weight')?.[0] ?? TRACER.classes,
  };
  notes.push(`tracing head inferred from tensor shapes: hidden ${c.hidden}, ${c.classes} classes; ${c.heads} heads (preset)`);
  return c;
}

/** Fairseq Wav2Vec2Config defaults for the regularisation fields a config may omit. */
const FAIRSEQ_DEFAULTS = {
  dropout: 0.1, attention_dropout: 0.1, activation_dropout: 0, encoder_layerdrop: 0, dropout_input: 0,
  dropout_features: 0, feature_grad_mult: 1,
};

/** Reads fairseq's model config from the checkpoint root: `cfg.model` (hydra era) or `args` (legacy).
 *  Returns null when the checkpoint has neither. */
export function xlsrFromFairseq(file: string, root: unknown, base: XlsrConfig, notes: string[]): { config: XlsrConfig; source: string } | null {
  const cfg = pyGet(root, 'cfg');
  let model: unknown = pyGet(cfg, 'model');
  let task: unknown = pyGet(cfg, 'task');
  let source = 'fairseq cfg.model';
  if (!(unwrap(model) instanceof Map)) {
    const args = pyGet(root, 'args');
    if (!(unwrap(args) instanceof Map)) return null;
    model = task = args;
    source = 'fairseq args';
  }
  const get = (k: string): unknown => pyGet(model, k);
  const num = (k: keyof typeof FAIRSEQ_DEFAULTS): number => {
    const v = get(k);
    if (typeof v === 'number') return v;
    notes.push(`${source} has no ${k}: using fairseq's default ${FAIRSEQ_DEFAULTS[k]}`);
    return FAIRSEQ_DEFAULTS[k];
  };
  const int = (k: string, fallback: number): number => {
    const v = get(k);
    return typeof v === 'number' && Number.isSafeInteger(v) ? v : fallback;
  };
  const bad = (problem: string): never => {
    throw new CheckpointError(file, `${source}: ${problem}`);
  };
  const mode = get('extractor_mode');
  if (mode !== undefined && mode !== 'layer_norm') bad(`extractor_mode "${String(mode)}" (group-norm wav2vec 2.0 base) is not supported; spoofscan runs XLS-R (layer_norm)`);
  if (get('layer_norm_first') === false) bad('layer_norm_first is false (post-LN wav2vec 2.0); spoofscan runs pre-LN XLS-R');
  const act = get('activation_fn');
  if (act !== undefined && act !== 'gelu') bad(`activation_fn "${String(act)}" is not supported (gelu only)`);
  const convSpec = get('conv_feature_layers');
  const c: XlsrConfig = {
    ...base,
    convLayers: typeof convSpec === 'string' ? parseConvLayers(file, convSpec) : base.convLayers,
    convBias: typeof get('conv_bias') === 'boolean' ? (get('conv_bias') as boolean) : base.convBias,
    dModel: int('encoder_embed_dim', base.dModel),
    ffnDim: int('encoder_ffn_embed_dim', base.ffnDim),
    heads: int('encoder_attention_heads', base.heads),
    layers: int('encoder_layers', base.layers),
    posConvKernel: int('conv_pos', base.posConvKernel),
    posConvGroups: int('conv_pos_groups', base.posConvGroups),
    dropout: num('dropout'),
    attentionDropout: num('attention_dropout'),
    activationDropout: num('activation_dropout'),
    layerdrop: num('encoder_layerdrop'),
    dropoutInput: num('dropout_input'),
    dropoutFeatures: num('dropout_features'),
    featureGradMult: num('feature_grad_mult'),
    taskNormalize: typeof pyGet(task, 'normalize') === 'boolean' ? (pyGet(task, 'normalize') as boolean) : null,
  };
  return { config: c, source };
}

/** Parses fairseq's conv_feature_layers, a Python expression like "[(512, 10, 5)] + [(512, 3, 2)] * 4",
 *  without evaluating it: lists of 3-tuples of integers joined by `+`, each optionally repeated with `* n`. */
export function parseConvLayers(file: string, spec: string): [number, number, number][] {
  const tokens = spec.match(/\d+|[[\](),+*]|\S/g) ?? [];
  let p = 0;
  const bad = (): never => {
    throw new CheckpointError(file, `cannot parse conv_feature_layers "${spec}"`);
  };
  const eat = (t: string) => (tokens[p] === t ? (p++, true) : false);
  const int = (): number => (/^\d+$/.test(tokens[p] ?? '') ? Number(tokens[p++]) : bad());
  const out: [number, number, number][] = [];
  do {
    if (!eat('[')) bad();
    const list: [number, number, number][] = [];
    while (!eat(']')) {
      if (!eat('(')) bad();
      const t: [number, number, number] = [int(), (eat(','), int()), (eat(','), int())];
      eat(',');
      if (!eat(')')) bad();
      list.push(t);
      eat(',');
    }
    const times = eat('*') ? int() : 1;
    if (times > 1000) bad();
    for (let r = 0; r < times; r++) out.push(...list);
  } while (eat('+'));
  if (p !== tokens.length || out.length === 0) bad();
  return out;
}

/** Reads a Hugging Face Wav2Vec2 config.json (already parsed). */
export function xlsrFromHf(file: string, json: unknown, base: XlsrConfig): XlsrConfig {
  if (typeof json !== 'object' || json === null) throw new CheckpointError(file, 'config.json is not a JSON object');
  const j = json as Record<string, unknown>;
  const bad = (problem: string): never => {
    throw new CheckpointError(file, `config.json: ${problem}`);
  };
  if (j.feat_extract_norm !== undefined && j.feat_extract_norm !== 'layer') bad(`feat_extract_norm "${String(j.feat_extract_norm)}" is not supported (XLS-R uses "layer")`);
  if (j.do_stable_layer_norm === false) bad('do_stable_layer_norm is false (post-LN); spoofscan runs pre-LN XLS-R');
  if (j.hidden_act !== undefined && j.hidden_act !== 'gelu') bad(`hidden_act "${String(j.hidden_act)}" is not supported (gelu only)`);
  const n = (k: string, fallback: number): number => (typeof j[k] === 'number' ? (j[k] as number) : fallback);
  let convLayers = base.convLayers;
  if (Array.isArray(j.conv_dim) && Array.isArray(j.conv_kernel) && Array.isArray(j.conv_stride)) {
    const [d, k, s] = [j.conv_dim, j.conv_kernel, j.conv_stride] as number[][];
    if (d.length !== k.length || d.length !== s.length) bad('conv_dim, conv_kernel and conv_stride differ in length');
    convLayers = d.map((ch, i) => [ch, k[i], s[i]]);
  }
  return {
    ...base,
    convLayers,
    convBias: typeof j.conv_bias === 'boolean' ? j.conv_bias : base.convBias,
    dModel: n('hidden_size', base.dModel),
    ffnDim: n('intermediate_size', base.ffnDim),
    heads: n('num_attention_heads', base.heads),
    layers: n('num_hidden_layers', base.layers),
    posConvKernel: n('num_conv_pos_embeddings', base.posConvKernel),
    posConvGroups: n('num_conv_pos_embedding_groups', base.posConvGroups),
    layerNormEps: n('layer_norm_eps', base.layerNormEps),
    dropout: n('hidden_dropout', base.dropout),
    attentionDropout: n('attention_dropout', base.attentionDropout),
    activationDropout: n('activation_dropout', base.activationDropout),
    layerdrop: n('layerdrop', base.layerdrop),
    dropoutInput: n('feat_proj_dropout', base.dropoutInput),
  };
}

/** Ceiling on the total parameter count of a configuration (XLS-R 2B has 2.16 billion): a larger config is a
 *  corrupt or hostile file, refused before any model code allocates for it. */
export const MAX_MODEL_PARAMS = 2.5e9;

/** Ranges of the size fields: far beyond any published model, small enough that nothing allocates gigabytes. */
export const CONFIG_LIMITS = {
  convLayers: 64,
  channels: 8192,
  kernel: 1024,
  stride: 1024,
  dModel: 8192,
  ffnDim: 65536,
  layers: 256,
  heads: 512,
  posConvKernel: 1024,
  nesRatio: 1024,
  nesKernel: 63,
  dilation: 64,
  nOut: 1024,
  window: 1024,
  classes: 100_000,
} as const;

/**
 * The one schema for a model configuration (type, range, divisibility, total parameter count), used wherever a
 * configuration enters: loadWeights (so `convert`, `score`, `features`, training and the browser) and the
 * stored `spoofscan.config` metadata. `c` may be anything (parsed JSON); every problem is a CheckpointError
 * naming the file and the field.
 */
export function validateConfig(file: string, c: unknown): asserts c is ModelConfig {
  const bad = (problem: string): never => {
    throw new CheckpointError(file, `model config: ${problem}`);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : Array.isArray(v) ? 'a list' : String(v));
  const int = (where: string, v: unknown, max: number, min = 1): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(`${where} must be an integer from ${min} to ${max} (got ${show(v)})`);
    return v as number;
  };
  const real = (where: string, v: unknown, lo: number, hi: number, loOpen = false, hiOpen = false): number => {
    const ok = typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
    if (!ok) bad(`${where} must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'} (got ${show(v)})`);
    return v as number;
  };
  const bool = (where: string, v: unknown, nullable = false) => {
    if (typeof v !== 'boolean' && !(nullable && v === null)) bad(`${where} must be ${nullable ? 'true, false or null' : 'true or false'} (got ${show(v)})`);
  };
  const L = CONFIG_LIMITS;
  if (!isObj(c)) return bad(`expected an object with "arch" and "xlsr", got ${c === null ? 'null' : Array.isArray(c) ? 'a list' : typeof c}`);
  if (c.arch !== 'xlsr' && c.arch !== 'xlsr-nes2net' && c.arch !== 'xlsr-tracer') bad(`arch must be xlsr, xlsr-nes2net or xlsr-tracer (got ${show(c.arch)})`);
  const x = c.xlsr;
  if (!isObj(x)) return bad('xlsr must be an object');
  if (!Array.isArray(x.convLayers) || x.convLayers.length < 1 || x.convLayers.length > L.convLayers) bad(`xlsr.convLayers must be a list of 1 to ${L.convLayers} [channels, kernel, stride] triples`);
  (x.convLayers as unknown[]).forEach((l, i) => {
    if (!Array.isArray(l) || l.length !== 3) bad(`xlsr.convLayers[${i}] must be a [channels, kernel, stride] triple`);
    const t = l as unknown[];
    int(`xlsr.convLayers[${i}] channels`, t[0], L.channels);
    int(`xlsr.convLayers[${i}] kernel`, t[1], L.kernel);
    int(`xlsr.convLayers[${i}] stride`, t[2], L.stride);
  });
  bool('xlsr.convBias', x.convBias);
  const d = int('xlsr.dModel', x.dModel, L.dModel);
  int('xlsr.ffnDim', x.ffnDim, L.ffnDim);
  if (!(typeof x.heads === 'number' && Number.isSafeInteger(x.heads) && x.heads > 0)) bad(`attention heads unknown for width ${d}; give them in the config (e.g. config.json num_attention_heads)`);
  const heads = int('xlsr.heads', x.heads, L.heads);
  int('xlsr.layers', x.layers, L.layers);
  int('xlsr.posConvKernel', x.posConvKernel, L.posConvKernel);
  const groups = int('xlsr.posConvGroups', x.posConvGroups, d);
  if (d % heads) bad(`width ${d} is not divisible by ${heads} heads`);
  if (d % groups) bad(`width ${d} is not divisible by ${groups} pos-conv groups`);
  real('xlsr.layerNormEps', x.layerNormEps, 0, 1, true);
  for (const k of ['dropout', 'attentionDropout', 'activationDropout', 'layerdrop', 'dropoutInput', 'dropoutFeatures'] as const) real(`xlsr.${k}`, x[k], 0, 1, false, true);
  real('xlsr.featureGradMult', x.featureGradMult, 0, 1000);
  if (x.taskNormalize !== undefined) bool('xlsr.taskNormalize', x.taskNormalize, true);

  if (c.arch === 'xlsr-nes2net' && c.nes2net === undefined) bad('arch xlsr-nes2net needs a nes2net section');
  if (c.arch === 'xlsr-tracer' && c.tracer === undefined) bad('arch xlsr-tracer needs a tracer section');
  if (c.nes2net !== undefined) {
    const n = c.nes2net;
    if (!isObj(n)) return bad('nes2net must be an object');
    const D = int('nes2net.inputDim', n.inputDim, L.dModel);
    if (!Array.isArray(n.nesRatio) || n.nesRatio.length !== 2) bad('nes2net.nesRatio must be [n1, n2]');
    const [r1, r2] = n.nesRatio as unknown[];
    const n1 = int('nes2net.nesRatio[0]', r1, L.nesRatio, 2);
    int('nes2net.nesRatio[1]', r2, L.nesRatio, 2);
    int('nes2net.kernel', n.kernel, L.nesKernel);
    int('nes2net.dilation', n.dilation, L.dilation);
    const se = int('nes2net.seRatio', n.seRatio, D);
    int('nes2net.nOut', n.nOut, L.nOut);
    real('nes2net.dropout', n.dropout, 0, 1, false, true);
    if (D % n1 || (D / n1) % se) bad(`Nes2Net D ${D}, Nes_ratio [${n1}, ${show(r2)}], SE ratio ${se} do not divide evenly`);
    if (n.la !== null) {
      if (!isObj(n.la)) return bad('nes2net.la must be an object or null');
      int('nes2net.la.windowSize', n.la.windowSize, L.window);
      const h = int('nes2net.la.heads', n.la.heads, L.heads);
      real('nes2net.la.dropout', n.la.dropout, 0, 1, false, true);
      if ((D / n1) % h) bad(`Nes2Net-LA group width ${D / n1} is not divisible by ${h} heads`);
    }
  }
  if (c.tracer !== undefined) {
    const t = c.tracer;
    if (!isObj(t)) return bad('tracer must be an object');
    const h = int('tracer.heads', t.heads, L.heads);
    int('tracer.hidden', t.hidden, L.ffnDim);
    int('tracer.classes', t.classes, L.classes);
    if (d % h) bad(`tracer: width ${d} is not divisible by ${h} heads`);
  }
  // Every field is in range: the parameter list is small enough to build, and its total is checked.
  const total = countParams(modelParams(c as unknown as ModelConfig));
  if (total > MAX_MODEL_PARAMS) bad(`${total.toExponential(3)} parameters exceed the ceiling of ${MAX_MODEL_PARAMS.toExponential(1)} (corrupt sizes?)`);
}
