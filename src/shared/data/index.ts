/** Data pipeline: phantoms, batch sampling, augmentation plans, translation pairs, CutMix, batches. */
export * from './augment-plan.js';
export * from './batch.js';
export * from './batch-sampler.js';
export * from './cutmix.js';
export * from './geometry.js';
export * from './intensity.js';
export * from './phantom.js';
export * from './phantom-cardiac.js';
export * from './phantom-kinds.js';
export * from './phantom-tumour.js';
export * from './translation-pair.js';
export * from './resample.js';
export * from './slice.js';
export * from './slice-sampler.js';
