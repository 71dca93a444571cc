import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ first: CLI and crash-injection tests run the compiled code in child processes.
    globalSetup: ['test/setup/build-dist.ts'],
    // Tests open real LevelDB databases and spawn child processes; forks keep
    // native handles (two LevelDB copies, fcntl locks) in separate processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON report is what .ci/run counts ("N passed, N failed").
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
