import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLiveSecrets, REDACTED } from '@linkflow/domain';
import { createLogger } from './logger.ts';

// Attack: live credential values are process-wide. A tenant stores a 4-character "secret"
// that is a common word or the time prefix of UUIDv7 ids (the same for every id minted in
// the same ~minute) and keeps a slow http node running with it: every pino line of every
// tenant on that executor had those characters replaced, so the operator could no longer
// read the messages or correlate execution ids. Values are now held per execution, and a
// line of an execution is redacted with that execution's values only.

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
  const attacker = '019aa3f2-0000-7000-8000-000000000001';
  const victim = '019aa3f2-7c41-7e2a-9b1d-3f6c2a1e0b99';

  it('do not garble the log lines of unrelated executions', () => {
    // ARRANGE: the attacker's node is running with these values resolved
    const { stream, lines } = captureLines();
    const liveSecrets = createLiveSecrets();
    const log = createLogger({ level: 'info', name: 'x', destination: stream, liveSecrets });
    const release = liveSecrets.hold(['node', victim.slice(0, 8)], attacker);
    // ACT: the victim's execution logs meanwhile, by field and through a child's binding
    log.info({ executionId: victim, nodeId: 'fetch' }, 'node finished');
    log.child({ executionId: victim }).info('node finished');
    release();
    // ASSERT
    expect(lines[0]).toMatchObject({ executionId: victim, msg: 'node finished' });
    expect(lines[1]).toMatchObject({ executionId: victim, msg: 'node finished' });
  });

  it('still redact the holder’s own lines, and every line that names no execution', () => {
    // ARRANGE
    const { stream, lines } = captureLines();
    const liveSecrets = createLiveSecrets();
    const log = createLogger({ level: 'info', name: 'x', destination: stream, liveSecrets });
    const release = liveSecrets.hold(['s3cret-value'], attacker);
    // ACT
    log.info({ executionId: attacker }, 'upstream said s3cret-value');
    log.child({ executionId: attacker }).info('echo s3cret-value');
    log.info('worker error near s3cret-value');
    release();
    log.info({ executionId: attacker }, 'after s3cret-value');
    // ASSERT
    expect(lines.map((l) => l['msg'])).toEqual([
      `upstream said ${REDACTED}`,
      `echo ${REDACTED}`,
      `worker error near ${REDACTED}`,
      'after s3cret-value',
    ]);
  });
});
