/**
 * Training schedules as plain numbers (GUIDE §5): the consistency-weight ramp w(t) and the poly
 * learning-rate decay. Iterations count from 0.
 */
import { TracocoError } from '../errors.js';

export type RampupType = 'sigmoid' | 'linear';

/** exp(−5 (1 − clip(current, 0, length)/length)²); 1 when length is 0 (no ramp). */
export function sigmoidRampup(current: number, length: number): number {
  checkFinite(current, 'current');
  checkNonNegative(length, 'length');
  if (length === 0) return 1;
  const phase = 1 - clip(current, 0, length) / length;
  return Math.exp(-5 * phase * phase);
}

/** clip(current, 0, length)/length; 1 when length is 0 (no ramp). */
export function linearRampup(current: number, length: number): number {
  checkFinite(current, 'current');
  checkNonNegative(length, 'length');
  if (length === 0) return 1;
  return clip(current, 0, length) / length;
}

export interface ConsistencyWeightOptions {
  /** Final weight (config `unsup_weight`). */
  unsupWeight: number;
  /** Ramp length in iterations (rampup_length epochs × iterations per epoch). */
  rampupIterations: number;
  type?: RampupType;
  /** The weight is 0 while iteration ≤ startIteration (config `rampup_start` × iterations per epoch). */
  startIteration?: number;
}

/**
 * w(t) = unsupWeight × ramp(t, rampupIterations), 0 while t ≤ startIteration (as the reference).
 * The ramp runs on t itself, not t − start, matching GUIDE's w(t).
 */
export function consistencyWeight(iteration: number, options: ConsistencyWeightOptions): number {
  const { unsupWeight, rampupIterations, type = 'sigmoid', startIteration = 0 } = options;
  checkFinite(iteration, 'iteration');
  checkNonNegative(unsupWeight, 'unsupWeight');
  checkFinite(startIteration, 'startIteration');
  if (type !== 'sigmoid' && type !== 'linear') {
    throw new TracocoError(`unknown ramp-up '${String(type)}' (expected sigmoid or linear)`, { field: 'rampup' });
  }
  if (iteration <= startIteration) return 0;
  const ramp = type === 'sigmoid' ? sigmoidRampup : linearRampup;
  return unsupWeight * ramp(iteration, rampupIterations);
}

/** base × (1 − iteration/total)^power, 0 from the end on (iteration ≥ total). */
export function polyLearningRate(base: number, iteration: number, total: number, power = 0.9): number {
  checkNonNegative(base, 'lr');
  checkFinite(iteration, 'iteration');
  checkNonNegative(power, 'lr_power');
  if (!(total > 0) || !Number.isFinite(total)) {
    throw new TracocoError(`must be a positive number of iterations, got ${total}`, { field: 'max_iterations' });
  }
  const remaining = 1 - clip(iteration, 0, total) / total;
  return remaining === 0 ? 0 : base * Math.pow(remaining, power);
}

function clip(x: number, lo: number, hi: number): number {
  return Math.min(Math.max(x, lo), hi);
}

function checkFinite(value: number, field: string): void {
  if (!Number.isFinite(value)) throw new TracocoError(`must be a finite number, got ${value}`, { field });
}

function checkNonNegative(value: number, field: string): void {
  if (!Number.isFinite(value) || value < 0) throw new TracocoError(`must be a finite number ≥ 0, got ${value}`, { field });
}
