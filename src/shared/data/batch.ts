/**
 * Builds a training batch from volumes and a `BatchPlan`: per slot rot90/flip -> min-max normalise
 * -> brightness -> pad -> crop f and s, exactly as those steps composed (test/unit/data-batch
 * checks it against geometry.ts and intensity.ts), but fused: each crop reads its rows straight
 * from the stored volume, and the intensity maps run on the crop only. Padding is filled with the
 * volume's minimum so normalisation turns it into the reference's zeros. A slot planned as an
 * axial slice (2D network) first cuts and resizes that slice and normalises it on its own range,
 * as the reference's ACDC pipeline normalises each stored slice.
 */
import { TracocoError } from '../errors.js';
import { sameShape, type Shape3 } from '../volume.js';
import type { BatchPlan, SamplePlan } from './augment-plan.js';
import { cropOriented, type Box3 } from './geometry.js';
import { intensityRange, normalizeMinMax, scaleBrightness, type IntensityRange } from './intensity.js';
import { imageSlice, labelSlice, sliceShape } from './slice.js';

export interface BatchCase {
  image: Float32Array;
  /** null for unlabelled slots (their label crops are zeros). */
  label: Uint8Array | null;
  shape: Shape3;
}

export interface Batch {
  /** [B, x, y, z, 1]. */
  shape: [number, number, number, number, number];
  /** Crops f and s, [B, x, y, z, 1] row-major. */
  f: Float32Array;
  s: Float32Array;
  /** Label crops, [B, x, y, z]. */
  labelF: Uint8Array;
  labelS: Uint8Array;
  overlapF: Box3[];
  overlapS: Box3[];
}

/**
 * `reuse`: a batch from an earlier call whose buffers are overwritten when they have the right
 * sizes (steady-state training allocates nothing); `ranges`: per-case intensity ranges when the
 * caller has them cached (else computed from each image).
 */
export function buildBatch(cases: readonly BatchCase[], plan: BatchPlan, reuse?: Batch, ranges?: readonly (IntensityRange | undefined)[]): Batch {
  if (cases.length !== plan.samples.length) throw new TracocoError(`plan has ${plan.samples.length} slots, got ${cases.length} cases`, { field: 'cases' });
  const patch: Shape3 = [plan.patch[0], plan.patch[1], plan.patch[2]];
  const B = cases.length;
  const voxels = patch[0] * patch[1] * patch[2];
  const batch = allocate(B, patch, reuse);
  for (let b = 0; b < B; b++) {
    const sample = plan.samples[b]!;
    checkCase(cases[b]!, sample, b);
    const c = sample.slice ? sliceCase(cases[b]!, sample.slice) : cases[b]!;
    const range = (sample.slice ? undefined : ranges?.[b]) ?? intensityRange(c.image);
    const orientation = { rot90: sample.rot90, flipAxis: sample.flipAxis };
    for (const [out, start] of [[batch.f, sample.startF], [batch.s, sample.startS]] as const) {
      cropOriented(c.image, c.shape, orientation, start, patch, range.min, out, b * voxels);
      const crop = out.subarray(b * voxels, (b + 1) * voxels);
      normalizeMinMax(crop, range, crop);
      if (sample.brightness !== 1) scaleBrightness(crop, sample.brightness, crop);
    }
    for (const [out, start] of [[batch.labelF, sample.startF], [batch.labelS, sample.startS]] as const) {
      if (c.label) cropOriented(c.label, c.shape, orientation, start, patch, 0, out, b * voxels);
      else out.fill(0, b * voxels, (b + 1) * voxels);
    }
    batch.overlapF[b] = sample.overlapF;
    batch.overlapS[b] = sample.overlapS;
  }
  return batch;
}

/** The slot's axial slice as a `[H, W, 1]` case. */
function sliceCase(c: BatchCase, cut: NonNullable<SamplePlan['slice']>): BatchCase {
  return { image: imageSlice(c.image, c.shape, cut), label: c.label ? labelSlice(c.label, c.shape, cut) : null, shape: sliceShape(cut) };
}

function allocate(B: number, patch: Shape3, reuse: Batch | undefined): Batch {
  const shape: Batch['shape'] = [B, patch[0], patch[1], patch[2], 1];
  const n = B * patch[0] * patch[1] * patch[2];
  const fits = reuse !== undefined && reuse.f.length === n && reuse.s.length === n && reuse.labelF.length === n && reuse.labelS.length === n;
  if (fits) return { ...reuse, shape, overlapF: new Array<Box3>(B), overlapS: new Array<Box3>(B) };
  return {
    shape,
    f: new Float32Array(n),
    s: new Float32Array(n),
    labelF: new Uint8Array(n),
    labelS: new Uint8Array(n),
    overlapF: new Array<Box3>(B),
    overlapS: new Array<Box3>(B),
  };
}

function checkCase(c: BatchCase, sample: SamplePlan, slot: number): void {
  const field = `cases[${slot}]`;
  if (!sameShape(c.shape, sample.shape)) {
    throw new TracocoError(`shape [${c.shape.join(', ')}] differs from the plan's [${sample.shape.join(', ')}]`, { field });
  }
  const n = c.shape[0] * c.shape[1] * c.shape[2];
  if (c.image.length !== n) throw new TracocoError(`image has ${c.image.length} voxels, shape needs ${n}`, { field });
  if (c.label && c.label.length !== n) throw new TracocoError(`label has ${c.label.length} voxels, shape needs ${n}`, { field });
}
