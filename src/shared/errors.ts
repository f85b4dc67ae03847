/**
 * One error type for every user-facing failure: it names what is at fault (a file, a
 * config field, a CLI flag or a wire message) so the CLI can print one clear line.
 */
export interface ErrorContext {
  file?: string;
  field?: string;
  flag?: string;
  message?: string;
}

export class TracocoError extends Error {
  readonly context: ErrorContext;
  constructor(reason: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(formatReason(reason, context), options);
    this.name = 'TracocoError';
    this.context = context;
  }
}

function formatReason(reason: string, ctx: ErrorContext): string {
  const where: string[] = [];
  if (ctx.file) where.push(ctx.file);
  if (ctx.field) where.push(`field '${ctx.field}'`);
  if (ctx.flag) where.push(`flag ${ctx.flag}`);
  if (ctx.message) where.push(`message '${ctx.message}'`);
  return where.length > 0 ? `${where.join(', ')}: ${reason}` : reason;
}

/** Wraps an unknown failure while reading `file` into a TracocoError naming that file. */
export function fileError(file: string, reason: string, cause?: unknown): TracocoError {
  const detail = cause instanceof Error && cause.message ? ` (${cause.message})` : '';
  return new TracocoError(`${reason}${detail}`, { file }, { cause });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
