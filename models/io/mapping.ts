// Name mapping between the published layouts and spoofscan's canonical names (the scheme below). One rule table per
// naming scheme; each rule is a pair of templates, so the same table maps both ways.
//
// Layouts recognised (after stripping any number of leading `module.`, which DDP/DataParallel add):
//   fairseq       XLS-R state dict `ckpt['model']`: feature_extractor.conv_layers.0.0.weight, …
//   huggingface   Wav2Vec2ForPreTraining (`wav2vec2.` prefix) or bare Wav2Vec2Model (no prefix)
//   multiapi      MultiAPI-Spoof: `ssl_model.model.<fairseq name>` + `Nested_Res2Net_TDNN.*` (Nes2Net-LA/X)
//                 or the tracing head (`layer_att.self_attn.*`, `fc1.*`, `fc3.*`)
//   spoofscan     canonical names (files written by `spoofscan convert`)
//
// The canonical names: spoofscan's parameter names and shapes, per model configuration. Converted weight files use
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
//
// The configurations and parameter lists themselves live with their models (models/xlsr/config.ts,
// models/nes2net/config.ts, models/tracer/config.ts, models/config.ts, models/param-spec.ts); import them there.

export type Scheme = 'fairseq' | 'huggingface' | 'nes2net' | 'tracer';

type Rule = [canonical: string, source: string];

const PLACEHOLDERS: Record<string, string> = {
  i: '\\d+', l: '\\d+', b: '\\d+', j: '\\d+',
  wb: 'weight|bias',
  bn: 'weight|bias|running_mean|running_var|num_batches_tracked',
  m: 'q|k|v|out',
};

const XLSR_RULES: [canonical: string, fairseq: string, hf: string][] = [
  ['conv.{i}.{wb}', 'feature_extractor.conv_layers.{i}.0.{wb}', 'feature_extractor.conv_layers.{i}.conv.{wb}'],
  ['conv.{i}.norm.{wb}', 'feature_extractor.conv_layers.{i}.2.1.{wb}', 'feature_extractor.conv_layers.{i}.layer_norm.{wb}'],
  ['proj.norm.{wb}', 'layer_norm.{wb}', 'feature_projection.layer_norm.{wb}'],
  ['proj.{wb}', 'post_extract_proj.{wb}', 'feature_projection.projection.{wb}'],
  ['pos_conv.weight_g', 'encoder.pos_conv.0.weight_g', 'encoder.pos_conv_embed.conv.weight_g'],
  ['pos_conv.weight_v', 'encoder.pos_conv.0.weight_v', 'encoder.pos_conv_embed.conv.weight_v'],
  ['pos_conv.bias', 'encoder.pos_conv.0.bias', 'encoder.pos_conv_embed.conv.bias'],
  ['layers.{l}.attn_norm.{wb}', 'encoder.layers.{l}.self_attn_layer_norm.{wb}', 'encoder.layers.{l}.layer_norm.{wb}'],
  ['layers.{l}.attn.{m}.{wb}', 'encoder.layers.{l}.self_attn.{m}_proj.{wb}', 'encoder.layers.{l}.attention.{m}_proj.{wb}'],
  ['layers.{l}.ffn_norm.{wb}', 'encoder.layers.{l}.final_layer_norm.{wb}', 'encoder.layers.{l}.final_layer_norm.{wb}'],
  ['layers.{l}.ffn.fc1.{wb}', 'encoder.layers.{l}.fc1.{wb}', 'encoder.layers.{l}.feed_forward.intermediate_dense.{wb}'],
  ['layers.{l}.ffn.fc2.{wb}', 'encoder.layers.{l}.fc2.{wb}', 'encoder.layers.{l}.feed_forward.output_dense.{wb}'],
  ['final_norm.{wb}', 'encoder.layer_norm.{wb}', 'encoder.layer_norm.{wb}'],
];

const NES2NET_RULES: Rule[] = [
  ['blocks.{b}.conv1.{wb}', 'Build_in_Res2Nets.{b}.conv1.{wb}'],
  ['blocks.{b}.bn1.{bn}', 'Build_in_Res2Nets.{b}.bn1.{bn}'],
  ['blocks.{b}.convs.{j}.{wb}', 'Build_in_Res2Nets.{b}.convs.{j}.{wb}'],
  ['blocks.{b}.bns.{j}.{bn}', 'Build_in_Res2Nets.{b}.bns.{j}.{bn}'],
  ['blocks.{b}.weighted_sum.{j}', 'Build_in_Res2Nets.{b}.weighted_sum.{j}'],
  ['blocks.{b}.conv3.{wb}', 'Build_in_Res2Nets.{b}.conv3.{wb}'],
  ['blocks.{b}.bn3.{bn}', 'Build_in_Res2Nets.{b}.bn3.{bn}'],
  ['blocks.{b}.se.fc1.{wb}', 'Build_in_Res2Nets.{b}.se.se.1.{wb}'],
  ['blocks.{b}.se.fc2.{wb}', 'Build_in_Res2Nets.{b}.se.se.3.{wb}'],
  ['bns.{b}.{bn}', 'bns.{b}.{bn}'],
  ['bn.{bn}', 'bn.{bn}'],
  ['fc.{wb}', 'fc.{wb}'],
  ['la.{m}.weight', 'local_block_attn.proj_{m}.weight'],
  ['la.pos_emb', 'local_block_attn.pos_emb'],
];

const TRACER_RULES: Rule[] = [
  ['attn.in_proj.weight', 'layer_att.self_attn.in_proj_weight'],
  ['attn.in_proj.bias', 'layer_att.self_attn.in_proj_bias'],
  ['attn.out_proj.{wb}', 'layer_att.self_attn.out_proj.{wb}'],
  ['fc1.{wb}', 'fc1.{wb}'],
  ['fc3.{wb}', 'fc3.{wb}'],
];

