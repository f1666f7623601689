import { describe, expect, it } from 'vitest';
import { compileConfig } from './compiled-config.ts';
import { compileExpression } from './expression.ts';
import { parseTemplate, stringifyValue } from './template.ts';

const context = {
  input: { order_id: 42, name: 'Ada', tags: ['a', 'b'] },
  nodes: { fetch: { body: { total: 150 } } },
  execution: { id: 'e1', workflow_id: 'w1', attempt: 1 },
};

async function render(config: Record<string, unknown>, raw: string[] = []) {
  const compiled = compileConfig(config, raw);
  if (!compiled.ok) throw new TypeError(JSON.stringify(compiled.error));
  return compiled.value.render(context);
}

describe('parseTemplate', () => {
  it('splits text and expressions', () => {
    expect(parseTemplate('a {{ x }} b')).toEqual({
      parts: [
        { kind: 'text', text: 'a ' },
        { kind: 'expr', source: 'x' },
        { kind: 'text', text: ' b' },
      ],
      isSingle: false,
    });
  });
  it('treats a lone template with surrounding spaces as single', () => {
    expect(parseTemplate('  {{ x }} ')?.isSingle).toBe(true);
  });
  it('reads JSONata object constructors with nested braces', () => {
    expect(parseTemplate("{{ {'a': {'b': 1}} }}")?.parts).toEqual([
      { kind: 'expr', source: "{'a': {'b': 1}}" },
    ]);
  });
  it('ignores braces inside quoted strings', () => {
    expect(parseTemplate('{{ \'}}\' & "x\\"}" }}')?.parts).toHaveLength(1);
  });
  it('rejects unclosed and empty templates', () => {
    expect(parseTemplate('{{ x')).toBeUndefined();
    expect(parseTemplate('{{   }}')).toBeUndefined();
  });
});

describe('stringifyValue', () => {
  it('prints scalars plainly, nullish as empty and objects as JSON', () => {
    expect([
      stringifyValue('s'),
      stringifyValue(1),
      stringifyValue(true),
      stringifyValue(null),
      stringifyValue(undefined),
      stringifyValue({ a: 1 }),
    ]).toEqual(['s', '1', 'true', '', '', '{"a":1}']);
  });
});

describe('compileExpression', () => {
  it('evaluates over the context', async () => {
    const expr = compileExpression('nodes.fetch.body.total > 100');
    expect(expr.ok && (await expr.value.evaluate(context))).toEqual({ ok: true, value: true });
  });
  it('reports a parse error', () => {
    const expr = compileExpression('1 +');
    expect(expr.ok).toBe(false);
  });
  it('reports an evaluation error as a value', async () => {
    const expr = compileExpression('$number("abc") + $undefinedFn()');
    const result = expr.ok ? await expr.value.evaluate(context) : undefined;
    expect(result?.ok).toBe(false);
  });
});

describe('compileConfig', () => {
  it('yields the raw value for a string that is exactly one template', async () => {
    expect(await render({ id: '{{ input.order_id }}', tags: '{{ input.tags }}' })).toEqual({
      ok: true,
      value: { id: 42, tags: ['a', 'b'] },
    });
  });
  it('interpolates a string with text around templates', async () => {
    expect(
      await render({ url: 'https://x/orders/{{ input.order_id }}?n={{ input.name }}' }),
    ).toEqual({ ok: true, value: { url: 'https://x/orders/42?n=Ada' } });
  });
  it('renders nested objects and arrays', async () => {
    expect(
      await render({
        params: ['{{ nodes.fetch.body.total }}', 'lit'],
        headers: { h: 'v{{ input.order_id }}' },
      }),
    ).toEqual({
      ok: true,
      value: { params: [150, 'lit'], headers: { h: 'v42' } },
    });
  });
  it('leaves raw fields untouched', async () => {
    expect(await render({ query: 'select {{ x }}' }, ['query'])).toEqual({
      ok: true,
      value: { query: 'select {{ x }}' },
    });
  });
  it('returns the same config when there is nothing to render', async () => {
    const config = { a: 1 };
    const compiled = compileConfig(config, []);
    expect(compiled.ok && compiled.value.hasTemplates).toBe(false);
    expect(compiled.ok && (await compiled.value.render(context))).toEqual({
      ok: true,
      value: config,
    });
  });
  it('reports an evaluation failure with its path', async () => {
    const result = await render({ a: { b: 'x{{ $error("boom") }}' } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.path).toBe('/config/a/b');
  });
  it('reports a failing single template', async () => {
    const result = await render({ a: '{{ $error("boom") }}' });
    expect(result.ok ? undefined : result.error.message).toContain('boom');
  });
  it('escapes JSON pointer characters in paths', () => {
    const compiled = compileConfig({ 'a/b~c': '{{ ( }}' }, []);
    expect(compiled.ok ? undefined : compiled.error[0]?.path).toBe('/config/a~1b~0c');
  });
});
