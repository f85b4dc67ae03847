/** The tiny local-mode run the integration tests train: small enough for CI on 2 cores. */
import { validateConfig, type TracocoConfig } from '../../src/shared/config/index.js';

/** 16³ patches of 24×24×20 phantoms under `dataRoot`, 4 filters, 4 iterations; `overrides` replace whole sections. */
export function tinyLocalConfig(dataRoot: string, overrides: Record<string, unknown> = {}): TracocoConfig {
  return validateConfig(
    {
      name: 'tiny',
      seed: 11,
      data: { root: dataRoot, labeled: 2, patch: [16, 16, 16] },
      model: { filters: 4 },
      train: { batch_size: 4, max_iterations: 4, rampup_length: 1 },
      eval: { every: 2, split: 'test', patch: [16, 16, 16], stride_xy: 8, stride_z: 8, batch: 4 },
      checkpoint: { every: 2 },
      ...overrides,
    },
    'test',
  );
}
