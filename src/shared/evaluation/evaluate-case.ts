/**
 * The reference evaluation protocol for one case (GUIDE §5): eval-mode sliding-window inference
 * (min-max normalised input, softmax averaged over windows, argmax), optional post-processing
 * (26-connected components under 8000 voxels dropped, or all but the largest), then
 * Dice/Jaccard/95HD/ASD in voxels. Each foreground class 1…C−1 is scored (GUIDE §5b) and the
 * scores averaged; with two classes the mean is class 1's scores.
 *
 * A model trained at `data.scale` ≠ 1 predicts on the image resampled to its training scale; the
 * probabilities are resampled back to the stored grid (trilinear) before the argmax, so the
 * metrics are always those of the stored labels (GUIDE §4).
 */
import { argmaxLabels, slidingWindowPredict, type WindowPredictor } from '../inference/index.js';
import { normalizeMinMax } from '../data/intensity.js';
import { resampleLinear, scaledShape } from '../data/resample.js';
import { largestComponentPerClass, removeSmallComponents, type SegmentationMetrics } from '../metrics/index.js';
import type { PostProcessing } from '../names.js';
import { perClassMetrics, type ClassMetrics } from '../metrics/class-metrics.js';
import type { Shape3 } from '../volume.js';

export type InputNormalization = 'minmax' | 'none';

export interface EvaluationSettings {
  patch: Shape3;
  strideXY: number;
  strideZ: number;
  /** Windows per forward. */
  batch: number;
  postProcess: PostProcessing;
  /** 'minmax' (default: the reference testing transform) rescales the image to [0, 1] first. */
  normalize?: InputNormalization;
  /** The training scale (`data.scale`, default 1). */
  scale?: number;
  /**
   * A 2D network's slice size (`data.slice_size`): each axial slice is resized to it before the
   * prediction and the probabilities back after (the published ACDC evaluation); with `scale`.
   */
  sliceSize?: readonly [number, number];
}

/** A case's scores: the mean over the foreground classes, and each class's. */
export type CaseScores = SegmentationMetrics & { id: string; classes: ClassMetrics[] };

export interface EvaluatedCase {
  metrics: CaseScores;
  /** Predicted labels [X, Y, Z]. */
  prediction: Uint8Array;
  /** Class probabilities [X, Y, Z, classes] on the stored grid, before post-processing. */
  probabilities: Float32Array;
}

export interface EvaluationCase {
  id: string;
  image: Float32Array;
  label: Uint8Array;
  shape: Shape3;
}

/** `predict` is any window predictor, e.g. `evalModePredictor(model)`. */
export async function evaluateCase(predict: WindowPredictor, c: EvaluationCase, settings: EvaluationSettings): Promise<EvaluatedCase> {
  const { classes, probabilities } = await predictAtScale(predict, c, settings);
  let prediction = argmaxLabels(probabilities, classes);
  if (settings.postProcess !== 'none') prediction = postProcessLabels(prediction, c.shape, classes, settings.postProcess);
  return { metrics: { id: c.id, ...scoreLabels(prediction, c.label, c.shape, classes) }, prediction, probabilities };
}

/** Class probabilities `[X, Y, Z, classes]` on the stored grid of `c`, predicted at `settings.scale`. */
export async function predictAtScale(predict: WindowPredictor, c: Omit<EvaluationCase, 'label'>, settings: EvaluationSettings): Promise<{ classes: number; probabilities: Float32Array }> {
  const scale = settings.scale ?? 1;
  const scaled = scale === 1 ? c.shape : scaledShape(c.shape, scale);
  const grid: Shape3 = settings.sliceSize ? [settings.sliceSize[0], settings.sliceSize[1], scaled[2]] : scaled;
  const same = grid.every((v, i) => v === c.shape[i]);
  const resampled = same ? c.image : resampleLinear(c.image, c.shape, grid);
  const image = (settings.normalize ?? 'minmax') === 'minmax' ? normalizeMinMax(resampled) : resampled;
  const result = await slidingWindowPredict(predict, image, grid, {
    patch: settings.patch,
    strideXY: settings.strideXY,
    strideZ: settings.strideZ,
    batch: settings.batch,
    source: c.id,
  });
  const probabilities = same ? result.values : resampleLinear(result.values, grid, c.shape, result.classes);
  return { classes: result.classes, probabilities };
}

/**
 * Metrics of a predicted label map against the reference: the mean over foreground classes and
 * each class's. A label value ≥ classes is a TracocoError naming `label`.
 */
export function scoreLabels(prediction: Uint8Array, label: Uint8Array, shape: Shape3, classes: number): SegmentationMetrics & { classes: ClassMetrics[] } {
  const scored = perClassMetrics(prediction, label, shape, Math.max(2, classes));
  const [only] = scored.classes;
  // One foreground class: its own numbers, not a mean of one (bit-identical to the binary scores).
  const mean = scored.classes.length === 1 ? { dice: only!.dice, jaccard: only!.jaccard, hd95: only!.hd95, asd: only!.asd } : scored.mean;
  return { ...mean, classes: scored.classes };
}

/** Post-processing per foreground class (the reference's `small-components` by default). */
export function postProcessLabels(labels: Uint8Array, shape: Shape3, classes: number, mode: PostProcessing = 'small-components'): Uint8Array {
  if (mode === 'none') return labels.slice();
  if (mode === 'largest-component') return largestComponentPerClass(labels, shape, Math.max(2, classes));
  const out = new Uint8Array(labels.length);
  for (let k = 1; k < Math.max(2, classes); k++) {
    const kept = removeSmallComponents(binaryMask(labels, k), shape);
    for (let i = 0; i < out.length; i++) if (kept[i]) out[i] = k;
  }
  return out;
}

function binaryMask(labels: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i] === k ? 1 : 0;
  return out;
}
