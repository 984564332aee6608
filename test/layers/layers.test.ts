// The layering rules (scripts/check-layers.ts, docs/architecture.md) hold for the repository, and the checker
// itself catches each kind of violation when one is planted in an in-memory file list.
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLayers, formatViolation, isNodeOnlyFile, layerOf, repoFiles, type SourceFile } from '../../scripts/check-layers.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A small clean tree in the repository's shape. */
function cleanTree(): SourceFile[] {
  return [
    { path: 'engine/tensor.ts', text: `import { trackInScope } from './scope.ts';\nexport class Tensor {}\n` },
    { path: 'engine/scope.ts', text: `export function trackInScope(): void {}\n` },
    { path: 'engine/device.node.ts', text: `import { readFileSync } from 'node:fs';\nimport { create } from 'webgpu';\n` },
    { path: 'kernels/add.ts', text: `import { Tensor } from '../engine/tensor.ts';\nexport const add = (a: Tensor) => a;\n` },
    { path: 'models/m.ts', text: `import { add } from '../kernels/add.ts';\nimport type { Tensor } from '../engine/tensor.ts';\n` },
    { path: 'train/data/crop.ts', text: `export const CROP = 1;\n` },
    { path: 'inference/clip.ts', text: `import { CROP } from '../train/data/crop.ts';\nimport '../models/m.ts';\n` },
    { path: 'train/evaluate.ts', text: `import '../inference/clip.ts';\n` },
    { path: 'common/errors.ts', text: `export class UserError extends Error {}\n` },
    { path: 'bench/matmul.ts', text: `import { parseArgs } from 'node:util';\nimport { UserError } from '../common/errors.ts';\nimport '../models/m.ts';\n` },
    { path: 'cli/main.ts', text: `import { spawn } from 'node:child_process';\nimport '../train/evaluate.ts';\nimport '../common/errors.ts';\n` },
    { path: 'test/a.test.ts', text: `import '../cli/main.ts';\nimport '../bench/matmul.ts';\nimport { it } from 'vitest';\n` },
  ];
}

function plant(files: SourceFile[], path: string, text: string): SourceFile[] {
  return [...files.filter((f) => f.path !== path), { path, text }];
}

describe('layering of the repository', () => {
  it('has no layer, cycle, Node-only or unresolved-import violations (npx tsx scripts/check-layers.ts)', () => {
    const files = repoFiles(ROOT);
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.path === 'engine/tensor.ts')).toBe(true);
    expect(checkLayers(files).map(formatViolation)).toEqual([]);
  });
});

