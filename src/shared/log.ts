/**
 * Structured logging: one JSON object per line on stderr, so logs stay machine-readable while
 * stdout is reserved for command output (`--json`). Context fields (run id, step, role) are
 * bound once with `child` and repeated on every line.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
}

function envLevel(): LogLevel {
  const v = (process.env.TRACOCO_LOG_LEVEL ?? 'info').toLowerCase();
  return v in ORDER ? (v as LogLevel) : 'info';
}

export function createLogger(bound: LogFields = {}, options: LoggerOptions = {}): Logger {
  const threshold = ORDER[options.level ?? envLevel()];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const emit = (level: LogLevel, event: string, fields?: LogFields) => {
    if (ORDER[level] < threshold) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...bound, ...fields }));
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger({ ...bound, ...fields }, options),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = createLogger({}, { write: () => {} });
