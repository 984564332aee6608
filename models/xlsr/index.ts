// XLS-R (wav2vec 2.0) front-end: configurations, the module tree, the model and loading.
export * from './config.ts';
export * from './modules.ts';
export * from './model.ts';
export * from './load.ts';
export { checkpoint, gradScale } from '../../nn/autograd.ts';