describe('the layering checker', () => {
  it('passes a clean tree', () => {
    expect(checkLayers(cleanTree()).map(formatViolation)).toEqual([]);
  });

  it('knows the layers and Node-only file names', () => {
    expect(layerOf('engine/tensor.ts').name).toBe('engine');
    expect(layerOf('train/data/crop.ts').name).toBe('data');
    expect(layerOf('train/metrics/index.ts').name).toBe('data');
    expect(layerOf('train/trainer.ts').name).toBe('train');
    expect(layerOf('vitest.config.ts').name).toBe('tools');
    expect(isNodeOnlyFile('engine/node.ts')).toBe(true);
    expect(isNodeOnlyFile('train/data/loader.node.ts')).toBe(true);
    expect(isNodeOnlyFile('train/data/worker-entry.node.mjs')).toBe(true);
    expect(isNodeOnlyFile('engine/index.ts')).toBe(false);
    expect(isNodeOnlyFile('models/nodes.ts')).toBe(false);
  });

  it('fails when the engine imports a kernel (upward import)', () => {
    const v = checkLayers(plant(cleanTree(), 'engine/index.ts', `import '../kernels/add.ts';\n`));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ rule: 'layer', file: 'engine/index.ts', line: 1 });
    expect(v[0].message).toMatch(/engine may not import kernels/);
  });

  it('counts type-only imports as dependencies', () => {
    const v = checkLayers(plant(cleanTree(), 'kernels/types.ts', `import type { X } from '../models/m.ts';\nexport type Y = X;\n`));
    expect(v.map((x) => x.rule)).toEqual(['layer']);
  });

  it('fails when bench imports cli, and when inference imports train outside train/data and train/metrics', () => {
    const files = plant(plant(cleanTree(), 'bench/conv.ts', `import { main } from '../cli/main.ts';\n`), 'inference/x.ts', `import '../train/evaluate.ts';\n`);
    const v = checkLayers(files);
    expect(v.map((x) => `${x.rule} ${x.file}`)).toEqual(['layer bench/conv.ts', 'layer inference/x.ts']);
    expect(v[0].message).toMatch(/bench may not import cli/);
    expect(v[1].message).toMatch(/inference may not import train/);
  });

  it('fails when train/data imports the rest of train/', () => {
    const v = checkLayers(plant(cleanTree(), 'train/data/crop.ts', `import '../evaluate.ts';\n`));
    // (it also closes a cycle: evaluate → clip → crop → evaluate)
    expect(v.map((x) => `${x.rule} ${x.file}`).sort()).toEqual(['cycle inference/clip.ts', 'layer train/data/crop.ts']);
    expect(v.find((x) => x.rule === 'layer')!.message).toMatch(/data may not import train/);
  });

  it('fails on an import cycle, naming its files in order', () => {
    const v = checkLayers(plant(cleanTree(), 'engine/scope.ts', `import { Tensor } from './tensor.ts';\nexport function trackInScope(): void {}\n`));
    expect(v).toHaveLength(1);
    expect(v[0].rule).toBe('cycle');
    expect(v[0].message).toContain('engine/scope.ts → engine/tensor.ts → engine/scope.ts');
  });

  it('finds a longer cycle, also through dynamic import() and `export … from`', () => {
    let files = plant(cleanTree(), 'kernels/a.ts', `export * from './b.ts';\n`);
    files = plant(files, 'kernels/b.ts', `export { c } from './c.ts';\n`);
    files = plant(files, 'kernels/c.ts', `export const c = () => import('./a.ts');\n`);
    const v = checkLayers(files);
    expect(v.map((x) => x.rule)).toEqual(['cycle']);
    expect(v[0].message).toContain('kernels/a.ts → kernels/b.ts → kernels/c.ts → kernels/a.ts');
  });

  it('fails when a portable file imports a Node builtin, a Node-only package or a Node-only file', () => {
    let files = plant(cleanTree(), 'models/io/read.ts', `import { readFile } from 'node:fs/promises';\n`);
    files = plant(files, 'kernels/dawn.ts', `import { create } from 'webgpu';\n`);
    files = plant(files, 'web/page.ts', `import '../engine/device.node.ts';\nimport path from 'path';\n`);
    const v = checkLayers(files);
    expect(v.map((x) => `${x.rule} ${x.file}:${x.line}`)).toEqual(['node-only kernels/dawn.ts:1', 'node-only models/io/read.ts:1', 'node-only web/page.ts:1', 'node-only web/page.ts:2']);
  });

  it('lets *.node.ts files, cli/, bench/ and test/ use Node', () => {
    let files = plant(cleanTree(), 'models/io/read.node.ts', `import { readFile } from 'node:fs/promises';\n`);
    files = plant(files, 'train/run.node.ts', `import '../models/io/read.node.ts';\nimport { join } from 'node:path';\n`);
    expect(checkLayers(files).map(formatViolation)).toEqual([]);
  });

  it('fails on a relative import of a file that does not exist', () => {
    const v = checkLayers(plant(cleanTree(), 'models/n.ts', `import { x } from './missing.ts';\nimport data from './table.json';\n`));
    expect(v.map((x) => `${x.rule} ${x.line}`)).toEqual(['unresolved 1']);
  });
});
