#!/usr/bin/env node
// Offline stand-in for Prisma's native `schema-engine` binary (set PRISMA_SCHEMA_ENGINE_BINARY
// to this file; prisma.config.ts does). It answers:
//   --version                                   → "schema-engine-cli <hash>"
//   --datasource <json> cli <command>           → can-connect-to-database | create-database | drop-database
//   [--datamodels <file>]… --datasource <json>  → JSON-RPC over stdio, forwarded to @prisma/schema-engine-wasm
//                                                 running on @prisma/adapter-pg.
// The engine's JSON log records go to stderr (see them with DEBUG=prisma:schemaEngine:stderr).
import { dropLiveShadowDatabases } from './prisma-engine/adapter-factory.mjs';
import { parseArgs } from './prisma-engine/args.mjs';
import { runCliCommand } from './prisma-engine/cli-commands.mjs';
import { RpcServer } from './prisma-engine/rpc-server.mjs';
import { wasmEngineVersion } from './prisma-engine/wasm-engine.mjs';

// stdout carries the protocol: keep stray console output off it.
console.log = console.error;
console.info = console.error;

async function serveRpc(args) {
  const server = new RpcServer(args);
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    await dropLiveShadowDatabases();
    server.close();
    process.exit(code);
  };
  // The CLI ends stdin and sends SIGTERM right away: clean up shadow databases first.
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(130));
  // Like the native engine after a panic: report it on the running request, then exit 101.
  const crash = (error) => {
    server.failInFlight(error);
    process.stderr.write(
      `${JSON.stringify({ level: 'ERROR', fields: { message: String(error?.stack ?? error) } })}\n`,
    );
    void stop(101);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  await server.serve();
  await stop(0);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.version) {
    process.stdout.write(`schema-engine-cli ${await wasmEngineVersion()}\n`);
    return;
  }
  if (args.cliCommand) {
    process.exitCode = await runCliCommand(args.cliCommand, args.datasource);
    return;
  }
  await serveRpc(args);
}

main().catch((error) => {
  process.stderr.write(
    `${JSON.stringify({ level: 'ERROR', fields: { message: String(error?.stack ?? error) } })}\n`,
  );
  process.exit(1);
});
