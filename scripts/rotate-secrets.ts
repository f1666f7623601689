/**
 * `make rotate-secrets`: re-encrypts every credential under LINKFLOW_SECRETS_KEY, reading
 * values written under LINKFLOW_SECRETS_KEY_PREVIOUS with that key. It works in batches
 * (BATCH, default 100), each committed on its own: stopped half-way, a second run picks up
 * what is still under an old key. Run it after deploying the new key as LINKFLOW_SECRETS_KEY
 * and the old one as LINKFLOW_SECRETS_KEY_PREVIOUS; drop the previous key once it reports
 * nothing left. Exits 78 on a bad configuration, 1 when some credential is still under an old
 * key at the end (no key opens it, or a writer still on the old key put it back).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, loadEnvConfig, parseSharedConfig } from '@linkflow/domain';
import { createDb, createSecretCipher, reencryptAll } from '@linkflow/store';

function settings() {
  return loadEnvConfig(
    process.env,
    (path) => readFileSync(path, 'utf8'),
    (p) => ({ shared: parseSharedConfig(p), batch: p.int('BATCH', 100, 1, 10_000) }),
  );
}

async function main(): Promise<void> {
  let config: ReturnType<typeof settings>;
  try {
    config = settings();
    if (config.shared.secretsKeys.current === undefined)
      throw new ConfigError(['LINKFLOW_SECRETS_KEY: required to re-encrypt credentials']);
  } catch (err) {
    const issues = err instanceof ConfigError ? err.issues : [String(err)];
    process.stderr.write(`rotate-secrets: invalid configuration: ${issues.join('; ')}\n`);
    process.exit(78);
  }
  const db = createDb({ url: config.shared.databaseUrl, maxConnections: 1 });
  const deps = { pool: db.pool, cipher: createSecretCipher(config.shared.secretsKeys) };
  let summary: Awaited<ReturnType<typeof reencryptAll>>;
  let total = 0;
  try {
    summary = await reencryptAll(deps, {
      limit: config.batch,
      onBatch: (batch) => {
        total += batch.reencrypted;
        process.stdout.write(`re-encrypted ${total} credential(s) so far\n`);
      },
    });
  } finally {
    await db.close();
  }
  process.stdout.write(`done: ${summary.reencrypted} credential(s) re-encrypted\n`);
  if (summary.unreadable.length > 0)
    process.stderr.write(`no configured key opens: ${summary.unreadable.join(', ')}\n`);
  if (summary.remaining > 0) {
    // Also when a writer still on the old key put rows back: keep the previous key for now.
    process.stderr.write(
      `${summary.remaining} credential(s) still under an old key: keep LINKFLOW_SECRETS_KEY_PREVIOUS and run again\n`,
    );
    process.exit(1);
  }
}

await main();
