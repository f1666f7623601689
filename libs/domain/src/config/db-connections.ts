/**
 * One `db` connection as the operator configured it. `tenants` lists the tenants (by name or
 * id) that may use it; absent means every tenant (a bare URL in LINKFLOW_DB_CONNECTIONS).
 */
export interface DbConnectionConfig {
  readonly url: string;
  readonly tenants?: readonly string[];
}

/** Who runs a workflow, as far as a connection's `tenants` list is concerned. */
export interface TenantRef {
  readonly id: string;
  /** The tenant's name (`make key TENANT=dev`); unknown when it could not be looked up. */
  readonly name?: string | undefined;
}

/** Whether `tenant` may use `connection`: no list means every tenant; else its name or id is listed. */
export function mayUseConnection(connection: DbConnectionConfig, tenant: TenantRef): boolean {
  if (connection.tenants === undefined) return true;
  return connection.tenants.some((t) => t === tenant.id || t === tenant.name);
}

const POSTGRES_PROTOCOLS: readonly string[] = ['postgresql:', 'postgres:'];
const ENTRY_KEYS: readonly string[] = ['url', 'tenants'];
/** Connection names appear in configs, logs and metric labels: keep them plain. */
const CONNECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function urlProblem(url: unknown): string | undefined {
  if (typeof url !== 'string') return 'expected a Postgres URL string';
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return 'not a URL';
  }
  return POSTGRES_PROTOCOLS.includes(protocol) ? undefined : 'expected a postgresql: URL';
}

function tenantsProblem(tenants: unknown): string | undefined {
  if (tenants === undefined) return undefined;
  const valid =
    Array.isArray(tenants) &&
    tenants.every((t) => typeof t === 'string' && t.trim() !== '' && t === t.trim());
  return valid ? undefined : '"tenants" must be an array of tenant names or ids';
}

/** Parses one entry: a bare URL, or `{url, tenants?}`. Problems are worded without the name. */
function parseEntry(value: unknown): { entry?: DbConnectionConfig; problems: string[] } {
  if (typeof value === 'string') {
    const problem = urlProblem(value);
    return problem ? { problems: [problem] } : { entry: { url: value }, problems: [] };
  }
  if (!isRecord(value))
    return { problems: ['expected a Postgres URL or {"url": ..., "tenants": [...]}'] };
  const problems: string[] = [];
  const unknown = Object.keys(value).filter((k) => !ENTRY_KEYS.includes(k));
  if (unknown.length > 0)
    problems.push(`unknown keys ${unknown.join(', ')} (allowed: url, tenants)`);
  const url = urlProblem(value['url']);
  if (url) problems.push(`"url": ${url}`);
  const tenants = tenantsProblem(value['tenants']);
  if (tenants) problems.push(tenants);
  if (problems.length > 0) return { problems };
  const list = value['tenants'] as string[] | undefined;
  const entry = { url: value['url'] as string, ...(list === undefined ? {} : { tenants: list }) };
  return { entry, problems: [] };
}

/**
 * Parses LINKFLOW_DB_CONNECTIONS: a JSON object of connection name → Postgres URL (every tenant
 * may use it) or `{"url": "...", "tenants": ["dev", ...]}`. Every problem is pushed to `issues`,
 * prefixed with `variable` and the connection's name; invalid entries are left out.
 */
export function parseDbConnections(
  variable: string,
  raw: string | undefined,
  issues: string[],
): Record<string, DbConnectionConfig> {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!isRecord(parsed)) {
    issues.push(
      `${variable}: expected a JSON object of connection name -> Postgres URL or {url, tenants}`,
    );
    return {};
  }
  const entries: [string, DbConnectionConfig][] = [];
  for (const [name, value] of Object.entries(parsed)) {
    const { entry, problems } = parseEntry(value);
    if (!CONNECTION_NAME.test(name))
      problems.unshift(
        'names are 1-63 letters, digits, "_", "-" or ".", starting with a letter or digit',
      );
    for (const problem of problems) issues.push(`${variable}: connection "${name}": ${problem}`);
    if (entry && problems.length === 0) entries.push([name, entry]);
  }
  // fromEntries defines own properties, so even a "__proto__" key could not reach the prototype.
  return Object.fromEntries(entries);
}
