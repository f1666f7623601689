import { defineConfig } from 'vitest/config';

// Two projects: `unit` (no network, seconds) and `integration` (real Postgres + Redis).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: [
            'libs/**/src/**/*.test.ts',
            'apps/**/src/**/*.test.ts',
            'bench/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: [
            'libs/**/src/**/*.int.test.ts',
            'apps/**/src/**/*.int.test.ts',
            'test/**/*.int.test.ts',
            'bench/**/*.int.test.ts',
          ],
          exclude: ['**/node_modules/**'],
          globalSetup: ['./test/global-setup.ts'],
          testTimeout: 30000,
          hookTimeout: 60000,
          fileParallelism: true,
          maxWorkers: 2,
        },
      },
    ],
    coverage: {
      provider: 'v8',
      include: ['libs/domain/src/**', 'libs/nodes/src/**'],
      exclude: ['**/*.test.ts', '**/index.ts', '**/testing/**'],
      thresholds: { 'libs/domain/src/**': { lines: 95 }, 'libs/nodes/src/**': { lines: 85 } },
    },
  },
});
