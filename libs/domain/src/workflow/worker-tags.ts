/**
 * Worker tags route executions to executors: a workflow's `settings.worker_tags` names the
 * tags an executor must have (all of them); an executor started with `EXECUTOR_TAGS` takes
 * untagged executions and those whose tags it has every one of.
 */

/** One tag: lowercase letters, digits, `_` and `-`, 1–32 characters. */
export const WORKER_TAG_PATTERN = '^[a-z0-9][a-z0-9_-]{0,31}$';

/** Most tags one workflow may require or one executor may carry. */
export const MAX_WORKER_TAGS = 16;

const TAG = new RegExp(WORKER_TAG_PATTERN);

/** Whether `tag` is a valid worker tag. */
export function isWorkerTag(tag: string): boolean {
  return TAG.test(tag);
}

/** The canonical form of a tag set: unique, sorted (so `gpu,eu` and `eu,gpu` are one set). */
export function normalizeTags(tags: readonly string[] | undefined): string[] {
  return [...new Set(tags ?? [])].sort();
}

/** The key of a tag set: its canonical tags joined with `,` (`''` for no tags). */
export function tagSetKey(tags: readonly string[] | undefined): string {
  return normalizeTags(tags).join(',');
}

/** The tag set a {@link tagSetKey} names. */
export function tagsOfKey(key: string): string[] {
  return key === '' ? [] : key.split(',');
}

/** Whether an executor with `executorTags` may run an execution that requires `required`. */
export function canTakeTags(
  executorTags: readonly string[],
  required: readonly string[] | undefined,
): boolean {
  const have = new Set(executorTags);
  return (required ?? []).every((tag) => have.has(tag));
}
