import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FieldProblem } from '../errors/app-error.ts';
import { findUnstorableText, UNSTORABLE_TEXT_MESSAGE } from '../config/storable-text.ts';
import { compileExpression } from '../expressions/expression.ts';
import { compileConfig, type CompiledConfig } from '../expressions/compiled-config.ts';
import { mentionsSecrets } from '../credentials/credential-rules.ts';
import { err, ok, type Result } from '../result.ts';
import { buildDag } from './dag.ts';
import {
  WorkflowDefinitionSchema,
  type EdgeSpec,
  type NodeSpec,
  type WorkflowDefinition,
} from './definition-schema.ts';
import { scopeProblems } from './scopes.ts';
import type { NodeTypeCatalog, NodeTypeSpec } from './node-type-catalog.ts';
import { configFieldsOf } from './compiled-workflow.ts';
import { checkableView, type CheckableView } from './checkable-view.ts';
import type { TenantRef } from '../config/db-connections.ts';

const checker = TypeCompiler.Compile(WorkflowDefinitionSchema);

/**
 * JSON-schema problems, one per path (the first message for each path), at most
 * {@link MAX_PROBLEMS} paths: the checker's errors are read lazily and no further, so a 1 MiB
 * body of 300,000 bad nodes costs the first hundred, not all of them.
 */
function schemaProblems(input: unknown): { problems: FieldProblem[]; more: boolean } {
  const seen = new Map<string, string>();
  for (const e of checker.Errors(input)) {
    if (seen.has(e.path)) continue;
    if (seen.size === MAX_PROBLEMS) return { problems: toProblems(seen), more: true };
    seen.set(e.path, e.message);
  }
  return { problems: toProblems(seen), more: false };
}

const toProblems = (seen: ReadonlyMap<string, string>): FieldProblem[] =>
  [...seen].map(([path, message]) => ({ path: path === '' ? '/' : path, message }));

/** A tenant's credentials as validation sees them: name → the keys of its data. */
export type CredentialKeys = ReadonlyMap<string, readonly string[]>;

/**
 * Secrets reach only the config fields a type declares (`secretFields`): a node without
 * them (code, transform, condition) may not even name `secrets` in its source or
 * expressions, so no workflow copies a secret into its output on purpose.
 */
function rawSecretProblems(
  node: WorkflowDefinition['nodes'][number],
  spec: NodeTypeSpec,
  at: string,
): FieldProblem[] {
  if ((spec.secretFields ?? []).length > 0) return [];
  const sources = [
    ...spec.rawFields.map((field) => ({ path: `/config/${field}`, text: node.config[field] })),
    ...(spec.expressionsOf?.(node.config) ?? []).map((e) => ({ path: e.path, text: e.expression })),
  ];
  const paths = new Set(
    sources
      .filter((s) => typeof s.text === 'string' && mentionsSecrets(s.text))
      .map((s) => `${at}${s.path}`),
  );
  return [...paths].map((path) => ({
    path,
    message: `node '${node.id}': secrets are not available to ${node.type} nodes`,
  }));
}

/** References to credentials or keys the tenant does not have. */
function credentialProblems(
  node: WorkflowDefinition['nodes'][number],
  compiled: CompiledConfig,
  credentials: CredentialKeys,
  at: string,
): FieldProblem[] {
  return compiled.secretRefs.flatMap((ref) => {
    const keys = credentials.get(ref.name);
    if (keys === undefined)
      return [
        { path: `${at}/config`, message: `node '${node.id}': unknown credential '${ref.name}'` },
      ];
    if (!keys.includes(ref.key))
      return [
        {
          path: `${at}/config`,
          message: `node '${node.id}': credential '${ref.name}' has no key '${ref.key}'`,
        },
      ];
    return [];
  });
}

