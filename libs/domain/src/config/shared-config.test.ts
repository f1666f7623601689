import { describe, expect, it } from 'vitest';
import { configSecretValues, type SharedConfig } from './shared-config.ts';

describe('configSecretValues', () => {
  it('collects the passwords of the database, Redis and db connection URLs', () => {
    const config: SharedConfig = {
      databaseUrl: 'postgresql://linkflow:db-pass-1@127.0.0.1:5432/linkflow',
      redisUrl: 'redis://:redis-pass-2@127.0.0.1:6379',
      queueName: 'q',
      logLevel: 'info',
      nodeTypes: undefined,
      dbConnections: {
        main: { url: 'postgresql://demo:demo-pass-3@127.0.0.1/demo' },
        open: { url: 'postgresql://demo@127.0.0.1/demo' },
      },
      dbAllowPrivileged: false,
      httpAllow: [],
      otlpEndpoint: undefined,
      secretsKeys: { current: 'k'.repeat(43) + '=', previous: undefined },
    };
    expect(configSecretValues(config).sort()).toEqual([
      'db-pass-1',
      'demo-pass-3',
      'k'.repeat(43) + '=',
      'redis-pass-2',
    ]);
  });
});
