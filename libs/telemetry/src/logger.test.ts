import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLiveSecrets } from '@linkflow/domain';
import { REDACTED, createLogger } from './logger.ts';

/** A destination that keeps every line pino writes, parsed. */
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

describe('createLogger', () => {
  it('redacts credential values while they are held, wherever they appear', () => {
    const { stream, lines } = captureLines();
    const liveSecrets = createLiveSecrets();
    const log = createLogger({ level: 'info', name: 'x', destination: stream, liveSecrets });
    const release = liveSecrets.hold(['cred-value-1']);
    log.info({ echoed: 'got cred-value-1 back' }, 'upstream said cred-value-1');
    release();
    log.info({ echoed: 'cred-value-1' }, 'after');
    expect(lines[0]).toMatchObject({
      echoed: `got ${REDACTED} back`,
      msg: `upstream said ${REDACTED}`,
    });
    expect(lines[1]).toMatchObject({ echoed: 'cred-value-1' });
  });

  it('redacts authorization headers, passwords and tokens at any usual depth', () => {
    const { stream, lines } = captureLines();
    const log = createLogger({ level: 'info', name: 'api', destination: stream });

    log.info(
      {
        authorization: 'Bearer top',
        req: { headers: { authorization: 'Bearer lf_secret', 'user-agent': 'curl' } },
        db: { password: 'hunter2', user: 'app' },
        config: { headers: { authorization: 'Basic abc' } },
        token: 't0k3n',
        apiKey: 'k',
      },
      'request received',
    );

    const line = lines[0];
    expect(line).toMatchObject({
      authorization: REDACTED,
      req: { headers: { authorization: REDACTED, 'user-agent': 'curl' } },
      db: { password: REDACTED, user: 'app' },
      config: { headers: { authorization: REDACTED } },
      token: REDACTED,
      apiKey: REDACTED,
    });
    expect(JSON.stringify(line)).not.toMatch(/hunter2|lf_secret|Bearer top|t0k3n/);
  });

  it('redacts secrets at any depth, in messages and errors, and known secret values', () => {
    const { stream, lines } = captureLines();
    const log = createLogger({
      level: 'info',
      name: 'executor',
      destination: stream,
      secretValues: ['pw-from-config'],
    });

    log.child({ executionId: 'e1' }).warn(
      {
        node: { config: { headers: { 'X-Api-Key': 'k-123456', Accept: 'text/plain' } } },
        err: new TypeError('login failed for postgres://app:hunter22@db/x'),
        note: 'echo pw-from-config',
      },
      'calling https://api.example/x?token=abcdef with Bearer s3cr3t',
    );

    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/pw-from-config|k-123456|hunter22|abcdef|s3cr3t/);
    expect(lines[0]).toMatchObject({
      node: { config: { headers: { 'X-Api-Key': REDACTED, Accept: 'text/plain' } } },
      err: { type: 'TypeError', message: `login failed for postgres://app:${REDACTED}@db/x` },
      msg: `calling https://api.example/x?token=${REDACTED} with Bearer ${REDACTED}`,
    });
  });

  it('writes the service, the level label and an ISO time on every line', () => {
    const { stream, lines } = captureLines();
    const log = createLogger({ level: 'debug', name: 'executor', destination: stream });

    log.child({ executionId: 'e1' }).debug({ nodeId: 'fetch' }, 'node started');

    expect(lines[0]).toMatchObject({
      service: 'executor',
      level: 'debug',
      executionId: 'e1',
      nodeId: 'fetch',
      msg: 'node started',
    });
    expect(lines[0]?.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('drops lines below the level and redacts extra paths', () => {
    const { stream, lines } = captureLines();
    const log = createLogger({
      level: 'warn',
      name: 'api',
      destination: stream,
      redactPaths: ['params.signing_key'],
    });

    log.info('dropped');
    log.warn({ params: { signing_key: 'x', region: 'eu' } }, 'kept');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ params: { signing_key: REDACTED, region: 'eu' } });
  });

  it('refuses pretty output into a custom destination', () => {
    const { stream } = captureLines();

    expect(() =>
      createLogger({ level: 'info', name: 'api', destination: stream, pretty: true }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_LOGGER_OPTIONS' }));
  });
});
