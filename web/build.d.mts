import type { Plugin } from 'esbuild';

export const DEFAULT_OUTDIR: string;
export const nodeOnlyGuard: Plugin;

export interface WebBuild {
  outdir: string;
  /** Written bundles (absolute paths, no source maps) and their sizes in bytes. */
  files: { path: string; bytes: number }[];
  /** Every source file that went into the bundles, relative to the repository root. */
  inputs: string[];
}

export function buildWeb(options?: { outdir?: string; minify?: boolean }): Promise<WebBuild>;
