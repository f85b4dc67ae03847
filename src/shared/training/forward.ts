/**
 * The training step's forward on `[N, X, Y, Z, C]` batches for every network: a 3D network takes
 * them as they are; a 2D network (unet2d) trains on axial slices, which the batch holds as patches
 * of depth 1, so `[N, X, Y, 1, C]` is reshaped to `[N, X, Y, C]` around its forward and back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import { ARCHITECTURE_FACTS, type ForwardOptions, type SegmentationNetwork } from '../model/index.js';

export function forward3d(model: SegmentationNetwork, x: tf.Tensor5D, opts: ForwardOptions): tf.Tensor5D {
  if (ARCHITECTURE_FACTS[model.architecture].spatialDims === 3) return model.forward(x, opts) as tf.Tensor5D;
  const [n, X, Y, Z, c] = x.shape;
  if (Z !== 1) {
    throw new TracocoError(`a ${model.architecture} trains on axial slices, i.e. patches of depth 1; got [${X}, ${Y}, ${Z}]`, { field: 'data.patch' });
  }
  return tf.tidy(() => {
    const logits = model.forward(tf.reshape(x, [n, X, Y, c]), opts) as tf.Tensor4D;
    return tf.reshape(logits, [n, X, Y, 1, logits.shape[3]]);
  });
}
