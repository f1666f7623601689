/**
 * `make key TENANT=acme SCOPES=executions:write,executions:read`: creates the tenant when
 * missing and a new API key for it, and prints the key alone on the last line.
 */
import { uuidv7 } from 'uuidv7';
import { createApiKeyRepository, createDb } from '@linkflow/store';

const SCOPES = [
  'workflows:read',
  'workflows:write',
  'executions:read',
  'executions:write',
  'credentials:write',
  'admin',
];

async function main(): Promise<void> {
  const tenant = process.env['TENANT'] ?? 'default';
  const scopes = (process.env['SCOPES'] ?? 'admin')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = scopes.filter((s) => !SCOPES.includes(s));
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(tenant) || scopes.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: TENANT=<name> SCOPES=<comma list of ${SCOPES.join(', ')}>\n`);
    if (unknown.length > 0) process.stderr.write(`unknown scopes: ${unknown.join(', ')}\n`);
    process.exit(64);
  }
  const db = createDb({
    url: process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/linkflow',
    maxConnections: 1,
  });
  try {
    const repo = createApiKeyRepository({ prisma: db.prisma, ids: { next: () => uuidv7() } });
    const tenantId = await repo.ensureTenant(tenant);
    const { key } = await repo.createKey(tenantId, scopes);
    process.stdout.write(`tenant ${tenant} (${tenantId}), scopes ${scopes.join(',')}\n${key}\n`);
  } finally {
    await db.close();
  }
}

await main();
