import { RE2JS } from 're2js';

/**
 * What jsonata reads from a match: the matched text, its groups, `index`, and the
 * pattern's `lastIndex` (where the next search starts).
 */
type ExecResult = (string | undefined)[] & { index: number; input: string };

/** Called before every search; throws to stop a `$match`/`$replace`/`$split` loop. */
export type RegexCheck = () => void;

const compiled = new WeakMap<RegExp, RE2JS>();

function flagsOf(re: RegExp): number {
  let flags = 0;
  if (re.ignoreCase) flags |= RE2JS.CASE_INSENSITIVE;
  if (re.multiline) flags |= RE2JS.MULTILINE;
  if (re.dotAll) flags |= RE2JS.DOTALL;
  return flags;
}

/**
 * Compiles a JSONata regex literal (a native RegExp from the parser) with RE2, once per
 * literal. @throws re2js's syntax error for what RE2 lacks (backreferences, lookahead).
 */
function re2Of(re: RegExp): RE2JS {
  let pattern = compiled.get(re);
  if (pattern === undefined) {
    pattern = RE2JS.compile(RE2JS.translateRegExp(re.source), flagsOf(re));
    compiled.set(re, pattern);
  }
  return pattern;
}

/**
 * A RegExp stand-in for jsonata's `RegexEngine` option backed by RE2 (re2js): matching
 * takes time linear in the input, so `/^(a+)+$/` cannot backtrack for minutes. It has
 * what jsonata uses: `exec` and `lastIndex` with global-search semantics.
 */
export class LinearRegExp {
  lastIndex = 0;
  private readonly pattern: RE2JS;

  constructor(
    source: RegExp,
    private readonly check?: RegexCheck,
  ) {
    this.pattern = re2Of(source);
  }

  exec(text: string): ExecResult | null {
    this.check?.();
    const matcher = this.pattern.matcher(text);
    if (this.lastIndex > text.length || !matcher.find(this.lastIndex)) {
      this.lastIndex = 0;
      return null;
    }
    const groups: (string | undefined)[] = [];
    for (let i = 0; i <= matcher.groupCount(); i++) groups.push(matcher.group(i) ?? undefined);
    this.lastIndex = matcher.end();
    return Object.assign(groups, { index: matcher.start(), input: text });
  }
}

/** A `LinearRegExp` class whose every search first runs `check` (an evaluation's budget). */
export function checkedRegexEngine(check: RegexCheck): typeof LinearRegExp {
  return class CheckedRegExp extends LinearRegExp {
    constructor(source: RegExp) {
      super(source, check);
    }
  };
}

/** The message when RE2 cannot compile a regex literal, or undefined when it can. */
export function unsupportedRegex(re: RegExp): string | undefined {
  try {
    re2Of(re);
    return undefined;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return `regular expression /${re.source}/ is not supported (linear-time engine: no backreferences or lookaround): ${reason}`;
  }
}
