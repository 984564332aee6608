// Weight I/O: safetensors, PyTorch zip checkpoints (read without executing pickles), name mapping and
// load reports. Browser-safe; Node file access is in file-source.node.ts and safetensors-write.node.ts.
export * from './byte-source.ts';
export * from './checkpoint.ts';
export * from './config.ts';
export * from './dtypes.ts';
export * from './errors.ts';
export * from './load.ts';
export * from './mapping.ts';
export * from './pickle.ts';
export * from './safetensors.ts';
export * from './torch.ts';
export * from './zip.ts';
