import type { BenchSpec } from './lib/spec.js';

/**
 * Every benchmark available as `tracoco bench <name>`. Each module exports a `spec` whose `run`
 * imports its heavy dependencies lazily, so listing them costs nothing.
 */
export const benchSpecs: BenchSpec<any>[] = [];
