// Test runner settings: generous timeouts for ONNX Runtime and TensorFlow.js on a 2-core machine.
import { defineConfig } from 'vitest/config';

export const config = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});

// Vitest reads the default export of its config file.
// eslint-disable-next-line import/no-default-export
export default config;
