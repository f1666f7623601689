import {
  collectSecretValues,
  REDACTED,
  type CompiledNode,
  type EvaluateOptions,
  type LiveSecrets,
  type ResolvedSecrets,
  withEncodedForms,
} from '@linkflow/domain';
import { expressionError, NodeError, unicodeHost, type NodeInput } from '@linkflow/nodes';
import type { CredentialPort } from '../ports.ts';

/** The credential values of one node attempt. */
export interface NodeSecrets {
  /** What the config's `{{ secrets.<name>.<key> }}` templates render to; none without references. */
  readonly resolved: ResolvedSecrets | undefined;
  /** The resolved values, for redaction wherever the attempt's results go. */
  readonly values: readonly string[];
  /** Lets go of the values in the process's {@link LiveSecrets} (pino, spans). */
  readonly release: () => void;
}

/** Where credentials come from and where held values are announced. */
export interface SecretsDeps {
  readonly credentials?: CredentialPort | undefined;
  readonly liveSecrets?: LiveSecrets | undefined;
}

const NONE: NodeSecrets = { resolved: undefined, values: [], release: () => undefined };

/**
 * Resolves the credentials a node's config references, just before it runs (never earlier,
 * never stored: the checkpoint holds the redacted output, not the rendered config). A missing
 * credential or key, a missing or wrong LINKFLOW_SECRETS_KEY fail the node with VALIDATION
 * (not retried: the same attempt fails the same way); a store that does not answer is
 * CONNECTIVITY (retried). The values are held for the tenant while the attempt runs (pino
 * lines bound to that tenant are redacted with them).
 * @throws NodeError
 */
export async function resolveNodeSecrets(
  deps: SecretsDeps,
  node: CompiledNode,
  tenantId: string,
): Promise<NodeSecrets> {
  const refs = node.config.secretRefs;
  if (refs.length === 0) return NONE;
  const port = deps.credentials;
  if (port === undefined)
    throw new NodeError('VALIDATION', 'this executor has no credential store', {
      retryable: false,
    });
  let outcome: Awaited<ReturnType<CredentialPort['resolve']>>;
  try {
    outcome = await port.resolve(tenantId, refs);
  } catch (cause) {
    const transient = port.isTransient(cause);
    throw new NodeError(
      transient ? 'CONNECTIVITY' : 'UNKNOWN',
      'credentials could not be read from the store',
      { retryable: transient, cause },
    );
  }
  if (!outcome.ok)
    throw new NodeError('VALIDATION', `node '${node.spec.id}': ${outcome.problem}`, {
      retryable: false,
    });
  // Encoded forms too: a value sent in a URL or echoed in JSON text is spelled differently.
  const values = withEncodedForms(
    [...outcome.secrets.values()].flatMap((data) => Object.values(data)),
  );
  return {
    resolved: outcome.secrets,
    values,
    release: deps.liveSecrets?.hold(values, tenantId) ?? (() => undefined),
  };
}

/**
 * Resolves the node's credentials and renders its config templates. Credentials go to the
 * template renderer only, never into the expression context. `values` are the secret strings
 * to redact: the process's, the credentials' and those of the rendered config.
 * @throws NodeError (VALIDATION, CONNECTIVITY, EXPRESSION, TIMEOUT)
 */
export async function renderConfig(
  deps: SecretsDeps & { readonly secretValues?: readonly string[] | undefined },
  node: CompiledNode,
  r: { input: NodeInput; tenantId: string; evaluation: EvaluateOptions; signal: AbortSignal },
) {
  const held = await resolveNodeSecrets(deps, node, r.tenantId);
  let rendered: Awaited<ReturnType<CompiledNode['config']['render']>>;
  try {
    rendered = await node.config.render(r.input, r.evaluation, held.resolved);
  } catch (err) {
    held.release();
    throw err;
  }
  if (!rendered.ok) {
    held.release();
    throw expressionError(rendered.error, r.signal, rendered.error.path);
  }
  const values = [
    ...(deps.secretValues ?? []),
    ...held.values,
    ...collectSecretValues(rendered.value),
  ];
  return { config: rendered.value, values, release: held.release };
}

/** Shortest secret form compared with a host (as redaction's own minimum). */
const MIN_HOST_FORM = 4;

/** A value as the host a URL parser would make of it (`0x0A000001` → `10.0.0.1`), if any. */
function hostnameOf(text: string): string | undefined {
  for (const candidate of [text, `http://${text}`]) {
    try {
      const host = new URL(candidate).hostname;
      if (host !== '') return host;
    } catch {
      // not a URL in this form
    }
  }
  return undefined;
}

/** The spellings of a secret value a host built from it may take (lower-cased, decoded, parsed). */
function hostForms(value: string): string[] {
  const forms = [value.toLowerCase()];
  try {
    forms.push(decodeURIComponent(value).toLowerCase());
  } catch {
    // a lone `%`: no decoded form
  }
  const host = hostnameOf(value);
  if (host !== undefined) forms.push(host);
  return forms.filter((f) => f.length >= MIN_HOST_FORM);
}

/**
 * The breaker of a node whose key (`host:port`) may be built from a secret
 * (`https://{{ secrets.api.host }}/…`, or a whole base URL kept as a credential): `target`
 * names it wherever it shows (`/metrics`, `/api/admin/breakers`, CIRCUIT_OPEN errors) and is
 * `[redacted]:<port>` when the host contains any of the run's secret values in a spelling a
 * URL parser gives a host (lower-cased, percent-decoded, IDNA both ways, a normalised IP; the
 * values also carry their encoded forms); `identity` then keeps the real key, so such hosts
 * still have a breaker each. A short value that happens to sit inside an ordinary host only
 * hides that host's name, never merges its breaker with another's.
 */
export function breakerTarget(
  key: string | undefined,
  values: readonly string[],
): { target: string; identity?: string } | undefined {
  if (key === undefined) return undefined;
  if (values.length === 0) return { target: key };
  const cut = key.lastIndexOf(':');
  const host = (cut < 0 ? key : key.slice(0, cut)).toLowerCase();
  const port = cut < 0 ? '' : key.slice(cut);
  const spellings = [host, unicodeHost(host)];
  const secret = values.some((value) =>
    hostForms(value).some((form) => spellings.some((h) => h.includes(form))),
  );
  return secret ? { target: `${REDACTED}${port}`, identity: key } : { target: key };
}
