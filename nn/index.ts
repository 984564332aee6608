// nn: modules with named parameters, the layers built on the kernels, parameter builders, state dicts,
// generic autograd helpers and the optimizers.
export * from './module.ts';
export { ParamList } from './param-list.ts';
export * from './builder.ts';
export * from './counter.ts';
export * from './state-dict.ts';
export * from './autograd.ts';
export { Linear, linear } from './layers/linear.ts';
export { Conv1d, type Conv1dConfig } from './layers/conv1d.ts';
export { LayerNorm, GroupNorm } from './layers/norm.ts';
export { BatchNorm1d } from './layers/batch-norm.ts';
export { Dropout } from './layers/dropout.ts';
