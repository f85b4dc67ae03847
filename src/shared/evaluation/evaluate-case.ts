/**
 * The reference evaluation protocol for one case (GUIDE §5): eval-mode sliding-window inference
 * (min-max normalised input, softmax averaged over windows, argmax), optional removal of
 * 26-connected components under 8000 voxels, then Dice/Jaccard/95HD/ASD in voxels. With more
 * than two classes each foreground class is scored and the scores averaged.
 *
 * A model trained at `data.scale` ≠ 1 predicts on the image resampled to its training scale; the
 * probabilities are resampled back to the stored grid (trilinear) before the argmax, so the
 * metrics are always those of the stored labels (GUIDE §4).
 */
import { argmaxLabels, slidingWindowPredict, type WindowPredictor } from '../inference/index.js';
import { normalizeMinMax } from '../data/intensity.js';
import { resampleLinear, scaledShape } from '../data/resample.js';
import { caseMetrics, meanMetrics, removeSmallComponents, DEFAULT_MIN_COMPONENT_VOXELS, type SegmentationMetrics } from '../metrics/index.js';
import type { Shape3 } from '../volume.js';

export type InputNormalization = 'minmax' | 'none';

export interface EvaluationSettings {
  patch: Shape3;
  strideXY: number;
  strideZ: number;
  /** Windows per forward. */
  batch: number;
  postProcess: boolean;
  /** 'minmax' (default: the reference testing transform) rescales the image to [0, 1] first. */
  normalize?: InputNormalization;
  /** The training scale (`data.scale`, default 1). */
  scale?: number;
}

export interface EvaluatedCase {
  metrics: SegmentationMetrics & { id: string };
  /** Predicted labels [X, Y, Z]. */
  prediction: Uint8Array;
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
  if (settings.postProcess) prediction = postProcessLabels(prediction, c.shape, classes);
  return { metrics: { id: c.id, ...scoreLabels(prediction, c.label, c.shape, classes) }, prediction };
}

/** Class probabilities `[X, Y, Z, classes]` on the stored grid of `c`, predicted at `settings.scale`. */
export async function predictAtScale(predict: WindowPredictor, c: Omit<EvaluationCase, 'label'>, settings: EvaluationSettings): Promise<{ classes: number; probabilities: Float32Array }> {
  const scale = settings.scale ?? 1;
  const grid = scale === 1 ? c.shape : scaledShape(c.shape, scale);
  const resampled = scale === 1 ? c.image : resampleLinear(c.image, c.shape, grid);
  const image = (settings.normalize ?? 'minmax') === 'minmax' ? normalizeMinMax(resampled) : resampled;
  const result = await slidingWindowPredict(predict, image, grid, {
    patch: settings.patch,
    strideXY: settings.strideXY,
    strideZ: settings.strideZ,
    batch: settings.batch,
    source: c.id,
  });
  const probabilities = scale === 1 ? result.values : resampleLinear(result.values, grid, c.shape, result.classes);
  return { classes: result.classes, probabilities };
}

/** Metrics of a predicted label map against the reference (foreground classes averaged). */
export function scoreLabels(prediction: Uint8Array, label: Uint8Array, shape: Shape3, classes: number): SegmentationMetrics {
  const perClass: SegmentationMetrics[] = [];
  for (let k = 1; k < Math.max(2, classes); k++) {
    perClass.push(caseMetrics(binaryMask(prediction, k), binaryMask(label, k), shape));
  }
  return perClass.length === 1 ? perClass[0]! : meanMetrics(perClass);
}

/** The reference post-processing, per foreground class. */
export function postProcessLabels(labels: Uint8Array, shape: Shape3, classes: number): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let k = 1; k < Math.max(2, classes); k++) {
    const kept = removeSmallComponents(binaryMask(labels, k), shape, DEFAULT_MIN_COMPONENT_VOXELS);
    for (let i = 0; i < out.length; i++) if (kept[i]) out[i] = k;
  }
  return out;
}

function binaryMask(labels: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = labels[i] === k ? 1 : 0;
  return out;
}
