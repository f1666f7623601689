import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createDb, type Db } from './db-client.ts';

describe('createDb', () => {
  let db: Db | undefined;

  afterAll(async () => {
    await db?.close();
  });

  it('shares one pool between Prisma writes and raw pg reads', async () => {
    // ARRANGE
    db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
    const id = randomUUID();
    const name = `tenant-${id}`;

    // ACT
    await db.prisma.tenant.create({ data: { id, name } });
    const { rows } = await db.pool.query<{ name: string; created_at: Date }>(
      'select name, created_at from tenants where id = $1',
      [id],
    );

    // ASSERT
    expect(rows).toHaveLength(1);
    expect(rows[0]!.name).toBe(name);
    expect(rows[0]!.created_at).toBeInstanceOf(Date);
  });

  it('closes idempotently', async () => {
    const local = createDb({ url: testDatabaseUrl() });
    await local.prisma.$queryRaw`select 1`;

    await Promise.all([local.close(), local.close()]);

    expect(local.pool.ended).toBe(true);
  });
});
