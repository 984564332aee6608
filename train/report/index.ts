// Self-contained HTML reports with inline SVG charts (DET, histograms, per-attack EER, confusion matrix,
// training curves). Pure TypeScript: runs in Node and in the browser. Documentation: docs/metrics.md.

export * from './html.ts';
export * from './det.ts';
export * from './charts.ts';
export { esc, probit } from './svg.ts';
export * from './run-dir.ts';
