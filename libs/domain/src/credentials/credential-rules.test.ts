import { describe, expect, it } from 'vitest';
import { compileConfig } from '../expressions/compiled-config.ts';
import { fakeCatalog } from '../testing/fake-catalog.ts';
import { validateWorkflow } from '../workflow/validate-workflow.ts';
import {
  credentialDataProblems,
  credentialNameProblem,
  MAX_CREDENTIAL_BYTES,
  mentionsSecrets,
  parseSecretRef,
  referencedCredentialNames,
} from './credential-rules.ts';

const http = (config: Record<string, unknown>) => ({
  name: 'w',
  nodes: [{ id: 'call', type: 'http', config: { url: 'https://x.example', ...config } }],
});
const credentials = new Map([
  ['api', ['token']],
  ['my-db', ['password']],
]);

function problemsOf(def: unknown) {
  const result = validateWorkflow(def, fakeCatalog(), { credentials });
  return result.ok ? [] : result.error;
}

describe('parseSecretRef', () => {
  it('reads secrets.<name>.<key>, dashes included', () => {
    expect(parseSecretRef(' secrets.my-db.password ')).toEqual({ name: 'my-db', key: 'password' });
  });
  it('refuses anything else', () => {
    expect(parseSecretRef('secrets.api')).toBeUndefined();
    expect(parseSecretRef("secrets.api.token & 'x'")).toBeUndefined();
    expect(parseSecretRef('$.secrets.api.token')).toBeUndefined();
  });
});

describe('mentionsSecrets', () => {
  it('sees the root name, $ and $$ paths and $lookup by string', () => {
    for (const source of ['secrets', '$.secrets.a', '$$.secrets', "$lookup($, 'secrets')"])
      expect(mentionsSecrets(source), source).toBe(true);
  });
  it('ignores a field called secrets below the root', () => {
    expect(mentionsSecrets('input.secrets.count')).toBe(false);
    expect(mentionsSecrets('nodes.a.secrets_total')).toBe(false);
  });
});

describe('credentialDataProblems', () => {
  it('accepts an object of strings', () => {
    expect(credentialDataProblems({ token: 'abcd', 'x-key': 'yyyy' })).toEqual([]);
  });
  it('names the field of each problem', () => {
    expect(credentialDataProblems([])).toEqual([
      { path: '/data', message: 'must be an object of strings' },
    ]);
    expect(credentialDataProblems({})[0]?.path).toBe('/data');
    expect(credentialDataProblems({ token: 1 })).toEqual([
      { path: '/data/token', message: 'must be a string' },
    ]);
    expect(credentialDataProblems({ token: '' })[0]?.path).toBe('/data/token');
    expect(credentialDataProblems({ pin: '123' })).toEqual([
      { path: '/data/pin', message: 'must be at least 4 characters' },
    ]);
    expect(credentialDataProblems({ 'a b': 'x' })[0]?.path).toBe('/data/a b');
  });
  it('refuses more than 100 keys and more than 64 KiB', () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v']));
    expect(credentialDataProblems(many)[0]?.message).toMatch(/at most 100 keys/);
    const big = { token: 'x'.repeat(MAX_CREDENTIAL_BYTES) };
    expect(credentialDataProblems(big)[0]?.message).toMatch(/65536 bytes/);
  });
});

describe('credentialNameProblem', () => {
  it('accepts [a-z0-9_-]{1,64} only', () => {
    expect(credentialNameProblem('my-api_2')).toBeUndefined();
    for (const bad of ['', 'API', 'a.b', 'x'.repeat(65), 7])
      expect(credentialNameProblem(bad)?.path).toBe('/name');
  });
});

describe('secret references in workflows', () => {
  it('accepts {{ secrets.<name>.<key> }} in http headers and url', () => {
    const def = http({
      url: 'https://x.example/?k={{ secrets.api.token }}',
      headers: { authorization: 'Bearer {{ secrets.api.token }}' },
    });
    expect(problemsOf(def)).toEqual([]);
  });
  it('names an unknown credential or key (422 at the API)', () => {
    const def = http({ headers: { a: '{{ secrets.nope.token }}', b: '{{ secrets.api.nokey }}' } });
    expect(problemsOf(def).map((p) => p.message)).toEqual([
      "node 'call': unknown credential 'nope'",
      "node 'call': credential 'api' has no key 'nokey'",
    ]);
  });
  it('refuses secrets in transform, condition and code nodes, naming the node', () => {
    const def = {
      name: 'w',
      nodes: [
        { id: 't', type: 'transform', config: { expression: "$lookup($, 'secrets')" } },
        { id: 'c', type: 'condition', config: { expression: 'secrets.api.token = "x"' } },
        { id: 'k', type: 'code', config: { source: 'return secrets.api.token' } },
      ],
    };
    expect(problemsOf(def)).toEqual([
      {
        path: '/nodes/0/config/expression',
        message: "node 't': secrets are not available to transform nodes",
      },
      {
        path: '/nodes/1/config/expression',
        message: "node 'c': secrets are not available to condition nodes",
      },
      {
        path: '/nodes/2/config/source',
        message: "node 'k': secrets are not available to code nodes",
      },
    ]);
  });
  it('refuses other ways of reaching secrets in http templates and secrets outside the allowed fields', () => {
    const def = http({ body: "{{ $lookup($, 'secrets') }}", method: '{{ secrets.api.token }}' });
    expect(problemsOf(def).map((p) => p.message)).toEqual([
      "node 'call': secrets may only be referenced as {{ secrets.<name>.<key> }}",
      "node 'call': secrets are not available here (only in url, headers, query, body)",
    ]);
  });
});

describe('rendering secret references', () => {
  it('fills them from the resolved map, never from the context', async () => {
    const compiled = compileConfig(
      { url: 'https://x/{{ secrets.api.token }}', headers: { a: '{{ secrets.api.token }}' } },
      { raw: [], secrets: ['url', 'headers'] },
    );
    if (!compiled.ok) throw new Error(compiled.error[0]?.message);
    expect(compiled.value.secretRefs).toEqual([{ name: 'api', key: 'token' }]);
    const context = { secrets: { api: { token: 'from-context' } } };
    const rendered = await compiled.value.render(
      context,
      undefined,
      new Map([['api', { token: 's3cr3t' }]]),
    );
    expect(rendered).toEqual({
      ok: true,
      value: { url: 'https://x/s3cr3t', headers: { a: 's3cr3t' } },
    });
    const missing = await compiled.value.render(context);
    expect(missing.ok ? undefined : missing.error.message).toBe(
      "credential 'api' has no key 'token'",
    );
  });
});

describe('referencedCredentialNames', () => {
  it('finds references at any depth, with any whitespace the compiler accepts', () => {
    const definition = {
      nodes: [
        { config: { url: 'https://x/{{ secrets.a.k }}', headers: { h: '{{\nsecrets.b-1.k }}' } } },
        { config: { params: ['{{ secrets\t.\u00a0c_2 .k }}', 7, null, 'secrets.d.k'] } },
      ],
    };
    expect([...referencedCredentialNames(definition)].sort()).toEqual(['a', 'b-1', 'c_2']);
    expect(referencedCredentialNames('no references')).toEqual(new Set());
  });
});
