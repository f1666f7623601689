/**
 * Whether an error was raised beneath SQL by a database driver, judged by its class, never
 * its text: a system error (`syscall` set: refused, reset, timed out, unresolvable host) or a
 * plain `Error`, which is how drivers such as node-postgres report a terminated, closed or
 * timed-out connection. The server's own answers are the driver's error class (checked
 * before this) and our own failures are AppError, TypeError and the like: never this.
 */
export function isBeneathSql(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if ('syscall' in err) return true;
  return Object.getPrototypeOf(err) === Error.prototype;
}
