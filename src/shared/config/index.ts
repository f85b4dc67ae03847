export { configSchema, type TracocoConfig, type ConfigInput } from './schema.js';
export { presets, presetNames, presetRow, type Preset, type PresetRow } from './presets.js';
export { loadConfig, validateConfig, configToYaml, deepMerge, type ConfigSource } from './load.js';
