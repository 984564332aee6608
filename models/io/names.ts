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
//
// The configurations and parameter lists themselves live with their models (models/xlsr/config.ts,
// models/nes2net/config.ts, models/tracer/config.ts, models/config.ts, models/param-spec.ts). This module only
// re-exports them, so that models/io/index.ts keeps offering the whole naming scheme to weight-file code
// (converters, the loader, the browser I/O check) from one import; code inside models/ imports the homes.

export { countParams, type ParamSpec } from '../param-spec.ts';
export { modelParams, type ModelConfig } from '../config.ts';
export { XLSR_300M, XLSR_TINY, xlsrParams, type XlsrConfig } from '../xlsr/config.ts';
export { NES2NET_LA, NES2NET_TINY_A, NES2NET_TINY_B, nes2netParams, type Nes2NetConfig } from '../nes2net/config.ts';
export { TRACER, tracerParams, type TracerConfig } from '../tracer/config.ts';
