// Prisma CLI configuration (Prisma 7 does not read .env; DATABASE_URL comes from the environment).
//
// Prisma's CLI normally downloads a native schema-engine binary, which is impossible offline.
// PRISMA_SCHEMA_ENGINE_BINARY points it at scripts/prisma-schema-engine.mjs, a stdio shim over
// the npm package @prisma/schema-engine-wasm and @prisma/adapter-pg (see that file). Set here
// so that plain `npx prisma …` works; an explicit environment value wins.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'prisma/config';

const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/linkflow';

process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(
  new URL('./scripts/prisma-schema-engine.mjs', import.meta.url),
);
process.env.CHECKPOINT_DISABLE ??= '1';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL },
});