function nodeProblems(
  view: CheckableView,
  catalog: NodeTypeCatalog,
  credentials: CredentialKeys | undefined,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  view.def.nodes.forEach((node, i) => {
    if (seen.has(node.id))
      problems.push({ path: `/nodes/${i}/id`, message: `duplicate node id '${node.id}'` });
    seen.add(node.id);
    if (node.type === '') return; // no type, or an empty one: the schema named it
    const spec = catalog.get(node.type);
    if (!spec) {
      const known = catalog.types().join(', ');
      problems.push({
        path: `/nodes/${i}/type`,
        message: `unknown node type '${node.type}' (enabled: ${known})`,
      });
      return;
    }
    if (view.broken.has(i)) return;
    const prefix = (p: FieldProblem): FieldProblem => ({
      path: `/nodes/${i}${p.path}`,
      message: p.message,
    });
    const configProblems = spec.checkConfig(node.config).map(prefix);
    problems.push(...configProblems);
    if (configProblems.length > 0) return;
    problems.push(...rawSecretProblems(node, spec, `/nodes/${i}`));
    const fields = configFieldsOf(spec, node.id);
    const templates = compileConfig(node.config, fields, `/nodes/${i}/config`);
    if (!templates.ok) problems.push(...templates.error);
    else if (credentials !== undefined)
      problems.push(...credentialProblems(node, templates.value, credentials, `/nodes/${i}`));
    for (const embedded of spec.expressionsOf?.(node.config) ?? []) {
      const compiled = compileExpression(embedded.expression);
      if (!compiled.ok)
        problems.push(
          prefix({ path: embedded.path, message: `expression does not parse: ${compiled.error}` }),
        );
    }
  });
  return problems;
}

/** Route names a router's `when` edges may use: its routes' names and its `default`. */
function routeNames(node: NodeSpec): string[] {
  const routes = Array.isArray(node.config['routes']) ? (node.config['routes'] as unknown[]) : [];
  // Only strings: a tenant's `{toString: 1}` or a deeply nested name must not throw here.
  const names = routes.map((r) =>
    typeof r === 'object' && r !== null && 'name' in r && typeof r.name === 'string' ? r.name : '',
  );
  const fallback = node.config['default'];
  return typeof fallback === 'string' ? [...names, fallback] : names;
}

/** Route names as a message lists them: the first few, the rest counted. */
function listedRoutes(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED_ROUTES).join(', ');
  const more = names.length - MAX_LISTED_ROUTES;
  return more > 0 ? `${shown}, … ${more} more` : shown;
}

/** Why an edge's `when` is illegal, or undefined when it is fine. */
function whenProblem(
  edge: EdgeSpec,
  source: NodeSpec | undefined,
  routesOf: (router: NodeSpec) => readonly string[],
): string | undefined {
  if (edge.when === undefined || source === undefined) return undefined;
  const when = String(edge.when);
  if (source.type === 'condition')
    return when === 'true' || when === 'false'
      ? undefined
      : `a condition's 'when' is true or false, got '${when}'`;
  if (source.type === 'router') {
    const names = routesOf(source);
    return names.includes(when)
      ? undefined
      : `router '${source.id}' has no route '${when}' (routes: ${listedRoutes(names)})`;
  }
  return `'when' needs a condition or router source, but '${edge.from}' is ${source.type}`;
}

function edgeProblems(def: WorkflowDefinition): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const types = new Map(def.nodes.map((n) => [n.id, n.type]));
  // Looked up once per node, not per edge (5,000 edges × a router of 50,000 routes).
  const byId = new Map<string, NodeSpec>();
  for (const n of def.nodes) if (!byId.has(n.id)) byId.set(n.id, n);
  const routes = new Map<string, string[]>();
  const routesOf = (node: NodeSpec) => {
    let names = routes.get(node.id);
    if (names === undefined) routes.set(node.id, (names = routeNames(node)));
    return names;
  };
  const pairs = new Set<string>();
  (def.edges ?? []).forEach((edge, j) => {
    for (const end of ['from', 'to'] as const) {
      if (!types.has(edge[end]))
        problems.push({ path: `/edges/${j}/${end}`, message: `unknown node id '${edge[end]}'` });
    }
    const pair = `${edge.from}\u0000${edge.to}`;
    if (pairs.has(pair))
      problems.push({ path: `/edges/${j}`, message: `duplicate edge ${edge.from} -> ${edge.to}` });
    pairs.add(pair);
    const problem = whenProblem(edge, byId.get(edge.from), routesOf);
    if (problem !== undefined) problems.push({ path: `/edges/${j}/when`, message: problem });
  });
  return problems;
}

