// The driver-adapter factory handed to the Wasm schema engine.
//
// We wrap @prisma/adapter-pg instead of using its own `connectToShadowDb`, which (7.10.1)
// spreads the main pool's config and sets `database`, but pg lets `connectionString` win, so
// the "shadow" database is the main one; it also drops the database before ending its pool.
// Here every shadow database gets a unique name, its own pool, and is dropped after that
// pool is closed.
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { createEnginePool, quoteIdent, runOnServer, withDatabase } from './pg-pools.mjs';

/** Shadow databases created by this process and not yet dropped (for signal cleanup). */
const liveShadows = new Set();

/**
 * Connects an adapter over a fresh pool; disposing the adapter ends the pool, then runs `afterEnd`.
 * The adapter's `executeScript` splits on every `;` (breaking quoted semicolons, DO blocks and
 * function bodies); we send the script as one simple-protocol query instead, which also runs
 * it in a single implicit transaction like the native engine does.
 */
async function connectAdapter(url, afterEnd = async () => {}) {
  const { pool, schema } = createEnginePool(url);
  const factory = new PrismaPg(pool, schema ? { schema } : undefined);
  const adapter = await factory.connect();
  adapter.executeScript = async (script) => {
    try {
      await pool.query(script);
    } catch (error) {
      adapter.onError(error);
    }
  };
  adapter.dispose = async () => {
    await pool.end();
    await afterEnd();
  };
  return adapter;
}

async function createShadowDatabase(url) {
  const name = `prisma_shadow_${randomUUID().replaceAll('-', '')}`;
  // Registered before CREATE so a signal arriving mid-creation still finds (and awaits) it.
  const entry = { url, name, created: runOnServer(url, `CREATE DATABASE ${quoteIdent(name)}`) };
  liveShadows.add(entry);
  try {
    await entry.created;
  } catch (error) {
    liveShadows.delete(entry);
    throw error;
  }
  return name;
}

async function dropShadowDatabase(url, name, { force = false } = {}) {
  for (const entry of liveShadows) if (entry.name === name) liveShadows.delete(entry);
  const drop = `DROP DATABASE IF EXISTS ${quoteIdent(name)}`;
  // WITH (FORCE) (Postgres 13+) ends sessions still attached when we are interrupted mid-use.
  if (force) await runOnServer(url, `${drop} WITH (FORCE)`).catch(() => runOnServer(url, drop));
  else await runOnServer(url, drop);
}

/** Drops every shadow database this process still owns (used on SIGTERM/SIGINT). */
export async function dropLiveShadowDatabases() {
  const live = [...liveShadows];
  await Promise.allSettled(live.map((entry) => entry.created));
  await Promise.allSettled(
    live.map(({ url, name }) => dropShadowDatabase(url, name, { force: true })),
  );
}

/**
 * Builds an unbound SqlMigrationAwareDriverAdapterFactory for Postgres.
 * @param {{ url: string, shadowDatabaseUrl?: string }} datasource
 */
export function createMigrationAwareFactory(datasource) {
  if (!datasource?.url) throw new Error('datasource.url is required (set it in prisma.config.ts)');
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => connectAdapter(datasource.url),
    connectToShadowDb: async () => {
      if (datasource.shadowDatabaseUrl) return connectAdapter(datasource.shadowDatabaseUrl);
      const name = await createShadowDatabase(datasource.url);
      return connectAdapter(withDatabase(datasource.url, name), () =>
        dropShadowDatabase(datasource.url, name),
      );
    },
  };
}
