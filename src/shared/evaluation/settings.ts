/** The evaluation protocol and cadence of a run, read from its config in one place. */
import type { TracocoConfig } from '../config/index.js';
import type { EvaluationSettings } from './evaluate-case.js';

export function evaluationSettingsFrom(config: TracocoConfig): EvaluationSettings {
  const e = config.eval;
  const sliceSize = config.model.architecture === 'unet2d' ? ([config.data.slice_size[0], config.data.slice_size[1]] as const) : undefined;
  return { patch: e.patch, strideXY: e.stride_xy, strideZ: e.stride_z, batch: e.batch, postProcess: e.post_process, scale: config.data.scale, sliceSize };
}

/**
 * Whether a periodic evaluation is due after iteration k: every `every_epochs` epochs when set
 * (the published LA cadence, 25), else every `every` iterations, in both cases only past
 * `start`. The run's last iteration is always evaluated by the caller.
 */
export function periodicEvalDue(e: TracocoConfig['eval'], iterationsPerEpoch: number, k: number): boolean {
  if (k <= e.start) return false;
  const every = e.every_epochs !== null ? e.every_epochs * iterationsPerEpoch : e.every;
  return every > 0 && k % every === 0;
}
