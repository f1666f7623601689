import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './options.ts';

const run = promisify(execFile);

/**
 * The code the bench runs: short HEAD commit, with `+dirty` when the working tree differs
 * (other work in progress is then part of the figures); null outside a git checkout.
 */
export async function readRevision(): Promise<string | null> {
  try {
    const opts = { cwd: REPO_ROOT, timeout: 10_000 };
    const { stdout: head } = await run('git', ['rev-parse', '--short', 'HEAD'], opts);
    const { stdout: status } = await run(
      'git',
      ['status', '--porcelain', '--', 'apps', 'libs', 'migrations'],
      opts,
    );
    return `${head.trim()}${status.trim() === '' ? '' : '+dirty'}`;
  } catch {
    return null;
  }
}
