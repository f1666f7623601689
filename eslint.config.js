// @ts-check
import { readFileSync } from 'node:fs';
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

/** @type {{ workspaces: string[] }} */
const rootPackage = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/**
 * Every import must be declared in the package.json of the workspace it is in (workspace
 * packages and type-only imports included); devDependencies only in `devFiles`.
 * @param {string} dir the workspace folder, relative to the repository root
 * @param {boolean | string[]} devFiles
 */
const declaredIn = (dir, devFiles) => ({
  'import-x/no-extraneous-dependencies': [
    'error',
    {
      packageDir: path.join(import.meta.dirname, dir),
      devDependencies: devFiles,
      optionalDependencies: false,
      peerDependencies: false,
      includeInternal: true,
      includeTypes: true,
    },
  ],
});
/** Test files and test support: the only places a workspace may import its devDependencies. */
const testFiles = ['**/*.test.ts', '**/testing/**'];

const io = [
  'node:*',
  'fs',
  'http',
  'pg',
  '@prisma/*',
  'bullmq',
  'ioredis',
  'fastify',
  '@fastify/*',
  'prom-client',
  'opossum',
  '@opentelemetry/*',
  'undici',
  'pino',
];
const layer = (group, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group, message }] }],
});

export default tseslint.config(
  {
    ignores: [
      '.run/**',
      '**/node_modules/**',
      '**/generated/**',
      'migrations/**',
      'coverage/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
      // The code-node sandbox is plain JavaScript (it runs in worker threads); it is type-checked
      // (`// @ts-check`, tsconfig `checkJs`) and linted like the TypeScript around it.
      '!libs/nodes/src/code/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // ignoreExternal: cycles inside node_modules are not ours, and following them breaks
      // (lru-cache ships a `dist/esm/node/` folder that import-x loads as the "node" resolver).
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // Libs never import apps, and apps never import each other, by path either.
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './libs', from: './apps', message: 'libs never import apps' },
            {
              target: './apps/api',
              from: './apps/executor',
              message: 'apps never import each other',
            },
            {
              target: './apps/executor',
              from: './apps/api',
              message: 'apps never import each other',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read env only in config.ts / main.ts' },
      ],
    },
  },
  {
    files: ['libs/domain/**'],
    rules: layer([...io, '@linkflow/*'], 'libs/domain is pure: no I/O, no other workspace'),
  },
  {
    files: ['libs/nodes/**'],
    rules: layer(
      [
        '@linkflow/store',
        '@linkflow/queue',
        '@linkflow/telemetry',
        '@linkflow/api',
        '@linkflow/executor',
        '@prisma/*',
        'bullmq',
        'ioredis',
        'fastify',
      ],
      'libs/nodes imports libs/domain only',
    ),
  },
  {
    // Plain JavaScript checked by tsc (`checkJs`), which reports undefined names itself.
    files: ['**/*.mjs'],
    rules: { 'no-undef': 'off' },
  },
  {
    // The engine reaches Postgres, Redis, the clock and events only through its ports.
    files: ['libs/engine/**'],
    ignores: ['libs/engine/**/*.test.ts', 'libs/engine/**/testing/**'],
    rules: layer(
      [
        ...io.filter((name) => name !== 'opossum'),
        '@linkflow/store',
        '@linkflow/queue',
        '@linkflow/telemetry',
        '@linkflow/api',
        '@linkflow/executor',
      ],
      'libs/engine imports libs/domain and libs/nodes only, and reaches I/O through its ports',
    ),
  },
  {
    // Engine tests (and their testing/ support) may run against the real store (integration),
    // never the queue or an app.
    files: ['libs/engine/**/*.test.ts', 'libs/engine/**/testing/**'],
    rules: layer(
      ['@linkflow/queue', '@linkflow/telemetry', '@linkflow/api', '@linkflow/executor', 'bullmq'],
      'engine tests need no BullMQ, telemetry or app',
    ),
  },
  {
    files: ['libs/store/**', 'libs/queue/**', 'libs/telemetry/**'],
    rules: layer(
      ['@linkflow/api', '@linkflow/executor', '@linkflow/nodes'],
      'adapters never import apps or nodes',
    ),
  },
  {
    files: ['libs/store/**'],
    rules: layer(
      [
        '@linkflow/queue',
        '@linkflow/telemetry',
        '@linkflow/api',
        '@linkflow/executor',
        '@linkflow/nodes',
      ],
      'store imports domain only',
    ),
  },
  {
    files: ['libs/queue/**'],
    rules: layer(
      [
        '@linkflow/store',
        '@linkflow/telemetry',
        '@linkflow/api',
        '@linkflow/executor',
        '@linkflow/nodes',
      ],
      'queue imports domain only',
    ),
  },
  {
    files: ['libs/telemetry/**'],
    rules: layer(
      [
        '@linkflow/store',
        '@linkflow/queue',
        '@linkflow/api',
        '@linkflow/executor',
        '@linkflow/nodes',
      ],
      'telemetry imports domain only',
    ),
  },
  // Root tooling (scripts, test setup, config files) is checked against the root package.json,
  // every workspace against its own.
  { files: ['**/*.ts', '**/*.mjs'], rules: declaredIn('.', true) },
  ...rootPackage.workspaces.map((dir) => ({
    files: [`${dir}/**`],
    rules: declaredIn(dir, testFiles),
  })),
  { files: ['apps/api/**'], rules: layer(['@linkflow/executor'], 'apps never import each other') },
  { files: ['apps/executor/**'], rules: layer(['@linkflow/api'], 'apps never import each other') },
  {
    files: [
      '**/config.ts',
      '**/main.ts',
      // Loaded with `node --import` before main.ts: it reads the config to start tracing.
      '**/instrumentation.ts',
      '**/*.test.ts',
      'bench/**',
      'scripts/**',
      'test/**',
      '*.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Tests read JSON bodies (`res.json()` is `any`); production code keeps the unsafe-* rules.
    files: ['**/*.test.ts', 'test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
