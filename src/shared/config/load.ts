/**
 * Resolves a run's configuration: schema defaults < preset < the preset's published row for the
 * run's `data.labeled` < YAML file < CLI flags < `--set` overrides, then validates once. Errors
 * name the file and the dotted field at fault.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { TracocoError } from '../errors.js';
import { configSchema, dataSchema, type ConfigInput, type TracocoConfig } from './schema.js';
import { presetRow, presets, presetNames, type Preset } from './presets.js';

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
  const { preset, file, origin } = readBase(source.configArg);
  let over: Plain = file;
  if (source.flags) over = deepMerge(over, source.flags as Plain);
  for (const assignment of source.set ?? []) over = deepMerge(over, parseAssignment(assignment));
  return validateConfig(deepMerge(presetLayer(preset, over), over), origin);
}

/** The preset's base with its published row for the labelled count that `over` (or the preset) asks for. */
function presetLayer(preset: Preset | null, over: Plain): Plain {
  if (!preset) return {};
  const base = structuredClone(preset.base) as Plain;
  const labeled = [over, base].map((p) => (isPlain(p['data']) ? p['data']['labeled'] : undefined)).find((v) => v !== undefined);
  const row = presetRow(preset, typeof labeled === 'number' ? labeled : dataSchema.shape.labeled.parse(undefined));
  return row ? deepMerge(base, structuredClone(row.config) as Plain) : base;
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

function readBase(arg: string): { preset: Preset | null; file: Plain; origin: string } {
  if (arg in presets) return { preset: presets[arg]!, file: {}, origin: `preset '${arg}'` };
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
  if (preset === undefined) return { preset: null, file: rest, origin: arg };
  if (typeof preset !== 'string' || !(preset in presets)) {
    throw new TracocoError(`unknown preset '${String(preset)}' (expected ${presetNames().join(', ')})`, { file: arg, field: 'preset' });
  }
  return { preset: presets[preset]!, file: rest, origin: arg };
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
