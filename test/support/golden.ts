/**
 * Golden fixtures (GUIDE §8): every `*.json` in TRACOCO_GOLDEN_DIR whose `kind` a test knows.
 * Tensors are `{shape, data}` flat row-major arrays in PyTorch layout (NCDHW).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { goldenDir } from './env.js';

export interface GoldenTensor {
  shape: number[];
  dtype?: string;
  data: number[];
}

export interface Tolerance {
  abs: number;
  rel?: number;
}

/** A `*_forward` fixture: eval-mode logits of the `.pth` named in `checkpoint`; `model` describes it. */
export interface ForwardFixture<M> {
  checkpoint: string;
  model: M;
  inputs: { x: GoldenTensor };
  expected: { logits: GoldenTensor };
  tolerance: Tolerance;
}

/** A `*_train_grad` fixture: train-mode logits, the supervised loss and its terms, selected gradients (and statistics). */
export interface TrainFixture<M> {
  checkpoint: string;
  model: M;
  inputs: { x: GoldenTensor; labels: GoldenTensor };
  expected: { logits: GoldenTensor; loss: number; ce: number; dice: number; grads: Record<string, GoldenTensor> } & Record<string, unknown>;
  tolerance: Tolerance;
}

export interface GoldenFile<T = any> {
  file: string;
  doc: T;
}

/** Skip reason for node:test when the golden directory is absent. */
export const skipUnlessGolden: string | false = existsSync(goldenDir) ? false : `golden directory not found at ${goldenDir}`;

/** All golden files of a kind (by their `kind` field), sorted by name. */
export function goldenFilesOfKind<T = any>(kind: string): GoldenFile<T>[] {
  if (!existsSync(goldenDir)) return [];
  const out: GoldenFile<T>[] = [];
  for (const name of readdirSync(goldenDir).filter((n) => n.endsWith('.json')).sort()) {
    const file = join(goldenDir, name);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { kind?: string };
    if (doc.kind === kind) out.push({ file, doc: doc as T });
  }
  return out;
}

export function toFloat32(t: GoldenTensor): Float32Array {
  return Float32Array.from(t.data);
}

/** Whether |a-b| <= abs + rel*|b| elementwise; returns the worst offender for messages. */
export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: { abs: number; rel?: number },
): { ok: boolean; worstIndex: number; worstDiff: number; maxAbsDiff: number } {
  if (actual.length !== expected.length) return { ok: false, worstIndex: -1, worstDiff: Infinity, maxAbsDiff: Infinity };
  let ok = true;
  let worstIndex = -1;
  let worstExcess = -Infinity;
  let maxAbsDiff = 0;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    const allowed = tol.abs + (tol.rel ?? 0) * Math.abs(expected[i]!);
    if (!(diff <= allowed)) ok = false;
    if (diff - allowed > worstExcess) {
      worstExcess = diff - allowed;
      worstIndex = i;
    }
    if (diff > maxAbsDiff || Number.isNaN(diff)) maxAbsDiff = diff;
  }
  return { ok, worstIndex, worstDiff: worstIndex >= 0 ? Math.abs(actual[worstIndex]! - expected[worstIndex]!) : 0, maxAbsDiff };
}

/** Reports how many golden cases a test checked (shown by the test reporter). */
export function reportChecked(t: { diagnostic(message: string): void }, kind: string, files: number, cases: number): void {
  t.diagnostic(`golden ${kind}: checked ${cases} case(s) from ${files} file(s) in ${goldenDir}`);
}

/** ‖actual − expected‖₂ / ‖expected‖₂ (how far a gradient is off as a whole). */
export function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff2 = 0;
  let norm2 = 0;
  for (let i = 0; i < expected.length; i++) {
    diff2 += (actual[i]! - expected[i]!) ** 2;
    norm2 += expected[i]! ** 2;
  }
  return Math.sqrt(diff2 / Math.max(norm2, 1e-30));
}
