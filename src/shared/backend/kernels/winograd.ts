/**
 * Evaluation's 3×3×3 stride-1 convolutions as Winograd F(2×2×2, 3×3×3) (native/src/winograd.h):
 * 64 products per 2×2×2 output tile and channel pair instead of 216. Against oneDNN 2.6's direct
 * convolution with the same bias + ReLU epilogue, per layer of one VNet-16 window
 * (`native/tools/winograd-layers.cc`, 2 cores, AVX-512, two runs): 16→16 channels 1.01–1.22×,
 * 32→32 1.62–1.83×, 64→64 2.06–2.13×, 128→128 1.96–2.03×, but 256→256 0.50–0.61× (its 5×7×7
 * activations are 48 tiles for two threads, and its transformed filter is 16 MB): hence the
 * channel limit. Training's convolutions and their gradients stay oneDNN's.
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { reportNativeFailure } from '../failures.js';
import type { NativeAddon } from '../native-addon.js';
import { disabledNativeKernels } from './disabled.js';

/** The path's name in `TRACOCO_NATIVE_DISABLE` and in failure reports. */
export const WINOGRAD = 'TracocoWinograd';
/** Channel counts must be multiples of the kernel's vector width (native kWinogradLanes)… */
export const WINOGRAD_LANES = 16;
/** …and at most this (see above). */
export const WINOGRAD_MAX_CHANNELS = 128;

/** Transformed filters, per filter tensor data (a variable's assign gives it new data). */
const transformed = new WeakMap<object, Float32Array>();
let calls = 0;

/** Whether the addon's Winograd kernel is worth calling (built, and vectorised for this host). */
const vectorised = new WeakMap<NativeAddon, boolean>();
export function winogradAvailable(addon: NativeAddon): boolean {
  let known = vectorised.get(addon);
  if (known === undefined) {
    known = typeof addon.winogradConv3d === 'function' && addon.versions().winograd === true;
    vectorised.set(addon, known);
  }
  return known;
}

/** Convolutions computed by the Winograd path so far (tests, profiling). */
export function winogradCalls(): number {
  return calls;
}

/** A 3×3×3 conv, stride 1, padding 1 on every side, channel counts that fit. */
export function winogradApplies(info: backend_util.Conv3DInfo): boolean {
  const channelsFit = (c: number) => c % WINOGRAD_LANES === 0 && c > 0 && c <= WINOGRAD_MAX_CHANNELS;
  const { padInfo: p } = info;
  return (
    [info.filterDepth, info.filterHeight, info.filterWidth].every((k) => k === 3) &&
    [info.strideDepth, info.strideHeight, info.strideWidth, info.dilationDepth, info.dilationHeight, info.dilationWidth].every((v) => v === 1) &&
    [p.front, p.back, p.top, p.bottom, p.left, p.right].every((v) => v === 1) &&
    channelsFit(info.inChannels) &&
    channelsFit(info.outChannels)
  );
}

/**
 * relu?(conv + bias) into `out` through the Winograd kernel; false when it does not apply (or is
 * disabled, or the addon lacks it or was built without AVX-512, or it failed: reported), and the
 * caller runs oneDNN.
 */
export function runWinograd(addon: NativeAddon, info: backend_util.Conv3DInfo, x: Float32Array, filter: TensorInfo, filterValues: Float32Array, out: Float32Array, bias: Float32Array, relu: boolean): boolean {
  if (!winogradApplies(info) || !winogradAvailable(addon) || disabledNativeKernels().has(WINOGRAD)) return false;
  const { batchSize, inDepth, inHeight, inWidth, inChannels, outChannels } = info;
  try {
    let u = transformed.get(filter.dataId);
    if (!u) {
      u = addon.winogradFilter(filterValues, inChannels, outChannels);
      transformed.set(filter.dataId, u);
    }
    addon.winogradConv3d(x, Int32Array.of(batchSize, inDepth, inHeight, inWidth, inChannels), u, outChannels, bias, relu, out);
  } catch (err) {
    reportNativeFailure(WINOGRAD, `${(err as Error).message} (input ${batchSize}x${inDepth}x${inHeight}x${inWidth}x${inChannels}, ${outChannels} out)`, 'oneDNN');
    return false;
  }
  calls++;
  return true;
}
