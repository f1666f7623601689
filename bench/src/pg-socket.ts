import { existsSync } from 'node:fs';
import path from 'node:path';
import { BenchError } from './bench-error.ts';

/** Where Debian's Postgres puts its Unix socket. */
const DEFAULT_SOCKET_DIR = '/var/run/postgresql';

/**
 * The socket directory the API and the executor reach Postgres through, from
 * `BENCH_PG_SOCKET_DIR`: a directory, `none` for TCP, or (unset) the Debian default when its
 * socket for the URL's port exists. Co-located services talk over a Unix socket: on this
 * machine a round trip costs the client about a third of the CPU of loopback TCP (see
 * bench/RESULTS.md). Migrations and the harness's own reads stay on the URL as given.
 * @throws BenchError when a directory is named but holds no socket for the port
 */
export function socketDirFor(env: NodeJS.ProcessEnv, databaseUrl: string): string | undefined {
  const raw = env['BENCH_PG_SOCKET_DIR'];
  if (raw === 'none') return undefined;
  const port = new URL(databaseUrl).port || '5432';
  const dir = raw === undefined || raw === '' ? DEFAULT_SOCKET_DIR : raw;
  const found = existsSync(path.join(dir, `.s.PGSQL.${port}`));
  if (!found && raw !== undefined && raw !== '') {
    throw new BenchError(`BENCH_PG_SOCKET_DIR: no Postgres socket for port ${port} in ${dir}`);
  }
  return found ? dir : undefined;
}

/** `databaseUrl` reaching the same server and database through the socket in `dir`. */
export function viaSocket(databaseUrl: string, dir: string | undefined): string {
  if (dir === undefined) return databaseUrl;
  const url = new URL(databaseUrl);
  url.hostname = 'localhost';
  url.searchParams.set('host', dir);
  return url.toString();
}