/** Tensors present in published files that spoofscan never uses, with the reason. Matched on the name
 *  inside its scheme. */
const SKIPS: { scheme: Scheme; pattern: RegExp; reason: string }[] = [
  { scheme: 'fairseq', pattern: /^(mask_emb|(quantizer|project_q|final_proj)\..+)$/, reason: 'XLS-R pre-training head / mask embedding, unused downstream' },
  { scheme: 'huggingface', pattern: /^(masked_spec_embed|(quantizer|project_q|project_hid)\..+)$/, reason: 'XLS-R pre-training head / mask embedding, unused downstream' },
  { scheme: 'nes2net', pattern: /^global_attn\..+$/, reason: 'Nes2Net-LA global_attn: in the state dict but never called in forward' },
  { scheme: 'tracer', pattern: /^first_bn\..+$/, reason: 'tracing model first_bn: defined but unused' },
];

interface Compiled {
  re: RegExp;
  keys: string[];
  other: string;
}

function compile(from: string, to: string): Compiled {
  const keys: string[] = [];
  const src = from
    .split(/(\{\w+\})/)
    .map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      keys.push(m[1]);
      return `(${PLACEHOLDERS[m[1]]})`;
    })
    .join('');
  return { re: new RegExp(`^${src}$`), keys, other: to };
}

function apply(rules: Compiled[], name: string): string | null {
  for (const r of rules) {
    const m = r.re.exec(name);
    if (m) return r.other.replace(/\{(\w+)\}/g, (_, k: string) => m[1 + r.keys.indexOf(k)]);
  }
  return null;
}

const TABLES: Record<Scheme, { prefix: string; rules: Rule[] }> = {
  fairseq: { prefix: 'xlsr.', rules: XLSR_RULES.map(([c, fq]) => [c, fq]) },
  huggingface: { prefix: 'xlsr.', rules: XLSR_RULES.map(([c, , hf]) => [c, hf]) },
  nes2net: { prefix: 'nes2net.', rules: NES2NET_RULES },
  tracer: { prefix: 'tracer.', rules: TRACER_RULES },
};

const FORWARD = Object.fromEntries(
  Object.entries(TABLES).map(([s, t]) => [s, t.rules.map(([c, src]) => compile(src, t.prefix + c))]),
) as Record<Scheme, Compiled[]>;
const BACKWARD = Object.fromEntries(
  Object.entries(TABLES).map(([s, t]) => [s, t.rules.map(([c, src]) => compile(t.prefix + c, src))]),
) as Record<Scheme, Compiled[]>;

/** Source name (inside its scheme) → canonical name, or null. Accepts both weight-norm spellings. */
export function toCanonical(scheme: Scheme, name: string): string | null {
  const n = name.replace(/\.parametrizations\.weight\.original0$/, '.weight_g').replace(/\.parametrizations\.weight\.original1$/, '.weight_v');
  return apply(FORWARD[scheme], n);
}

/** Canonical name → the name inside a scheme (weight_g/weight_v spelling), or null. */
export function fromCanonical(scheme: Scheme, canonical: string): string | null {
  return apply(BACKWARD[scheme], canonical);
}

export function skipReason(scheme: Scheme, name: string): string | null {
  for (const s of SKIPS) if (s.scheme === scheme && s.pattern.test(name)) return s.reason;
  return null;
}

export type Layout = 'fairseq' | 'huggingface' | 'multiapi' | 'spoofscan';

/** `layout` is null for names that read the same in several layouts. */
export type Classified =
  | { kind: 'mapped'; name: string; layout: Layout | null }
  | { kind: 'skipped'; reason: string; layout: Layout | null }
  | { kind: 'unexpected' };

const CANONICAL_PREFIXES = ['xlsr.', 'nes2net.', 'tracer.'];

/** Decides where one source key goes. `stripped` has its `module.` prefixes removed already. */
export function classify(stripped: string): Classified {
  if (CANONICAL_PREFIXES.some((p) => stripped.startsWith(p))) return { kind: 'mapped', name: stripped, layout: 'spoofscan' };
  const tryScheme = (scheme: Scheme, inner: string, layout: Layout): Exclude<Classified, { kind: 'unexpected' }> | null => {
    const name = toCanonical(scheme, inner);
    if (name) return { kind: 'mapped', name, layout };
    const reason = skipReason(scheme, inner);
    return reason ? { kind: 'skipped', reason, layout } : null;
  };
  let r: Classified | null = null;
  if (stripped.startsWith('ssl_model.model.')) r = tryScheme('fairseq', stripped.slice('ssl_model.model.'.length), 'multiapi');
  else if (stripped.startsWith('Nested_Res2Net_TDNN.')) r = tryScheme('nes2net', stripped.slice('Nested_Res2Net_TDNN.'.length), 'multiapi');
  else if (stripped.startsWith('wav2vec2.')) r = tryScheme('huggingface', stripped.slice('wav2vec2.'.length), 'huggingface');
  else {
    const fq = tryScheme('fairseq', stripped, 'fairseq');
    const hf = tryScheme('huggingface', stripped, 'huggingface');
    r = fq && hf ? { ...fq, layout: null } : (fq ?? hf ?? tryScheme('tracer', stripped, 'multiapi'));
  }
  return r ?? { kind: 'unexpected' };
}

/** Removes any number of leading `module.` (DistributedDataParallel / DataParallel wrappers). */
export function stripModulePrefix(name: string): string {
  while (name.startsWith('module.')) name = name.slice(7);
  return name;
}
