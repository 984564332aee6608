// spoofscan's canonical parameter names and shapes, per model configuration. Converted weight files use
// these names; model builders ask `modelParams(config)` for the full list they must find.
//
// Naming scheme (one prefix per component; shapes exactly as in the published checkpoints, nothing folded):
//
//   xlsr.conv.{i}.weight / .bias            conv block i: Conv1d [C_i, C_{i-1}, k_i] / [C_i]
//   xlsr.conv.{i}.norm.weight / .bias       its LayerNorm over channels [C_i]
//   xlsr.proj.norm.weight / .bias           feature-projection LayerNorm [C_last]
//   xlsr.proj.weight / .bias                Linear C_last → d [d, C_last] / [d]
//   xlsr.pos_conv.weight_g / .weight_v      weight-normed positional conv: g [1,1,K], v [d, d/groups, K]
//   xlsr.pos_conv.bias                      [d]
//   xlsr.layers.{l}.attn_norm.weight/.bias  pre-attention LayerNorm [d]
//   xlsr.layers.{l}.attn.{q,k,v,out}.weight / .bias   [d, d] / [d]
//   xlsr.layers.{l}.ffn_norm.weight/.bias   pre-FFN LayerNorm [d]
//   xlsr.layers.{l}.ffn.fc1.weight / .bias  [F, d] / [F];  ffn.fc2: [d, F] / [d]
//   xlsr.final_norm.weight / .bias          final encoder LayerNorm [d]
//
//   nes2net.blocks.{b}.conv1 / conv3 / se.fc1 / se.fc2 .{weight,bias}   1×1 Conv1d
//   nes2net.blocks.{b}.convs.{j}.{weight,bias}       Conv2d [w, w, k, 1] / [w]
//   nes2net.blocks.{b}.{bn1,bn3}.*, .bns.{j}.*        BatchNorm (weight, bias, running_mean, running_var,
//                                                     num_batches_tracked)
//   nes2net.blocks.{b}.weighted_sum.{j}              [1, 1, 1, j+2]
//   nes2net.bns.{b}.*  outer BN [C];  nes2net.bn.* head BN [D];  nes2net.fc.{weight,bias} [n_out, D] / [n_out]
//   nes2net.la.{q,k,v,out}.weight [C, C];  nes2net.la.pos_emb [n_groups, C]     (Nes2Net-LA only)
//
//   tracer.attn.in_proj.{weight,bias} [3d, d] / [3d];  tracer.attn.out_proj.* [d, d] / [d]
//   tracer.fc1.* [H, d] / [H];  tracer.fc3.* [K, H] / [K]
//
// See docs/weights.md for the mapping to fairseq, Hugging Face and MultiAPI-Spoof names.

export interface XlsrConfig {
  /** Conv feature extractor blocks: [channels, kernel, stride]. */
  convLayers: [number, number, number][];
  convBias: boolean;
  dModel: number;
  ffnDim: number;
  heads: number;
  layers: number;
  posConvKernel: number;
  posConvGroups: number;
  layerNormEps: number;
  /** Training-time regularisation (identity at inference); see model-xlsr.md §1.1. */
  dropout: number;
  attentionDropout: number;
  activationDropout: number;
  layerdrop: number;
  dropoutInput: number;
  dropoutFeatures: number;
  featureGradMult: number;
  /** Whether the pre-training task normalised waveforms (fairseq cfg.task.normalize); null if unknown.
   *  Informational: model code never normalises and the anti-spoofing recipes feed raw samples. */
  taskNormalize: boolean | null;
}

export interface Nes2NetConfig {
  /** D: input channels (the XLS-R width). */
  inputDim: number;
  /** [outer groups n1, inner scale n2]. */
  nesRatio: [number, number];
  kernel: number;
  dilation: number;
  seRatio: number;
  nOut: number;
  dropout: number;
  /** Local window attention over the groups (Nes2Net-LA); null for Nes2Net-X. */
  la: { windowSize: number; heads: number; dropout: number } | null;
}

export interface TracerConfig {
  heads: number;
  hidden: number;
  classes: number;
}

export interface ModelConfig {
  arch: 'xlsr' | 'xlsr-nes2net' | 'xlsr-tracer';
  xlsr: XlsrConfig;
  nes2net?: Nes2NetConfig;
  tracer?: TracerConfig;
}

