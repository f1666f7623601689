import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../testing/api-harness.ts';

// Attack: a reference the template compiler accepts (`\s*` of JavaScript: newline, tab, NBSP
// around the dots) that the DELETE guard, a regex over the definition's jsonb *text*, does not
// see (jsonb writes a newline as the two characters `\n`). The credential is then deletable
// while the workflow's latest version uses it, and GET shows no referring workflow.

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

const spellings = {
  newline: '{{\nsecrets.nl.token }}',
  tab: '{{ secrets\t.tab.token }}',
  nbsp: '{{ secrets.nbsp\u00a0.token }}',
};

describe('a reference spelled with other whitespace', () => {
  it.each(Object.entries(spellings))('(%s) still blocks the DELETE (409)', async (_, ref) => {
    const name = /secrets\s*\.([a-z]+)/.exec(ref)?.[1] ?? '';
    const created = await h.request('POST', '/api/credentials', {
      body: { name, data: { token: `tok-${randomUUID()}` } },
    });
    expect(created.statusCode).toBe(201);
    const wf = await h.request('POST', '/api/workflows', {
      body: {
        name: `uses-${name}`,
        nodes: [
          {
            id: 'call',
            type: 'http',
            config: { url: 'https://x.example', headers: { 'x-token': ref } },
          },
        ],
      },
    });
    expect(wf.statusCode).toBe(201);
    const id = wf.json<{ id: string }>().id;
    expect((await h.request('GET', `/api/credentials/${name}`)).json()).toMatchObject({
      workflows: [{ id }],
    });
    expect((await h.request('DELETE', `/api/credentials/${name}`)).statusCode).toBe(409);
  });
});
