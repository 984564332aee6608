import { defineConfig } from 'vitest/config';

// Node projects run against Dawn. `node` takes the adapter `auto` picks (a real GPU, else llvmpipe,
// else SwiftShader); `node-gles` and `node-swiftshader` pin each CPU adapter for the op and kernel
// suites, the model parity tests and the training golden, so both CPU adapters are covered on every machine (a kernel that
// is wrong on one of them fails here even where `auto` would quietly fall back to the other).
// The browser project drives headless Chromium and is kept apart because it is slower.
const PINNED = ['test/engine/**/*.test.ts', 'test/models/xlsr-parity.test.ts', 'test/models/xlsr-fullsize-parity.test.ts', 'test/models/nes2net.test.ts', 'test/train/golden.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['test/**/*.test.ts'], exclude: ['test/browser/**'] },
      },
      {
        extends: true,
        test: { name: 'node-gles', include: PINNED, env: { SPOOFSCAN_ADAPTER: 'gles' } },
      },
      {
        extends: true,
        test: { name: 'node-swiftshader', include: PINNED, env: { SPOOFSCAN_ADAPTER: 'swiftshader' } },
      },
      {
        extends: true,
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], fileParallelism: false },
      },
    ],
  },
});
