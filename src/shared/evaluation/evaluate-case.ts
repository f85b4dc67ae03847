/**
 * The reference evaluation protocol for one case (GUIDE §5): eval-mode sliding-window inference
 * (min-max normalised input, softmax averaged over windows, argmax), optional removal of
 * 26-connected components under 8000 voxels, then Dice/Jaccard/95HD/ASD in voxels. With more
 * than two classes each foreground class is scored and the scores averaged.
 */
import type { VNet } from '../model/index.js';
import { slidingWindowPredict, type InputNormalization } from '../inference/index.js';
import { caseMetrics, meanMetrics, removeSmallComponents, DEFAULT_MIN_COMPONENT_VOXELS, type SegmentationMetrics } from '../metrics/index.js';
import type { Shape3 } from '../volume.js';

export interface EvaluationSettings {
  patch: Shape3;
  strideXY: number;
  strideZ: number;
  /** Windows per forward. */
  batch: number;
  postProcess: boolean;
  normalize?: InputNormalization;
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

export async function evaluateCase(model: VNet, c: EvaluationCase, settings: EvaluationSettings): Promise<EvaluatedCase> {
  const result = await slidingWindowPredict(model, c.image, c.shape, {
    patch: settings.patch,
    strideXY: settings.strideXY,
    strideZ: settings.strideZ,
    batch: settings.batch,
    normalize: settings.normalize ?? 'minmax',
    source: c.id,
  });
  let prediction = result.labels;
  if (settings.postProcess) prediction = postProcessLabels(prediction, c.shape, result.classes);
  return { metrics: { id: c.id, ...scoreLabels(prediction, c.label, c.shape, result.classes) }, prediction };
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
