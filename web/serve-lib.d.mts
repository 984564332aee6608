import type { WebBuild } from './build.mjs';
import type { ServedRequest, StaticServer } from './static-server.mjs';

export type ModelSlot = 'detect' | 'trace';
export const WEB_DIR: string;
export const REPO_DIR: string;
export const MODEL_URLS: Record<ModelSlot, string>;
export const PRETRAINED: Record<ModelSlot, string>;
export function pretrainedModels(): Partial<Record<ModelSlot, string>>;
export function startWeb(options?: {
  host?: string;
  port?: number;
  outdir?: string;
  models?: Partial<Record<ModelSlot, string>>;
  minify?: boolean;
  onRequest?: (r: ServedRequest) => void;
}): Promise<{ server: StaticServer; bundle: WebBuild; models: Partial<Record<ModelSlot, string>> }>;
