/**
 * Every random decision of one training batch, drawn up front as a small JSON-able plan: the
 * cluster sends plans (not crops), and both workers of a pair build identical crops from them.
 * A slot's plan depends only on (seed, iteration, slot, its volume's shape, patch, options).
 *
 * Per slot, in the reference's order: rot90 k in 0..3 (x-y plane), flip axis, brightness factor,
 * then the translation pair, drawn on the volume's shape after rot90 and centred padding.
 * A slot of a 2D network (`slice` set) does all of this on its resized axial slice, a `[H, W, 1]`
 * volume, so its crops have depth 1 and its translation pair no z shift.
 */
import { TracocoError } from '../errors.js';
import { streamFor, type Random } from '../random.js';
import type { Shape3, Vec3 } from '../volume.js';
import { sampleCutMix, type CutMixParams } from './cutmix.js';
import { paddedShape, rotatedShape, type Box3 } from './geometry.js';
import { sampleTranslationPair, type TranslationMode } from './translation-pair.js';
import { checkSliceCut, sliceShape, type SliceCut } from './slice.js';

export interface AugmentOptions {
  /** Random rot90 by k in 0..3 in the x-y plane (LA). */
  rot90: boolean;
  /** Axes one of which is flipped (LA: x or y); empty disables flips. */
  flipAxes: readonly (0 | 1 | 2)[];
  /** Chance of flipping at all; the reference always flips one axis (1). */
  flipProbability: number;
  /** Brightness factor range U(a, b) after normalisation, clipped to [0, 1]; null disables it. */
  brightness: readonly [number, number] | null;
  translation: TranslationMode;
  /** Minimum overlap volume fraction for `symmetric` translation pairs. */
  minOverlap: number;
  /** How far s starts before f for `offset` translation pairs. */
  translationOffset: number;
}

/** The reference's Left Atrium pipeline. */
export const LA_AUGMENT: AugmentOptions = {
  rot90: true,
  flipAxes: [0, 1],
  flipProbability: 1,
  brightness: [0.75, 1.25],
  translation: 'reference',
  minOverlap: 0.5,
  translationOffset: 48,
};

export interface SamplePlan {
  /** The volume's shape as stored; the plan applies only to volumes of this shape. */
  shape: Vec3;
  rot90: 0 | 1 | 2 | 3;
  flipAxis: 0 | 1 | 2 | null;
  /** 1 when brightness is off. */
  brightness: number;
  /** Set for a 2D network: the slot is this axial slice, resized; the frame below is the slice's. */
  slice?: SliceCut;
  /** Shape after rot90 and padding: the frame of startF and startS. */
  frame: Vec3;
  startF: Vec3;
  startS: Vec3;
  overlapF: Box3;
  overlapS: Box3;
}

export interface BatchPlan {
  seed: number;
  iteration: number;
  patch: Vec3;
  samples: SamplePlan[];
  cutmix?: CutMixParams;
}

export function resolveAugmentOptions(options: Partial<AugmentOptions> = {}): AugmentOptions {
  const o = { ...LA_AUGMENT, ...options };
  if (!o.flipAxes.every((a) => a === 0 || a === 1 || a === 2)) throw new TracocoError('flip axes must be 0, 1 or 2', { field: 'flipAxes' });
  if (!(o.flipProbability >= 0 && o.flipProbability <= 1)) throw new TracocoError(`must be in [0, 1], got ${o.flipProbability}`, { field: 'flipProbability' });
  if (o.brightness !== null) {
    const [a, b] = o.brightness;
    if (!(Number.isFinite(a) && Number.isFinite(b) && a >= 0 && a <= b)) throw new TracocoError(`must be [a, b] with 0 <= a <= b, got [${a}, ${b}]`, { field: 'brightness' });
  }
  if (!(o.minOverlap >= 0 && o.minOverlap <= 1)) throw new TracocoError(`must be in [0, 1], got ${o.minOverlap}`, { field: 'minOverlap' });
  return o;
}

export function planSample(rng: Random, volumeShape: Shape3, patch: Shape3, options: Partial<AugmentOptions> = {}, slice?: SliceCut): SamplePlan {
  checkShape(volumeShape, 'shape');
  checkShape(patch, 'patch');
  if (slice) {
    checkSliceCut(slice, volumeShape);
    if (patch[2] !== 1) throw new TracocoError(`a 2D network trains on axial slices: the patch must have depth 1, got [${patch.join(', ')}]`, { field: 'data.patch' });
  }
  const o = resolveAugmentOptions(options);
  const rot90 = (o.rot90 ? rng.int(0, 4) : 0) as SamplePlan['rot90'];
  let flipAxis: SamplePlan['flipAxis'] = null;
  if (o.flipAxes.length > 0 && (o.flipProbability >= 1 || rng.uniform() < o.flipProbability)) {
    flipAxis = o.flipAxes[rng.int(0, o.flipAxes.length)]!;
  }
  const brightness = o.brightness === null ? 1 : rng.range(o.brightness[0], o.brightness[1]);
  const frame = paddedShape(rotatedShape(slice ? sliceShape(slice) : volumeShape, rot90), patch);
  const pair = sampleTranslationPair(frame, patch, rng, { mode: o.translation, minOverlap: o.minOverlap, offset: o.translationOffset });
  const cut = slice ? { slice: { z: slice.z, size: [slice.size[0], slice.size[1]] as const } } : {};
  return { shape: [...volumeShape], rot90, flipAxis, brightness, ...cut, frame: [...frame], ...pair };
}

/** The random stream of batch slot `slot` at `iteration`. */
export function slotStream(seed: number, iteration: number, slot: number): Random {
  return streamFor(seed, 'augment', iteration, slot);
}

/** Axial slices of a 2D network's batch: slot i is slice `z[i]` of its volume, resized to `size`. */
export interface SlicePlan {
  z: readonly number[];
  size: readonly [number, number];
}

/**
 * Plans for every slot of a batch (`shapes[i]` is slot i's volume shape), plus CutMix when asked;
 * with `slices`, each slot is one axial slice of its volume (a 2D network).
 */
export function planBatch(
  seed: number,
  iteration: number,
  shapes: readonly Shape3[],
  patch: Shape3,
  options: Partial<AugmentOptions> = {},
  cutmix = false,
  slices?: SlicePlan,
): BatchPlan {
  if (shapes.length === 0) throw new TracocoError('a batch needs at least one volume', { field: 'shapes' });
  if (slices && slices.z.length !== shapes.length) throw new TracocoError(`${slices.z.length} slice indices for ${shapes.length} slots`, { field: 'slices' });
  const cut = (slot: number): SliceCut | undefined => (slices ? { z: slices.z[slot]!, size: slices.size } : undefined);
  const samples = shapes.map((shape, slot) => planSample(slotStream(seed, iteration, slot), shape, patch, options, cut(slot)));
  const plan: BatchPlan = { seed, iteration, patch: [...patch], samples };
  if (cutmix) plan.cutmix = sampleCutMix(streamFor(seed, 'cutmix', iteration), shapes.length, patch);
  return plan;
}

function checkShape(shape: Shape3, field: string): void {
  if (shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v > 0)) {
    throw new TracocoError(`must be three positive integers, got [${shape.join(', ')}]`, { field });
  }
}
