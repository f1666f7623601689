// One-shot invocations: `schema-engine --datasource '{"url":…}' cli <command>`.
// The Prisma CLI only looks at the exit code and, on failure, at stderr: it skips the first
// line and parses each following line as a JSON log record, picking the ERROR record from
// target `schema_engine::logger` for its `fields.error_code` / `fields.message`.
import pg from 'pg';
import { databaseName, quoteIdent, runOnServer, splitSchemaParam } from './pg-pools.mjs';

/** Maps a pg / socket error to a Prisma P1xxx code and message. */
export function toUserFacingError(error, url) {
  const database = databaseName(url);
  const { hostname, port } = new URL(url);
  const location = `${hostname}:${port || 5432}`;
  switch (error?.code) {
    case '3D000':
      return {
        code: 'P1003',
        message: `Database \`${database}\` does not exist on the database server at \`${location}\`.`,
      };
    case '28P01':
    case '28000':
      return {
        code: 'P1000',
        message: `Authentication failed against database server at \`${location}\`: ${error.message}`,
      };
    case '42P04':
      return {
        code: 'P1009',
        message: `Database \`${database}\` already exists on the database server at \`${location}\``,
      };
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return { code: 'P1001', message: `Can't reach database server at \`${location}\`` };
    default:
      return { code: 'P1000', message: String(error?.message ?? error) };
  }
}

function logRecord(level, fields) {
  return JSON.stringify({
    timestamp: new Date().toISOString(),
    level,
    fields,
    target: 'schema_engine::logger',
  });
}

async function canConnect(url) {
  const client = new pg.Client({ connectionString: splitSchemaParam(url).connectionString });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

const COMMANDS = {
  'can-connect-to-database': (url) => canConnect(url),
  'create-database': (url) => runOnServer(url, `CREATE DATABASE ${quoteIdent(databaseName(url))}`),
  'drop-database': (url) => runOnServer(url, `DROP DATABASE ${quoteIdent(databaseName(url))}`),
};

/**
 * Creates the database a URL names (the `createDatabase` RPC method).
 * @throws {Error & { code: string }} with a Prisma P1xxx code
 */
export async function createDatabase(url) {
  try {
    await COMMANDS['create-database'](url);
  } catch (error) {
    const { code, message } = toUserFacingError(error, url);
    throw Object.assign(new Error(message), { code });
  }
}

/**
 * Runs one CLI command and returns the process exit code.
 * @param {string} command
 * @param {{ url?: string } | undefined} datasource
 */
export async function runCliCommand(command, datasource) {
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`unknown cli command: ${command}\n`);
    return 2;
  }
  const url = datasource?.url;
  if (!url) {
    process.stderr.write(`${logRecord('INFO', { message: 'starting' })}\n`);
    process.stderr.write(
      `${logRecord('ERROR', { error_code: 'P1012', message: 'No datasource url given' })}\n`,
    );
    return 1;
  }
  try {
    await run(url);
    return 0;
  } catch (error) {
    const { code, message } = toUserFacingError(error, url);
    process.stderr.write(`${logRecord('INFO', { message: `cli ${command}` })}\n`);
    process.stderr.write(`${logRecord('ERROR', { error_code: code, message })}\n`);
    return 1;
  }
}
