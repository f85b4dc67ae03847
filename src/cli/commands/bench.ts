import { Command } from 'commander';
import { printResult } from '../options.js';
import { benchSpecs } from '../../../bench/registry.js';

/** `tracoco bench <name> [--json]`: performance figures (GUIDE §9). */
export function registerBench(program: Command): void {
  const bench = program.command('bench').description('run a benchmark and print its figures');
  for (const spec of benchSpecs) {
    const sub = bench.command(spec.name).description(spec.description).option('--json', 'print one JSON object on stdout');
    for (const o of spec.options) {
      if (o.parse) sub.option(o.flags, o.description, o.parse as (v: string) => unknown, o.default);
      else sub.option(o.flags, o.description, o.default as string | undefined);
    }
    sub.action(async (opts: Record<string, unknown>) => {
      const result = { bench: spec.name, ...(await spec.run(opts)) };
      printResult(Boolean(opts.json), result, () => JSON.stringify(result, null, 2));
    });
  }
}
