// Re-export shim: the user-facing errors and exit codes live in common/errors.ts (shared with bench/, which
// may not import cli/). Kept so the many cli/ files importing '../errors.ts' did not have to change; new code
// imports common/errors.ts.
export * from '../common/errors.ts';
