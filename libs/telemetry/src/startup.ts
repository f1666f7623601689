import { ConfigError } from '@linkflow/domain';

/** The exit code for a configuration error (sysexits EX_CONFIG). */
export const EX_CONFIG = 78;

/**
 * Runs a process's `loadConfig`. On a ConfigError it prints every issue, naming each
 * variable, and exits with code 78 (STYLE §4: fail closed, never fall back).
 */
export function loadConfigOrExit<C>(service: string, load: () => C): C {
  try {
    return load();
  } catch (err) {
    exitWithConfigIssues(service, err instanceof ConfigError ? err.issues : [String(err)]);
  }
}

/**
 * Prints `<service>: invalid configuration` and every issue on stderr, then exits with 78. Also
 * for issues found after parsing (a db connection whose role is privileged).
 */
export function exitWithConfigIssues(service: string, issues: readonly string[]): never {
  process.stderr.write(
    `${service}: invalid configuration\n${issues.map((i) => `  ${i}`).join('\n')}\n`,
  );
  process.exit(EX_CONFIG);
}
