import { describe, expect, it } from 'vitest';
import { compileConfig, createLiveSecrets, type CompiledNode } from '@linkflow/domain';
import type { CredentialPort } from '../ports.ts';
import { resolveNodeSecrets } from './node-secrets.ts';

function nodeWith(config: Record<string, unknown>): CompiledNode {
  const compiled = compileConfig(config, { raw: [], secrets: ['headers'] });
  if (!compiled.ok) throw new Error(compiled.error[0]?.message);
  return { spec: { id: 'call', type: 'http', config }, config: compiled.value };
}

const node = nodeWith({ headers: { a: '{{ secrets.api.token }}' } });
const port = (resolve: CredentialPort['resolve'], transient = false): CredentialPort => ({
  resolve,
  isTransient: () => transient,
});

describe('resolveNodeSecrets', () => {
  it('resolves nothing for a node without references', async () => {
    const held = await resolveNodeSecrets({}, nodeWith({ headers: { a: 'x' } }), 't');
    expect(held.resolved).toBeUndefined();
  });

  it('holds the values in the live set until released', async () => {
    const liveSecrets = createLiveSecrets();
    const credentials = port(() =>
      Promise.resolve({ ok: true, secrets: new Map([['api', { token: 'value-1' }]]) }),
    );
    const held = await resolveNodeSecrets({ credentials, liveSecrets }, node, 't');
    expect(held.values).toEqual(['value-1']);
    expect(liveSecrets.values()).toEqual(['value-1']);
    expect(liveSecrets.values('t')).toEqual(['value-1']);
    expect(liveSecrets.values('another tenant')).toEqual([]);
    held.release();
    expect(liveSecrets.values()).toEqual([]);
  });

  it('fails VALIDATION without a credential store or for a missing credential, naming the node', async () => {
    await expect(resolveNodeSecrets({}, node, 't')).rejects.toMatchObject({
      type: 'VALIDATION',
      retryable: false,
    });
    const missing = port(() =>
      Promise.resolve({ ok: false, problem: "credential 'api' does not exist" }),
    );
    await expect(resolveNodeSecrets({ credentials: missing }, node, 't')).rejects.toMatchObject({
      type: 'VALIDATION',
      message: "node 'call': credential 'api' does not exist",
    });
  });

  it('retries (CONNECTIVITY) when the store is briefly down, and fails UNKNOWN otherwise', async () => {
    const down = () => Promise.reject(new Error('connection reset'));
    await expect(
      resolveNodeSecrets({ credentials: port(down, true) }, node, 't'),
    ).rejects.toMatchObject({
      type: 'CONNECTIVITY',
      retryable: true,
    });
    await expect(resolveNodeSecrets({ credentials: port(down) }, node, 't')).rejects.toMatchObject({
      type: 'UNKNOWN',
      retryable: false,
      message: 'credentials could not be read from the store',
    });
  });
});
