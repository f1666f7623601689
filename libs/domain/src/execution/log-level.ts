import { Type } from '@sinclair/typebox';

/**
 * Levels of an execution's structured log, least severe first: a `level` filter keeps the
 * named level and every later one. (The process logger's levels are `LOG_LEVEL_NAMES`.)
 */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** `debug`, `info`, `warn` or `error`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** JSON Schema of a log level (log entries on the wire, the `level` query filter). */
export const LogLevelSchema = Type.Union(LOG_LEVELS.map((level) => Type.Literal(level)));

/** The levels at or above `min`, in order (what a minimum-level filter admits). */
export function levelsFrom(min: LogLevel): readonly LogLevel[] {
  return LOG_LEVELS.slice(LOG_LEVELS.indexOf(min));
}
