/**
 * A benchmark is a named function from options to a JSON-serialisable record of figures.
 * `tracoco bench <name> --json` and `npm run bench` (running `node dist/bench/<name>.js`) share it.
 */
import { pathToFileURL } from 'node:url';

export interface BenchOption {
  /** commander flags, e.g. '--patch <XxYxZ>' */
  flags: string;
  description: string;
  parse?: (value: string) => unknown;
  default?: unknown;
}

export interface BenchSpec<O extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  description: string;
  options: BenchOption[];
  run(options: O): Promise<Record<string, unknown>>;
}

/** Runs the spec with its defaults when the file is executed directly, printing one JSON line. */
export function runIfMain(metaUrl: string, spec: BenchSpec<any>): void {
  const entry = process.argv[1];
  if (!entry || pathToFileURL(entry).href !== metaUrl) return;
  const defaults: Record<string, unknown> = {};
  for (const o of spec.options) {
    const m = /--([a-z0-9-]+)/.exec(o.flags);
    if (m && o.default !== undefined) defaults[camel(m[1]!)] = o.default;
  }
  spec.run(defaults).then(
    (result) => process.stdout.write(JSON.stringify({ bench: spec.name, ...result }) + '\n'),
    (err) => {
      process.stderr.write(`bench ${spec.name}: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
