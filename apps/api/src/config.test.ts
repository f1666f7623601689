import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('api loadConfig', () => {
  it('applies defaults: port 8084, 1 MiB bodies, all node types', () => {
    expect(loadConfig({})).toMatchObject({
      port: 8084,
      bodyLimit: 1048576,
      nodeTypes: undefined,
      httpAllow: [],
    });
  });

  it('parses lists and connections', () => {
    const config = loadConfig({
      LINKFLOW_HTTP_ALLOW: '10.0.0.0/8, internal.example',
      LINKFLOW_DB_CONNECTIONS: '{"main":"postgresql://x/y"}',
      LINKFLOW_NODE_TYPES: 'http,transform',
    });
    expect(config).toMatchObject({
      httpAllow: ['10.0.0.0/8', 'internal.example'],
      dbConnections: { main: { url: 'postgresql://x/y' } },
      dbAllowPrivileged: false,
      nodeTypes: ['http', 'transform'],
    });
  });

  it('names each bad variable', () => {
    expect(() => loadConfig({ API_PORT: '80a', DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    try {
      loadConfig({ API_PORT: '80a', DATABASE_URL: 'mysql://x' });
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([
        'DATABASE_URL: expected a postgresql: or postgres: URL',
        'API_PORT: expected integer 1-65535, got "80a"',
      ]);
    }
  });

  it('runs one API process unless API_WORKERS says more, and refuses 0', () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ API_WORKERS: '2' }).workers).toBe(2);
    expect(() => loadConfig({ API_WORKERS: '0' })).toThrow(ConfigError);
  });

  it('reads the live stream settings, with defaults', () => {
    expect(loadConfig({}).ws).toEqual({
      allowedOrigins: [],
      maxBufferedBytes: 1048576,
      drainTimeoutMs: 5000,
      checkIntervalMs: 2000,
      maxStreamsPerTenant: 100,
    });
    const config = loadConfig({
      API_WS_ALLOWED_ORIGINS: 'https://app.example',
      API_WS_MAX_BUFFERED_BYTES: '65536',
      API_WS_DRAIN_TIMEOUT_MS: '250',
      API_WS_CHECK_INTERVAL_MS: '100',
      API_WS_MAX_STREAMS_PER_TENANT: '3',
    });
    expect(config.ws).toEqual({
      allowedOrigins: ['https://app.example'],
      maxBufferedBytes: 65536,
      drainTimeoutMs: 250,
      checkIntervalMs: 100,
      maxStreamsPerTenant: 3,
    });
    expect(() =>
      loadConfig({ API_WS_ALLOWED_ORIGINS: 'app', API_WS_CHECK_INTERVAL_MS: '0' }),
    ).toThrow('API_WS_ALLOWED_ORIGINS');
  });
});
