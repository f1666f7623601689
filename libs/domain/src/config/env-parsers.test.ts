import { describe, expect, it } from 'vitest';
import { ConfigError, createEnvParsers, deepFreeze } from './env-parsers.ts';

function parse(env: Record<string, string>, readFile?: (p: string) => string) {
  const issues: string[] = [];
  return { p: createEnvParsers(env, issues, readFile), issues };
}

describe('createEnvParsers', () => {
  it('applies defaults and reads values', () => {
    const { p, issues } = parse({ PORT: '80', LIST: 'a, b,,c', EMPTY: '' });
    expect([
      p.int('PORT', 1, 1, 100),
      p.int('MISSING', 7, 1, 10),
      p.str('EMPTY', 'd'),
      p.list('LIST'),
    ]).toEqual([80, 7, 'd', ['a', 'b', 'c']]);
    expect(issues).toEqual([]);
  });

  it('collects every issue instead of falling back', () => {
    const { p, issues } = parse({
      PORT: '80a',
      BIG: '999',
      U: 'nope',
      R: 'http://x',
      L: 'loud',
      T: 'http,ftp',
      C: '[1]',
    });
    p.int('PORT', 1, 1, 65535);
    p.int('BIG', 1, 1, 10);
    p.url('U', 'redis://x', ['redis:']);
    p.url('R', 'redis://x', ['redis:']);
    p.oneOf('L', 'info', ['info', 'debug']);
    p.nodeTypes('T');
    p.connections('C');
    expect(issues).toEqual([
      'PORT: expected integer 1-65535, got "80a"',
      'BIG: expected integer 1-10, got "999"',
      'U: not a URL',
      'R: expected a redis: URL',
      'L: expected one of info, debug, got "loud"',
      'T: unknown node types ftp (known: http, db, transform, condition, code, subworkflow, router, return, try, foreach)',
      'C: expected a JSON object of connection name -> Postgres URL or {url, tenants}',
    ]);
    expect(new ConfigError(issues).message).toContain('PORT');
  });

  it('parses a list of origins and names what is not one', () => {
    const ok = parse({ O: 'https://app.example, http://localhost:5173/, *' });
    expect(ok.p.origins('O')).toEqual(['https://app.example', 'http://localhost:5173', '*']);
    expect(ok.issues).toEqual([]);
    expect(parse({}).p.origins('O')).toEqual([]);
    const bad = parse({ O: 'app.example,https://x.example/path' });
    expect(bad.p.origins('O')).toEqual([]);
    expect(bad.issues).toEqual([
      'O: "app.example" is not an origin (scheme://host[:port]) or *',
      'O: "https://x.example/path" is not an origin (scheme://host[:port]) or *',
    ]);
  });

  it('reads NAME_FILE through the injected reader', () => {
    const { p } = parse({ SECRET_FILE: '/run/secret' }, (path) => `${path}-content\n`);
    expect(p.read('SECRET')).toBe('/run/secret-content');
  });

  it('parses a connections map', () => {
    expect(parse({ C: '{"main":"postgresql://x"}' }).p.connections('C')).toEqual({
      main: { url: 'postgresql://x' },
    });
    expect(parse({ C: 'not json' }).issues).toEqual([]);
    const bad = parse({ C: 'not json' });
    bad.p.connections('C');
    expect(bad.issues).toHaveLength(1);
  });

  it('reads flags as 1/true or 0/false, and names anything else', () => {
    const { p, issues } = parse({ A: '1', B: 'true', C: '0', D: 'yes' });
    expect([p.flag('A'), p.flag('B'), p.flag('C'), p.flag('MISSING'), p.flag('D')]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(issues).toEqual(['D: expected 1 or 0, got "yes"']);
  });

  it('reads a 32-byte base64 AES key (also from NAME_FILE) and names a bad one without quoting it', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const { p, issues } = parse(
      { K: key, U: key.slice(0, -1), SHORT: 'c2hvcnQ=', F_FILE: '/k' },
      () => `${key}\n`,
    );
    expect([p.aesKey('K'), p.aesKey('U'), p.aesKey('F'), p.aesKey('MISSING')]).toEqual([
      key,
      key.slice(0, -1),
      key,
      undefined,
    ]);
    expect(p.aesKey('SHORT')).toBeUndefined();
    expect(issues).toEqual(['SHORT: expected 32 bytes in base64 (openssl rand -base64 32)']);
  });

  it('deep-freezes configs', () => {
    const frozen = deepFreeze({ a: { b: [1] } });
    expect(Object.isFrozen(frozen.a.b)).toBe(true);
  });
});
