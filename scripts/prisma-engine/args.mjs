// Command-line arguments the Prisma CLI passes to a schema-engine binary.

const VALUE_FLAGS = new Set([
  '--datamodels',
  '--datasource',
  '--enabled-preview-features',
  '--extension-types',
]);

/**
 * @param {string[]} argv process.argv.slice(2)
 * @returns {{ datamodels: string[], datasource: { url?: string, shadowDatabaseUrl?: string } | undefined,
 *   cliCommand: string | undefined, version: boolean }}
 */
export function parseArgs(argv) {
  const parsed = { datamodels: [], datasource: undefined, cliCommand: undefined, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--version' || arg === '-V') parsed.version = true;
    else if (arg === 'cli') parsed.cliCommand = argv[++i];
    else if (VALUE_FLAGS.has(arg)) applyValue(parsed, arg, argv[++i]);
    else throw new Error(`unexpected argument: ${arg}`);
  }
  return parsed;
}

function applyValue(parsed, flag, value) {
  if (value === undefined) throw new Error(`${flag} needs a value`);
  if (flag === '--datamodels') parsed.datamodels.push(value);
  if (flag === '--datasource') parsed.datasource = JSON.parse(value);
  // --enabled-preview-features and --extension-types are accepted and ignored (Postgres core only).
}
