import { unsupportedRegex } from './safe-regex.ts';

/**
 * jsonata matches a call's argument types against a function signature with a native
 * (backtracking) RegExp built from the signature: several `+` (one or more) parameters
 * make that match polynomial in the argument count (60 arguments against 8 of them
 * took 6 s in one uninterruptible call). User signatures may have at most this many.
 */
const MAX_VARIADIC_PARAMS = 1;
/** Optional (`?`) and context (`-`) parameters each double the choices to try. */
const MAX_OPTIONAL_PARAMS = 8;

function signatureProblem(definition: string): string | undefined {
  const variadic = definition.split('+').length - 1;
  const optional = definition.split(/[?-]/).length - 1;
  if (variadic <= MAX_VARIADIC_PARAMS && optional <= MAX_OPTIONAL_PARAMS) return undefined;
  return `function signature ${definition} has too many variable parameters (at most ${MAX_VARIADIC_PARAMS} '+' and ${MAX_OPTIONAL_PARAMS} '?' or '-')`;
}

function problemOf(node: Record<string, unknown>): string | undefined {
  if (node['type'] === 'regex' && node['value'] instanceof RegExp)
    return unsupportedRegex(node['value']);
  const signature = node['signature'];
  if (typeof signature === 'object' && signature !== null && 'definition' in signature) {
    const definition = signature.definition;
    if (typeof definition === 'string') return signatureProblem(definition);
  }
  return undefined;
}

/**
 * Finds what a parsed expression must not contain: a regex RE2 cannot run, or a
 * signature whose native check can backtrack. Returns the first problem's message.
 */
export function findUnsafeConstruct(ast: unknown): string | undefined {
  const seen = new Set<object>();
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    if (node instanceof RegExp) continue;
    seen.add(node);
    if (!Array.isArray(node)) {
      const problem = problemOf(node as Record<string, unknown>);
      if (problem !== undefined) return problem;
    }
    for (const child of Object.values(node)) stack.push(child);
  }
  return undefined;
}
