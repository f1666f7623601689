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
});
