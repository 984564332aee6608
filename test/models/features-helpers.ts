// Shared by the CLI tests of `spoofscan features` and `spoofscan score`: captured console output, generated WAV
// files and reading a safetensors file back. Note: each in-process run() opens a fresh engine (the previous one
// is destroyed), so tests build their reference models after the command has run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import { openSafetensors } from '../../models/io/index.ts';
import { fileSource } from '../../models/io/file-source.node.ts';
import { encodeWav } from '../../train/data/wav.ts';

/** Runs fn with console.log / console.error / process.stderr captured (stdout: log; stderr: the rest). */
export async function captured<T>(fn: () => Promise<T>): Promise<{ value: T; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void (stdout += a.join(' ') + '\n'));
  const err = vi.spyOn(console, 'error').mockImplementation((...a) => void (stderr += a.join(' ') + '\n'));
  const w = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { value: await fn(), stdout, stderr };
  } finally {
    log.mockRestore();
    err.mockRestore();
    w.mockRestore();
  }
}

/** Deterministic samples in [−0.4, 0.4) (Park–Miller generator). */
export function noise(length: number, seed: number): Float32Array {
  const x = new Float32Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 16807) % 2147483647;
    x[i] = (s / 2147483647 - 0.5) * 0.8;
  }
  return x;
}

/** Writes a 16 kHz mono float32 WAV (read back bit-exactly) and returns its path. */
export function writeWav(dir: string, name: string, samples: Float32Array): string {
  const path = join(dir, name);
  writeFileSync(path, encodeWav(samples, 16000, 'float32'));
  return path;
}

export interface ReadBack {
  names: string[];
  shapes: Map<string, number[]>;
  data: Map<string, Float32Array>;
  metadata: Record<string, string>;
}

/** Every tensor (as f32) and the metadata of a safetensors file. */
export async function readSafetensors(path: string): Promise<ReadBack> {
  const src = await fileSource(path);
  try {
    const st = await openSafetensors(src);
    const out: ReadBack = { names: [], shapes: new Map(), data: new Map(), metadata: st.metadata ?? {} };
    for (const e of st.entries) {
      const t = await st.read(e);
      if (t.dtype !== 'F32') throw new Error(`${path}: ${e.name} is ${t.dtype}, expected F32`);
      out.names.push(e.name);
      out.shapes.set(e.name, e.shape);
      out.data.set(e.name, Float32Array.from(t.data as Float32Array));
    }
    return out;
  } finally {
    await src.close();
  }
}
