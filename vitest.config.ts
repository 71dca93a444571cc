import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
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
    // The operations and the CLI run once per log store: their hosts are laid
    // out on the store test/helpers/store.ts names (LevelDB unless the
    // variable says Pebble). Suites about one engine pin it themselves.
    projects: [
      { extends: true, test: { name: 'leveldb', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'pebble',
          include: ['test/ops/**/*.test.ts', 'test/cli/**/*.test.ts'],
          env: { NODEHOST_TEST_LOGDB_TYPE: 'sharded-pebble' },
        },
      },
    ],
  },
});
