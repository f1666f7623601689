import type { RunError } from './error-types.ts';

/** Longest error message kept (UTF-8 bytes, the note included): the contract's 8 KiB. */
export const MAX_ERROR_MESSAGE_BYTES = 8 * 1024;
/** Longest log entry message kept (UTF-8 bytes, the note included). */
export const MAX_LOG_MESSAGE_BYTES = 8 * 1024;
/** Largest log entry `data` kept, serialised as JSON; larger data is replaced by a note. */
export const MAX_LOG_DATA_BYTES = 64 * 1024;

/** Room kept for the note appended to a truncated text. */
const NOTE_ROOM = 64;

/** Whether the UTF-16 units at `i` and `i + 1` form a surrogate pair (one 4-byte character). */
function isPairAt(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  if (code < 0xd800 || code >= 0xdc00) return false;
  const next = text.charCodeAt(i + 1);
  return next >= 0xdc00 && next < 0xe000;
}

/** UTF-8 bytes of the character at `i` (a lone surrogate encodes as U+FFFD, 3 bytes). */
function widthAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return isPairAt(text, i) ? 4 : 3;
}

/** Non-ASCII runs: the only places where UTF-8 bytes and UTF-16 units differ. */
const NON_ASCII = /[\u0080-\uffff]+/g;

/**
 * UTF-8 length of `text` without encoding it (what `Buffer.byteLength` answers). ASCII is
 * skipped by a regex scan, several times faster than a character loop on a 50 MB message.
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (const [run] of text.matchAll(NON_ASCII)) {
    for (let i = 0; i < run.length; i += 1) {
      const width = widthAt(run, i);
      // A pair is 2 units and 4 bytes; any other non-ASCII unit is 1 unit and 2 or 3 bytes.
      bytes += width === 4 ? 2 : width - 1;
      if (width === 4) i += 1;
    }
  }
  return bytes;
}

/** The longest prefix of `text` that fits `maxBytes` of UTF-8, never splitting a pair. */
function prefixWithin(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    const width = widthAt(text, end);
    if (bytes + width > maxBytes) break;
    bytes += width;
    end += width === 4 ? 2 : 1;
  }
  return text.slice(0, end);
}

/**
 * `text` unchanged when it fits `maxBytes` of UTF-8, else its head followed by
 * `… [truncated, <total> bytes]`, the whole within `maxBytes`. Errors and logs are
 * truncated where they are produced so a 50 MB message is never copied into Postgres,
 * Redis or a log line.
 */
export function truncateText(text: string, maxBytes = MAX_ERROR_MESSAGE_BYTES): string {
  // Each UTF-16 unit is at most 3 UTF-8 bytes: short texts skip the byte count.
  if (text.length * 3 <= maxBytes) return text;
  const total = utf8Length(text);
  if (total <= maxBytes) return text;
  const head = prefixWithin(text, Math.max(maxBytes - NOTE_ROOM, 0));
  return `${head}… [truncated, ${total} bytes]`;
}

/** A run error with its message, and its causes' messages, truncated. */
export function truncateRunError(error: RunError, maxBytes = MAX_ERROR_MESSAGE_BYTES): RunError {
  const message = truncateText(error.message, maxBytes);
  const cause = error.cause === undefined ? undefined : truncateRunError(error.cause, maxBytes);
  if (message === error.message && cause === error.cause) return error;
  return { ...error, message, ...(cause === undefined ? {} : { cause }) };
}

/**
 * Log entry `data` whose JSON (`json`, already serialised by the caller) fits `maxBytes`,
 * else a small note in its place saying how large it was and which keys it had.
 */
export function capLogData(
  data: Readonly<Record<string, unknown>>,
  json: string,
  maxBytes = MAX_LOG_DATA_BYTES,
): Readonly<Record<string, unknown>> {
  if (json.length * 3 <= maxBytes) return data;
  const bytes = utf8Length(json);
  if (bytes <= maxBytes) return data;
  return {
    truncated: `log data of ${bytes} bytes was over the ${maxBytes}-byte limit and was dropped`,
    keys: Object.keys(data)
      .slice(0, 20)
      .map((key) => truncateText(key, 100)),
  };
}
