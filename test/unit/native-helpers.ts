/**
 * Shared by the native-*.test.ts files: whether the oneDNN addon is built (skip locally, fail in
 * CI, which installs libdnnl-dev), running one computation on the `native` and `cpu` backends,
 * and a NaN-aware closeness check.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Gradients live in the @tensorflow/tfjs bundle (tfjs-core registers none).
import '@tensorflow/tfjs';
import { initBackend, nativeKernelStats } from '../../src/shared/backend/index.js';
import { loadNativeAddon } from '../../src/shared/backend/native-addon.js';
import { Random } from '../../src/shared/random.js';

/** `skip` option for node:test: a reason when the addon is missing (an error under CI). */
export const skipUnlessNative: string | false = (() => {
  const load = loadNativeAddon();
  if (load.ok) return false;
  if (process.env.CI) throw new Error(`the native addon is required in CI: ${load.reason}`);
  return `native addon not available: ${load.reason}`;
})();

/** Registers the native backend (once) so both backends can be switched to. */
export async function setUpBackends(): Promise<void> {
  await initBackend('native');
}

export type Outputs = tf.Tensor | tf.Tensor[];

/**
 * Runs `build` on the native backend then on cpu and returns both results as plain arrays, with
 * how often each native kernel ran natively or fell back during the native run. `build` creates
 * its inputs itself (from seeded data) so each backend owns its tensors.
 */
export async function onBothBackends(build: () => Outputs): Promise<{ native: Float64Array[]; cpu: Float64Array[]; shapes: number[][]; dtypes: string[]; ran: Record<string, number>; fellBack: Record<string, number> }> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const results: { values: Float64Array; shape: number[]; dtype: string }[] = [];
    tf.tidy(() => {
      const out = build();
      for (const t of Array.isArray(out) ? out : [out]) {
        results.push({ values: Float64Array.from(t.dataSync() as ArrayLike<number>), shape: [...t.shape], dtype: t.dtype });
      }
    });
    return results;
  };
  const before = nativeKernelStats();
  const native = await run('native');
  const after = nativeKernelStats();
  const cpu = await run('cpu');
  await tf.setBackend('native');
  return {
    native: native.map((o) => o.values),
    cpu: cpu.map((o) => o.values),
    shapes: native.map((o, i) => {
      assert.deepEqual(o.shape, cpu[i]!.shape, `output ${i} shape`);
      assert.equal(o.dtype, cpu[i]!.dtype, `output ${i} dtype`);
      return o.shape;
    }),
    dtypes: native.map((o) => o.dtype),
    ran: delta(before.native, after.native),
    fellBack: delta(before.fallback, after.fallback),
  };
}

function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

/** |a - b| <= abs + rel * |b| elementwise; NaN matches NaN and infinities must match exactly. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { abs: number; rel?: number }, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      assert.ok(Number.isNaN(a) && Number.isNaN(e), `${label}[${i}]: ${a} vs ${e}`);
      continue;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      assert.equal(a, e, `${label}[${i}]`);
      continue;
    }
    const allowed = tol.abs + (tol.rel ?? 0) * Math.abs(e);
    assert.ok(Math.abs(a - e) <= allowed, `${label}[${i}]: ${a} vs ${e} (|diff| ${Math.abs(a - e)} > ${allowed})`);
  }
}

/**
 * Native and cpu results of `build` agree within `tol`, and `kernel` ran natively (`expect`
 * 'native') or was declined by the native kernel and computed by the cpu one ('fallback').
 */
export async function assertMatchesCpu(build: () => Outputs, tol: { abs: number; rel?: number }, kernel: string, label: string, expect: 'native' | 'fallback' = 'native'): Promise<void> {
  const r = await onBothBackends(build);
  r.native.forEach((v, i) => assertClose(v, r.cpu[i]!, tol, `${label} output ${i}`));
  const counts = `(ran ${JSON.stringify(r.ran)}, fell back ${JSON.stringify(r.fellBack)})`;
  if (expect === 'native') {
    assert.ok((r.ran[kernel] ?? 0) > 0, `${label}: ${kernel} did not run natively ${counts}`);
    assert.equal(r.fellBack[kernel] ?? 0, 0, `${label}: ${kernel} fell back to the cpu kernel`);
  } else {
    assert.ok((r.fellBack[kernel] ?? 0) > 0, `${label}: ${kernel} should have fallen back to the cpu kernel ${counts}`);
    assert.equal(r.ran[kernel] ?? 0, 0, `${label}: ${kernel} ran natively on inputs it does not support`);
  }
}

/** Seeded uniform values in [lo, hi). */
export function uniform(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  const r = new Random(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r.range(lo, hi);
  return out;
}

export function randomTensor(seed: number, shape: number[], lo = -1, hi = 1): tf.Tensor {
  return tf.tensor(uniform(seed, shape.reduce((a, b) => a * b, 1), lo, hi), shape, 'float32');
}
