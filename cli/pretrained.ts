// The demo models that ship with the package (trained by `spoofscan demo` on data/mini; see models/pretrained/
// README.md), used when a command is given no --model.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../common/errors.ts';

export const PRETRAINED = {
  detector: fileURLToPath(new URL('../models/pretrained/detector.safetensors', import.meta.url)),
  tracer: fileURLToPath(new URL('../models/pretrained/tracer.safetensors', import.meta.url)),
};

export function defaultModel(kind: keyof typeof PRETRAINED): string {
  const p = PRETRAINED[kind];
  if (!existsSync(p)) throw new UserError(`no --model given and the bundled demo ${kind} (${p}) is missing; run spoofscan demo, or pass --model CKPT`);
  return p;
}
