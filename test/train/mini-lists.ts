// Small lists cut from data/mini for training tests: the first N bona fide and N spoof lines of a split, written
// to a temporary folder with paths relative to data/mini (so --data data/mini resolves them).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MINI = fileURLToPath(new URL('../../data/mini/', import.meta.url));

/** Lines of `split`.txt: the first `bona` bona fide, and spoof lines taking every `every`-th one up to `spoof`. */
export function subset(split: string, bona: number, spoof: number, every = 1): string[] {
  const lines = readFileSync(join(MINI, 'protocols', `${split}.txt`), 'utf8').split('\n').filter(Boolean);
  const b = lines.filter((l) => l.endsWith('bona-fide')).slice(0, bona);
  const s = lines.filter((l) => l.endsWith('spoof')).filter((_, i) => i % every === 0).slice(0, spoof);
  return [...b, ...s];
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `spoofscan-${prefix}-`));
}

export function writeList(dir: string, name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}
