import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLiveSecrets, REDACTED } from '@linkflow/domain';
import { createLogger } from './logger.ts';

// Attack: live credential values are process-wide. A tenant stores a 4-character "secret"
// that is a common word or the time prefix of UUIDv7 ids (the same for every id minted in
// the same ~minute) and keeps a slow http node running with it: every pino line of every
// tenant on that executor had those characters replaced, so the operator could no longer
// read the messages or correlate execution ids. Values are now held per tenant, and a line
// bound to a tenant is redacted with that tenant's values only.

function captureLines(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { stream, lines };
}

describe("another tenant's live credential values", () => {
  const victim = { tenantId: 'tenant-b', executionId: '019aa3f2-7c41-7e2a-9b1d-3f6c2a1e0b99' };

  it('do not garble the log lines of another tenant’s executions', () => {
    // ARRANGE: tenant A's node is running with these values resolved
    const { stream, lines } = captureLines();
    const liveSecrets = createLiveSecrets();
    const log = createLogger({ level: 'info', name: 'x', destination: stream, liveSecrets });
    const release = liveSecrets.hold(['node', victim.executionId.slice(0, 8)], 'tenant-a');
    // ACT: tenant B's execution logs meanwhile, by fields and through a child's bindings
    log.info({ ...victim, nodeId: 'fetch' }, 'node finished');
    log.child(victim).info('node finished');
    release();
    // ASSERT
    expect(lines[0]).toMatchObject({ ...victim, msg: 'node finished' });
    expect(lines[1]).toMatchObject({ ...victim, msg: 'node finished' });
  });

  it('still redact their tenant’s lines, and every line that names no tenant (or two)', () => {
    // ARRANGE
    const { stream, lines } = captureLines();
    const liveSecrets = createLiveSecrets();
    const log = createLogger({ level: 'info', name: 'x', destination: stream, liveSecrets });
    const release = liveSecrets.hold(['s3cret-value'], 'tenant-a');
    const other = '019aa3f2-0000-7000-8000-000000000001';
    // ACT
    log.info({ tenantId: 'tenant-a' }, 'upstream said s3cret-value');
    log.child({ tenantId: 'tenant-a', executionId: other }).info('echo s3cret-value');
    log.info({ executionId: other }, 'an execution line with no tenant: s3cret-value');
    log.child({ tenantId: 'tenant-b' }).info({ tenantId: 'tenant-a' }, 'two: s3cret-value');
    log.info('worker error near s3cret-value');
    release();
    log.info({ tenantId: 'tenant-a' }, 'after s3cret-value');
    // ASSERT
    expect(lines.map((l) => l['msg'])).toEqual([
      `upstream said ${REDACTED}`,
      `echo ${REDACTED}`,
      `an execution line with no tenant: ${REDACTED}`,
      `two: ${REDACTED}`,
      `worker error near ${REDACTED}`,
      'after s3cret-value',
    ]);
  });
});
