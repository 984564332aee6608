import { defineConfig } from 'vitest/config';

// Two projects: everything runs in Node against Dawn (SwiftShader/llvmpipe on CPU-only machines);
// the browser project drives headless Chromium and is kept apart because it is slower.
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
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], fileParallelism: false },
      },
    ],
  },
});
