import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['gateway/**/*.test.ts', 'shared/**/*.test.ts', 'cloud/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Socket and process tests start real servers; two cores here, so keep files to two workers.
    maxWorkers: 2,
    pool: 'forks',
  },
});
