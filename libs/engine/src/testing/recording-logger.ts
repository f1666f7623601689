import type { EngineLogger, LogFn } from '../ports.ts';

/** One line a {@link RecordingLogger} took. */
export interface RecordedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A logger for tests: keeps every line (children's too, with their bindings) in `lines`. */
export interface RecordingLogger extends EngineLogger {
  readonly lines: RecordedLine[];
}

/** A {@link RecordingLogger}; nothing is printed. */
export function createRecordingLogger(
  bindings: Record<string, unknown> = {},
  lines: RecordedLine[] = [],
): RecordingLogger {
  const at =
    (level: RecordedLine['level']): LogFn =>
    (fieldsOrMessage: object | string, message?: string) => {
      const fields = typeof fieldsOrMessage === 'string' ? {} : fieldsOrMessage;
      const text = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : (message ?? '');
      lines.push({ level, message: text, fields: { ...bindings, ...fields } });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => createRecordingLogger({ ...bindings, ...more }, lines),
  };
}