export interface ParamSpec {
  name: string;
  shape: number[];
  /** 'param': trained weight; 'buffer': BatchNorm statistics. */
  kind: 'param' | 'buffer';
  dtype: 'float' | 'int64';
  /** May be absent from a file without error (num_batches_tracked). */
  optional?: boolean;
}

const STANDARD_CONV: [number, number, number][] = [
  [512, 10, 5], [512, 3, 2], [512, 3, 2], [512, 3, 2], [512, 3, 2], [512, 2, 2], [512, 2, 2],
];

const NO_DROPOUT = {
  dropout: 0, attentionDropout: 0, activationDropout: 0, layerdrop: 0, dropoutInput: 0, dropoutFeatures: 0,
  featureGradMult: 1,
};

/** XLS-R 300M (model-xlsr.md §1). Regularisation defaults are fairseq's large pre-training values. */
export const XLSR_300M: XlsrConfig = {
  convLayers: STANDARD_CONV, convBias: true, dModel: 1024, ffnDim: 4096, heads: 16, layers: 24,
  posConvKernel: 128, posConvGroups: 16, layerNormEps: 1e-5, ...NO_DROPOUT, taskNormalize: null,
};

/** The tiny fixture configuration (model-xlsr.md §9): 103,088 parameters. */
export const XLSR_TINY: XlsrConfig = {
  ...XLSR_300M,
  convLayers: STANDARD_CONV.map(([, k, s]) => [32, k, s]),
  dModel: 64, ffnDim: 128, heads: 4, layers: 2, posConvKernel: 16, posConvGroups: 4,
};

/** Nes2Net-LA as released by MultiAPI-Spoof (model-nes2net-la.md §5–§9): 578,599 parameters in use. */
export const NES2NET_LA: Nes2NetConfig = {
  inputDim: 1024, nesRatio: [8, 8], kernel: 3, dilation: 2, seRatio: 1, nOut: 2, dropout: 0.2,
  la: { windowSize: 3, heads: 1, dropout: 0.1 },
};

/** Fixture configurations of model-nes2net-la.md §13. */
export const NES2NET_TINY_A: Nes2NetConfig = { ...NES2NET_LA, inputDim: 64 };
export const NES2NET_TINY_B: Nes2NetConfig = { ...NES2NET_LA, inputDim: 64, nesRatio: [4, 4] };

export const TRACER: TracerConfig = { heads: 4, hidden: 128, classes: 21 };

const f = (name: string, shape: number[]): ParamSpec => ({ name, shape, kind: 'param', dtype: 'float' });

function batchNorm(prefix: string, c: number): ParamSpec[] {
  return [
    f(`${prefix}.weight`, [c]),
    f(`${prefix}.bias`, [c]),
    { name: `${prefix}.running_mean`, shape: [c], kind: 'buffer', dtype: 'float' },
    { name: `${prefix}.running_var`, shape: [c], kind: 'buffer', dtype: 'float' },
    { name: `${prefix}.num_batches_tracked`, shape: [], kind: 'buffer', dtype: 'int64', optional: true },
  ];
}

export function xlsrParams(c: XlsrConfig, prefix = 'xlsr.'): ParamSpec[] {
  const out: ParamSpec[] = [];
  let inCh = 1;
  c.convLayers.forEach(([ch, k], i) => {
    out.push(f(`${prefix}conv.${i}.weight`, [ch, inCh, k]));
    if (c.convBias) out.push(f(`${prefix}conv.${i}.bias`, [ch]));
    out.push(f(`${prefix}conv.${i}.norm.weight`, [ch]), f(`${prefix}conv.${i}.norm.bias`, [ch]));
    inCh = ch;
  });
  const d = c.dModel;
  out.push(
    f(`${prefix}proj.norm.weight`, [inCh]), f(`${prefix}proj.norm.bias`, [inCh]),
    f(`${prefix}proj.weight`, [d, inCh]), f(`${prefix}proj.bias`, [d]),
    f(`${prefix}pos_conv.weight_g`, [1, 1, c.posConvKernel]),
    f(`${prefix}pos_conv.weight_v`, [d, d / c.posConvGroups, c.posConvKernel]),
    f(`${prefix}pos_conv.bias`, [d]),
  );
  for (let l = 0; l < c.layers; l++) {
    const p = `${prefix}layers.${l}.`;
    out.push(f(`${p}attn_norm.weight`, [d]), f(`${p}attn_norm.bias`, [d]));
    for (const m of ['q', 'k', 'v', 'out']) out.push(f(`${p}attn.${m}.weight`, [d, d]), f(`${p}attn.${m}.bias`, [d]));
    out.push(
      f(`${p}ffn_norm.weight`, [d]), f(`${p}ffn_norm.bias`, [d]),
      f(`${p}ffn.fc1.weight`, [c.ffnDim, d]), f(`${p}ffn.fc1.bias`, [c.ffnDim]),
      f(`${p}ffn.fc2.weight`, [d, c.ffnDim]), f(`${p}ffn.fc2.bias`, [d]),
    );
  }
  out.push(f(`${prefix}final_norm.weight`, [d]), f(`${prefix}final_norm.bias`, [d]));
  return out;
}

