import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { socketDirFor, viaSocket } from './pg-socket.ts';

const URL_TCP = 'postgresql://postgres@127.0.0.1:5432/linkflow_bench_x';

describe('viaSocket', () => {
  it('keeps user, port and database and names the socket directory', () => {
    const url = new URL(viaSocket(URL_TCP, '/var/run/postgresql'));
    expect([url.username, url.port, url.pathname]).toEqual([
      'postgres',
      '5432',
      '/linkflow_bench_x',
    ]);
    expect(url.searchParams.get('host')).toBe('/var/run/postgresql');
  });

  it('leaves the URL alone without a directory', () => {
    expect(viaSocket(URL_TCP, undefined)).toBe(URL_TCP);
  });
});

describe('socketDirFor', () => {
  it('uses TCP when told none', () => {
    expect(socketDirFor({ BENCH_PG_SOCKET_DIR: 'none' }, URL_TCP)).toBeUndefined();
  });

  it('refuses a named directory without a socket for the port', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'no-socket-'));
    expect(() => socketDirFor({ BENCH_PG_SOCKET_DIR: empty }, URL_TCP)).toThrow(
      /no Postgres socket/,
    );
  });
});
