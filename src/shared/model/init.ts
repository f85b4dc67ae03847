/**
 * PyTorch's default initialisation of Conv3d / ConvTranspose3d, drawn from a seeded `Random`.
 *
 * `reset_parameters` uses kaiming_uniform_(a=sqrt(5)) for the weight, i.e. U(-b, b) with
 * b = 1/sqrt(fan_in), and U(-b, b) with the same b for the bias, where fan_in is computed from
 * the weight in PyTorch layout as `shape[1] * prod(kernel)` (for ConvTranspose3d that is
 * out_channels * prod(kernel), as in PyTorch). Norm layers start at weight 1, bias 0.
 */
import type { Random } from '../random.js';
import { elementCount } from '../volume.js';

/** fan_in of a conv weight given in PyTorch layout (`[out,in,k...]` or `[in,out,k...]`). */
export function torchFanIn(torchShape: readonly number[]): number {
  return elementCount(torchShape.slice(1));
}

/** U(-1/sqrt(fan_in), 1/sqrt(fan_in)) values for a weight (PyTorch layout) and its bias. */
export function torchDefaultConvInit(
  random: Random,
  torchWeightShape: readonly number[],
  biasLength: number,
): { weight: Float32Array; bias: Float32Array } {
  const bound = 1 / Math.sqrt(torchFanIn(torchWeightShape));
  const weight = new Float32Array(elementCount(torchWeightShape));
  for (let i = 0; i < weight.length; i++) weight[i] = random.range(-bound, bound);
  const bias = new Float32Array(biasLength);
  for (let i = 0; i < bias.length; i++) bias[i] = random.range(-bound, bound);
  return { weight, bias };
}
