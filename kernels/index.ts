// The op surface of the engine. Importing this module also registers gradient accumulation (elementwise.ts)
// and the start-up self-check (selfcheck.ts) with the engine, which cannot import kernels.
import './selfcheck.ts';

export * from './elementwise.ts';
export * from './reduce.ts';
export * from './layout.ts';
export * from './softmax.ts';
export { assign } from './assign.ts';
export { matmul, matmulBias, matmulRaw, defaultVariant, type MatmulOptions } from './matmul.ts';
export type { MatmulVariant } from './matmul-kernels.ts';
export * from './norm.ts';
export * from './loss.ts';
export * from './pooling.ts';
export * from './dropout.ts';
export { conv1d, conv1dOutputLength, defaultConvImpl, type Conv1dOptions } from './conv1d.ts';
export { weightNorm, foldWeightNorm } from './weight-norm.ts';
export { attention, attentionForward, multiHeadAttention, type AttentionOptions, type MultiHeadAttentionOptions } from './attention.ts';
export { localWindowAttention, localWindowAttentionForward, type LocalAttentionOptions } from './local-attention.ts';
export type { EdgePolicy } from './local-attention-wgsl.ts';