export function nes2netParams(c: Nes2NetConfig, prefix = 'nes2net.'): ParamSpec[] {
  const [n1, n2] = c.nesRatio;
  const C = c.inputDim / n1, w = Math.floor(C / n2), wn = w * n2, r = C / c.seRatio;
  const out: ParamSpec[] = [];
  for (let b = 0; b < n1 - 1; b++) {
    const p = `${prefix}blocks.${b}.`;
    out.push(f(`${p}conv1.weight`, [wn, C, 1]), f(`${p}conv1.bias`, [wn]), ...batchNorm(`${p}bn1`, wn));
    for (let j = 0; j < n2 - 1; j++) out.push(f(`${p}convs.${j}.weight`, [w, w, c.kernel, 1]), f(`${p}convs.${j}.bias`, [w]));
    for (let j = 0; j < n2 - 1; j++) out.push(...batchNorm(`${p}bns.${j}`, w));
    for (let j = 0; j < n2 - 1; j++) out.push(f(`${p}weighted_sum.${j}`, [1, 1, 1, j + 2]));
    out.push(f(`${p}conv3.weight`, [C, wn, 1]), f(`${p}conv3.bias`, [C]), ...batchNorm(`${p}bn3`, C));
    out.push(f(`${p}se.fc1.weight`, [r, C, 1]), f(`${p}se.fc1.bias`, [r]), f(`${p}se.fc2.weight`, [C, r, 1]), f(`${p}se.fc2.bias`, [C]));
  }
  for (let b = 0; b < n1 - 1; b++) out.push(...batchNorm(`${prefix}bns.${b}`, C));
  out.push(...batchNorm(`${prefix}bn`, c.inputDim), f(`${prefix}fc.weight`, [c.nOut, c.inputDim]), f(`${prefix}fc.bias`, [c.nOut]));
  if (c.la) {
    for (const m of ['q', 'k', 'v', 'out']) out.push(f(`${prefix}la.${m}.weight`, [C, C]));
    out.push(f(`${prefix}la.pos_emb`, [n1, C]));
  }
  return out;
}

export function tracerParams(c: TracerConfig, dModel: number, prefix = 'tracer.'): ParamSpec[] {
  return [
    f(`${prefix}attn.in_proj.weight`, [3 * dModel, dModel]), f(`${prefix}attn.in_proj.bias`, [3 * dModel]),
    f(`${prefix}attn.out_proj.weight`, [dModel, dModel]), f(`${prefix}attn.out_proj.bias`, [dModel]),
    f(`${prefix}fc1.weight`, [c.hidden, dModel]), f(`${prefix}fc1.bias`, [c.hidden]),
    f(`${prefix}fc3.weight`, [c.classes, c.hidden]), f(`${prefix}fc3.bias`, [c.classes]),
  ];
}

/** Every tensor a model of this configuration has, in a fixed order. */
export function modelParams(c: ModelConfig): ParamSpec[] {
  const out = xlsrParams(c.xlsr);
  if (c.nes2net) out.push(...nes2netParams(c.nes2net));
  if (c.tracer) out.push(...tracerParams(c.tracer, c.xlsr.dModel));
  return out;
}

/** Trainable parameter count (buffers excluded). */
export function countParams(specs: readonly ParamSpec[]): number {
  let n = 0;
  for (const s of specs) if (s.kind === 'param') n += s.shape.reduce((a, b) => a * b, 1);
  return n;
}
