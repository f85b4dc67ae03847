export { configSchema, type TracocoConfig, type ConfigInput } from './schema.js';
export { presets, presetNames } from './presets.js';
export { loadConfig, validateConfig, configToYaml, deepMerge, type ConfigSource } from './load.js';
