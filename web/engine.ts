// Browser entry of the engine library (bundled to web/dist/spoofscan.js): the engine API plus
// every op. Node programs import engine/node.ts instead, which adds the Dawn device.
export * from '../engine/index.ts';
export * from '../kernels/index.ts';
