import { commaList } from '../../names.js';

/**
 * Native kernels left out at registration: `TRACOCO_NATIVE_DISABLE=Add,Multiply` keeps those on
 * the cpu kernels (profiling, or isolating a numerical difference). Kernels without a cpu
 * counterpart (the fused BatchNorm) are then not registered, so callers use their composites.
 * Paths inside a kernel take names here too (`TracocoWinograd`).
 */
export function disabledNativeKernels(env: NodeJS.ProcessEnv = process.env): Set<string> {
  return new Set(commaList(env.TRACOCO_NATIVE_DISABLE ?? ''));
}
