/**
 * The run-config flags that `train`, `coordinator`, `experiment` and `demo` share, defined once: each maps a
 * flag onto a dotted config path, and `--set path=value` reaches every other field.
 */
import type { Command } from 'commander';
import { presetNames, type ConfigInput } from '../shared/config/index.js';
import { nonNegativeInt, positiveInt } from './options.js';

interface RunFlag {
  /** Commander's flag spec; its camel-cased name is the key in the parsed flags. */
  spec: string;
  key: string;
  help: string;
  parse?: (value: string) => number;
  path: string;
}

export const RUN_FLAGS = [
  { spec: '--data <dir>', key: 'data', help: "dataset root (overrides the config's data.root)", path: 'data.root' },
  { spec: '--labeled <n>', key: 'labeled', help: 'override data.labeled (presets pick their published row by it)', parse: positiveInt, path: 'data.labeled' },
  { spec: '--max-iterations <n>', key: 'maxIterations', help: 'override train.max_iterations', parse: positiveInt, path: 'train.max_iterations' },
  { spec: '--seed <s>', key: 'seed', help: 'override seed', parse: nonNegativeInt, path: 'seed' },
] as const satisfies readonly RunFlag[];

export type RunFlagKey = (typeof RUN_FLAGS)[number]['key'];
export type RunConfigFlags = Partial<Record<RunFlagKey, string | number>> & { set: string[] };

/** The required `--config <file|preset>` flag, with the preset names from the preset table. */
export function addConfigFlag(cmd: Command, role = ''): Command {
  return cmd.requiredOption('--config <file|preset>', `YAML config file or preset (${presetNames().join(', ')})${role}`);
}

/** Adds the shared run-config flags (less `omit`) and `--set` to a command. */
export function addRunConfigFlags(cmd: Command, omit: readonly RunFlagKey[] = []): Command {
  for (const f of RUN_FLAGS as readonly RunFlag[]) {
    if ((omit as readonly string[]).includes(f.key)) continue;
    if (f.parse) cmd.option(f.spec, f.help, f.parse);
    else cmd.option(f.spec, f.help);
  }
  return cmd.option('--set <path=value>', 'override any config field, e.g. --set train.lr=0.01 (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[]);
}

/** The config overrides the given flags ask for (unset flags contribute nothing). */
export function runConfigOverrides(flags: object): ConfigInput {
  const out: Record<string, unknown> = {};
  for (const f of RUN_FLAGS as readonly RunFlag[]) {
    const value = (flags as Record<string, unknown>)[f.key];
    if (value === undefined) continue;
    const keys = f.path.split('.');
    let node = out;
    keys.slice(0, -1).forEach((k) => (node = (node[k] ??= {}) as Record<string, unknown>));
    node[keys[keys.length - 1]!] = value;
  }
  return out as ConfigInput;
}
