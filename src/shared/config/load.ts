/**
 * Resolves a run's configuration: schema defaults < preset < YAML file < CLI flags < `--set`
 * overrides, then validates once. Errors name the file and the dotted field at fault.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { TracocoError } from '../errors.js';
import { configSchema, type ConfigInput, type TracocoConfig } from './schema.js';
import { presets, presetNames } from './presets.js';

type Plain = Record<string, unknown>;

/** A YAML file may start from a preset with `preset: NAME`. */
export interface ConfigSource {
  /** Preset name or path of a YAML file. */
  configArg: string;
  /** Partial config from dedicated CLI flags (e.g. --max-iterations). */
  flags?: ConfigInput;
  /** `dotted.path=value` overrides; values are parsed as YAML scalars/flow collections. */
  set?: string[];
}

export function loadConfig(source: ConfigSource): TracocoConfig {
  const { base, origin } = readBase(source.configArg);
  let merged: Plain = base;
  if (source.flags) merged = deepMerge(merged, source.flags as Plain);
  for (const assignment of source.set ?? []) merged = deepMerge(merged, parseAssignment(assignment));
  return validateConfig(merged, origin);
}

export function validateConfig(input: unknown, origin: string): TracocoConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  const keys = (issue as { keys?: string[] }).keys;
  const field = keys?.length ? [path, keys[0]].filter(Boolean).join('.') : path || '(root)';
  const reason = issue.code === 'unrecognized_keys' ? 'unknown config field' : issue.message;
  throw new TracocoError(reason, { file: origin, field });
}

/** The resolved config as YAML (for `--print-config` and the run directory). */
export function configToYaml(config: TracocoConfig): string {
  return stringifyYaml(config);
}

function readBase(arg: string): { base: Plain; origin: string } {
  if (arg in presets) return { base: structuredClone(presets[arg]) as Plain, origin: `preset '${arg}'` };
  if (!existsSync(arg)) {
    throw new TracocoError(`not a preset (${presetNames().join(', ')}) and no such file`, { file: arg });
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(arg, 'utf8'));
  } catch (err) {
    throw new TracocoError(`invalid YAML: ${(err as Error).message.split('\n')[0]}`, { file: arg });
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new TracocoError('expected a mapping at the top level', { file: arg });
  const { preset, ...rest } = doc as Plain;
  if (preset === undefined) return { base: rest, origin: arg };
  if (typeof preset !== 'string' || !(preset in presets)) {
    throw new TracocoError(`unknown preset '${String(preset)}' (expected ${presetNames().join(', ')})`, { file: arg, field: 'preset' });
  }
  return { base: deepMerge(structuredClone(presets[preset]) as Plain, rest), origin: arg };
}

function parseAssignment(assignment: string): Plain {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new TracocoError(`expected dotted.path=value, got '${assignment}'`, { flag: '--set' });
  const path = assignment.slice(0, eq).trim().split('.');
  let value: unknown;
  try {
    value = parseYaml(assignment.slice(eq + 1));
  } catch {
    throw new TracocoError(`cannot parse value in '${assignment}'`, { flag: '--set' });
  }
  const out: Plain = {};
  let node = out;
  path.forEach((key, i) => {
    if (i === path.length - 1) node[key] = value;
    else node = node[key] = {} as Plain;
  });
  return out;
}

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Recursive merge where `over` wins; arrays and scalars replace. */
export function deepMerge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as Plain, v) : v;
  }
  return out;
}
