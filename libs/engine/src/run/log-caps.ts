import {
  capLogData,
  jsonHasUnstorableText,
  MAX_LOG_MESSAGE_BYTES,
  toStorableText,
  truncateText,
} from '@linkflow/domain';

/**
 * Postgres text and jsonb cannot hold NUL or lone surrogates; log lines drop or replace them
 * rather than fail the write.
 */
const stripNul = toStorableText;

/**
 * A node's log message as stored: at most `MAX_LOG_MESSAGE_BYTES` (with a note when cut) and
 * without NUL characters or lone surrogates.
 */
export function storableLogMessage(message: string): string {
  return stripNul(truncateText(message, MAX_LOG_MESSAGE_BYTES));
}

/**
 * A node's log `data` as stored: replaced by a short note when its JSON is over
 * `MAX_LOG_DATA_BYTES`, and with NUL characters and lone surrogates dropped or replaced in its strings.
 */
export function storableLogData(data: Record<string, unknown>): Record<string, unknown> {
  const json = JSON.stringify(data);
  const capped = capLogData(data, json);
  const cappedJson = capped === data ? json : JSON.stringify(capped);
  if (!jsonHasUnstorableText(cappedJson)) return capped;
  return JSON.parse(cappedJson, (_key, value: unknown) =>
    typeof value === 'string' ? stripNul(value) : value,
  ) as Record<string, unknown>;
}
