// Evaluation metrics for anti-spoofing detection and API tracing. Pure TypeScript: runs in Node and in
// the browser. Documentation: docs/metrics.md; definitions: spec recipe-and-metrics.md §5–§7.

export * from './errors.ts';
export * from './detection.ts';
export * from './calibration.ts';
export * from './tracing.ts';
export * from './breakdown.ts';
export * from './protocol-labels.ts';
export * from './score-file.ts';
export * from './join.ts';
export * from './report.ts';
export { splitLines, splitFields, parentDirName, parseFiniteNumber } from './text.ts';
