/**
 * Native kernel failures: a call the addon accepted but could not complete (oneDNN refused the
 * primitive, an allocation failed). The cpu kernel then computes the result, so training goes on,
 * but a failure is never silent: each distinct (kernel, reason) is logged once, and every one is
 * counted (`tracoco_native_failures_total{kernel}`).
 */
import { createLogger } from '../log.js';

const counts: Record<string, number> = {};
const logged = new Set<string>();
const logger = createLogger({ component: 'native' });

export function reportNativeFailure(kernel: string, reason: string, fallback = 'cpu kernel'): void {
  counts[kernel] = (counts[kernel] ?? 0) + 1;
  const key = `${kernel}\u0000${reason}`;
  if (logged.has(key)) return;
  logged.add(key);
  logger.warn('native.failure', { kernel, reason, fallback });
}

/** Failures so far, per kernel name. */
export function nativeFailureCounts(): Record<string, number> {
  return { ...counts };
}