/**
 * What `tenant` may not use in a (valid) definition, e.g. a db connection the operator did not
 * allow it: `{path: '/nodes/2/config/connection', message}`. Empty when everything is allowed.
 */
export function accessProblems(
  def: WorkflowDefinition,
  catalog: NodeTypeCatalog,
  tenant: TenantRef,
  skip: ReadonlySet<number> = new Set(),
): FieldProblem[] {
  return def.nodes.flatMap((node, i) =>
    (skip.has(i) ? [] : (catalog.get(node.type)?.checkAccess?.(node.config, tenant) ?? [])).map(
      (p) => ({
        path: `/nodes/${i}${p.path}`,
        message: p.message,
      }),
    ),
  );
}

/**
 * A cycle among the nodes and edges that exist (the first node of an id, the edges whose ends
 * both exist), so dangling edges or duplicate ids do not hide one.
 */
function cycleProblems(def: WorkflowDefinition): FieldProblem[] {
  const byId = new Map<string, NodeSpec>();
  for (const node of def.nodes) if (!byId.has(node.id)) byId.set(node.id, node);
  const edges = (def.edges ?? []).filter((e) => byId.has(e.from) && byId.has(e.to));
  const dag = buildDag([...byId.values()], edges);
  return dag.ok ? [] : dag.error;
}

/** Most problems one answer lists; the rest are counted in a last one (the 422 stays small). */
export const MAX_PROBLEMS = 100;
/** Longest problem message (a message may quote a tenant's value, e.g. an unknown type). */
const MAX_PROBLEM_MESSAGE = 1_000;
/** Route names listed in a `when` problem. */
const MAX_LISTED_ROUTES = 10;

/**
 * Each problem once (the schema and a later check may name the same one), messages cut to
 * {@link MAX_PROBLEM_MESSAGE} characters, at most {@link MAX_PROBLEMS} of them: a 1 MiB
 * definition must not answer with a 100 MB list.
 */
function reported(problems: readonly FieldProblem[], uncounted = false): FieldProblem[] {
  const seen = new Set<string>();
  const out: FieldProblem[] = [];
  let more = 0;
  for (const p of problems) {
    const message =
      p.message.length > MAX_PROBLEM_MESSAGE
        ? `${p.message.slice(0, MAX_PROBLEM_MESSAGE)}…`
        : p.message;
    const key = `${p.path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (out.length < MAX_PROBLEMS) out.push({ path: p.path, message });
    else more += 1;
  }
  if (more > 0 || uncounted)
    out.push({
      path: '/',
      message: uncounted ? '… and more problems' : `… and ${more} more problems`,
    });
  return out;
}

/**
 * Validates a workflow definition and names every problem: schema violations, duplicate
 * or unknown node ids, unknown node types, configs the type rejects, templates and
 * expressions that do not parse, `when` on an edge whose source is not a condition or names
 * no route of its router, scope violations (see `scopeProblems`), and cycles. With a `tenant`,
 * also what that tenant may not use (see `accessProblems`). Secrets: `{{ secrets.<name>.<key> }}`
 * only in the fields a type declares; with `credentials`, each reference must name one of the
 * tenant's credentials and one of its keys.
 */
export function validateWorkflow(
  input: unknown,
  catalog: NodeTypeCatalog,
  options: { readonly tenant?: TenantRef; readonly credentials?: CredentialKeys } = {},
): Result<WorkflowDefinition, FieldProblem[]> {
  const schema = schemaProblems(input);
  const view = checkableView(input);
  if (view === undefined) return err(reported(schema.problems, schema.more));
  const unstorable = findUnstorableText(input);
  if (unstorable !== undefined)
    return err(
      reported([...schema.problems, { path: unstorable, message: UNSTORABLE_TEXT_MESSAGE }]),
    );
  const problems = [
    ...schema.problems,
    ...nodeProblems(view, catalog, options.credentials),
    ...edgeProblems(view.def),
    ...scopeProblems(view.def),
    ...cycleProblems(view.def),
  ];
  if (options.tenant !== undefined)
    problems.push(...accessProblems(view.def, catalog, options.tenant, view.broken));
  return problems.length > 0
    ? err(reported(problems, schema.more))
    : ok(input as WorkflowDefinition);
}
