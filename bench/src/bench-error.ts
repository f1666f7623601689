/** A benchmark run could not complete (setup, a child process, or a scenario went wrong). */
export class BenchError extends Error {
  override readonly name = 'BenchError';
}
