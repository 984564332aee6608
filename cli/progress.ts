// Re-export shim: the progress bar lives in common/progress.ts (shared with bench/, which may not import
// cli/). New code imports common/progress.ts.
export * from '../common/progress.ts';
