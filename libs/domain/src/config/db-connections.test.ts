import { describe, expect, it } from 'vitest';
import { mayUseConnection, parseDbConnections } from './db-connections.ts';

function parse(raw: string | undefined) {
  const issues: string[] = [];
  return { connections: parseDbConnections('LINKFLOW_DB_CONNECTIONS', raw, issues), issues };
}

describe('parseDbConnections', () => {
  it('keeps a bare URL valid (every tenant) and reads {url, tenants}', () => {
    expect(
      parse(
        '{"main": "postgresql://a@h/db", "acme": {"url": "postgres://b@h/db", "tenants": ["acme"]}}',
      ),
    ).toEqual({
      connections: {
        main: { url: 'postgresql://a@h/db' },
        acme: { url: 'postgres://b@h/db', tenants: ['acme'] },
      },
      issues: [],
    });
    expect(parse('{"open": {"url": "postgresql://h/db"}}').connections).toEqual({
      open: { url: 'postgresql://h/db' },
    });
    expect(parse(undefined)).toEqual({ connections: {}, issues: [] });
  });

  it('names the variable and the connection in every problem', () => {
    const { connections, issues } = parse(
      JSON.stringify({
        good: 'postgresql://h/db',
        mysql: 'mysql://h/db',
        junk: 'not a url',
        num: 5,
        entry: { url: 'postgresql://h/db', tenants: 'dev', extra: 1 },
        nourl: { tenants: ['dev'] },
        blank: { url: 'postgresql://h/db', tenants: [' dev'] },
        'bad name': 'postgresql://h/db',
      }),
    );
    expect(connections).toEqual({ good: { url: 'postgresql://h/db' } });
    expect(issues).toEqual([
      'LINKFLOW_DB_CONNECTIONS: connection "mysql": expected a postgresql: URL',
      'LINKFLOW_DB_CONNECTIONS: connection "junk": not a URL',
      'LINKFLOW_DB_CONNECTIONS: connection "num": expected a Postgres URL or {"url": ..., "tenants": [...]}',
      'LINKFLOW_DB_CONNECTIONS: connection "entry": unknown keys extra (allowed: url, tenants)',
      'LINKFLOW_DB_CONNECTIONS: connection "entry": "tenants" must be an array of tenant names or ids',
      'LINKFLOW_DB_CONNECTIONS: connection "nourl": "url": expected a Postgres URL string',
      'LINKFLOW_DB_CONNECTIONS: connection "blank": "tenants" must be an array of tenant names or ids',
      'LINKFLOW_DB_CONNECTIONS: connection "bad name": names are 1-63 letters, digits, "_", "-" or ".", starting with a letter or digit',
    ]);
  });

  it('rejects what is not a JSON object, and a __proto__ name', () => {
    for (const raw of ['{', '[1]', '"postgresql://h/db"', 'null']) {
      expect(parse(raw).issues).toEqual([
        'LINKFLOW_DB_CONNECTIONS: expected a JSON object of connection name -> Postgres URL or {url, tenants}',
      ]);
    }
    const proto = parse('{"__proto__": "postgresql://h/db"}');
    expect(proto.issues).toHaveLength(1);
    expect(Object.getPrototypeOf(proto.connections)).toBe(Object.prototype);
  });
});

describe('mayUseConnection', () => {
  it('admits every tenant without a list, and listed names or ids with one', () => {
    expect(mayUseConnection({ url: 'u' }, { id: 'x' })).toBe(true);
    const acme = { url: 'u', tenants: ['acme', 'id-7'] };
    expect(mayUseConnection(acme, { id: 'x', name: 'acme' })).toBe(true);
    expect(mayUseConnection(acme, { id: 'id-7' })).toBe(true);
    expect(mayUseConnection(acme, { id: 'x', name: 'dev' })).toBe(false);
    expect(mayUseConnection({ url: 'u', tenants: [] }, { id: 'x', name: 'x' })).toBe(false);
  });
});
