// XLS-R (wav2vec 2.0) front-end: configurations, parameters, the model, loading, custom autograd ops.
export * from './config.ts';
export * from './params.ts';
export * from './model.ts';
export * from './load.ts';
export { checkpoint, gradScale } from './autograd-ops.ts';
