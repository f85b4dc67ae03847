/**
 * Conv3D and its two gradients (Conv3DBackpropInputV2 — also what conv3dTranspose runs — and
 * Conv3DBackpropFilterV2) through oneDNN, reading and writing tfjs's NDHWC activations and
 * [kd, kh, kw, in, out] filters in place. Dilated or channels-first convolutions, non-float32
 * tensors and empty shapes go to the cpu kernel.
 */
import { backend_util, getKernel, type TensorInfo } from '@tensorflow/tfjs-core';
import { CONV3D_BIAS_KERNEL, CONV3D_TRANSPOSE_BIAS_KERNEL, type Conv3dBiasAttrs } from '../../model/layers.js';
import { reportNativeFailure } from '../failures.js';
import type { NativeAddon } from '../native-addon.js';
import { float32Of, outputFloat32 } from './tensors.js';
import { runWinograd } from './winograd.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';
import { elementCount, sameShape } from '../../volume.js';

export const CONV_DIRECTIONS = ['forward', 'backwardData', 'backwardWeights'] as const;
export type ConvDirection = (typeof CONV_DIRECTIONS)[number];

/**
 * Memory layout the primitive computes in: `plain` uses tfjs's buffers directly; `blocked-weights`
 * reorders only the (small) filter to oneDNN's preferred blocked layout; `blocked` also reorders
 * activations in and out.
 */
export const CONV_LAYOUTS = ['plain', 'blocked-weights', 'blocked'] as const;
export type ConvLayout = (typeof CONV_LAYOUTS)[number];
/** A fixed layout, or `auto`: chosen per geometry by `autoLayout`. */
export type ConvLayoutChoice = ConvLayout | 'auto';
export type ConvLayouts = Record<ConvDirection, ConvLayoutChoice>;

export const DEFAULT_CONV_LAYOUTS: ConvLayouts = { forward: 'auto', backwardData: 'auto', backwardWeights: 'auto' };

/**
 * Measured with `bench/conv3d.ts` and per-layer timings of the VNet's shapes (2 cores, AVX-512):
 * `blocked-weights` (oneDNN's brgconv/jit kernels on NDHWC activations, only the filter reordered)
 * is fastest or within noise for the 3x3x3 and 2x2x2 convolutions in all three directions, 2-4x
 * faster than `plain` (gemm) and ahead of `blocked` (which pays activation reorders); 1x1x1
 * convolutions with few channels (the VNet's output layer, 16 -> 2) are memory-bound and, in
 * training, fastest on the plain gemm path. The fused inference op with its bias (`inference`) is
 * not: the VNet-16 output layer on a 112×112×80 window took 21.8 ms per window through gemm
 * against 5.6 ms through brgconv_1x1 (`bench eval`, 2026-12-03).
 */
export function autoLayout(info: backend_util.Conv3DInfo, inference = false): ConvLayout {
  const pointwise = info.filterDepth === 1 && info.filterHeight === 1 && info.filterWidth === 1;
  return pointwise && !inference && Math.min(info.inChannels, info.outChannels) < 16 ? 'plain' : 'blocked-weights';
}

let layouts: ConvLayouts = layoutsFromEnv(process.env.TRACOCO_NATIVE_CONV_LAYOUT);

/** `TRACOCO_NATIVE_CONV_LAYOUT=<layout>` forces one layout for all directions; unknown values are ignored. */
function layoutsFromEnv(value: string | undefined): ConvLayouts {
  if (value && (CONV_LAYOUTS as readonly string[]).includes(value)) {
    const l = value as ConvLayout;
    return { forward: l, backwardData: l, backwardWeights: l };
  }
  return { ...DEFAULT_CONV_LAYOUTS };
}

export function convLayouts(): ConvLayouts {
  return { ...layouts };
}

/** Overrides the layout per direction (benchmarks compare them). */
export function setConvLayouts(next: Partial<ConvLayouts>): void {
  layouts = { ...layouts, ...next };
}

function layoutFor(direction: ConvDirection, info: backend_util.Conv3DInfo, choice: ConvLayoutChoice = layouts[direction], inference = false): ConvLayout {
  return choice === 'auto' ? autoLayout(info, inference) : choice;
}

/**
 * What the addon computes: a direction of the conv, or (inference only) its transposed forward —
 * the backward-data result through oneDNN's deconvolution, which takes an epilogue; it follows the
 * backward-data layout choice.
 */
export type ConvOp = ConvDirection | 'transposedForward';

const DIRECTION_CODE: Record<ConvOp, number> = { forward: 0, backwardData: 1, backwardWeights: 2, transposedForward: 3 };
const LAYOUT_CODE: Record<ConvLayout, number> = { plain: 0, 'blocked-weights': 1, blocked: 2 };

/** The 21 numbers the addon reads: sizes, strides and the explicit front/back padding tfjs computed. */
export function convGeometry(info: backend_util.Conv3DInfo): Int32Array {
  const p = info.padInfo;
  return Int32Array.from([
    info.batchSize, info.inDepth, info.inHeight, info.inWidth, info.inChannels,
    info.outDepth, info.outHeight, info.outWidth, info.outChannels,
    info.filterDepth, info.filterHeight, info.filterWidth,
    info.strideDepth, info.strideHeight, info.strideWidth,
    p.front, p.top, p.left, p.back, p.bottom, p.right,
  ]);
}

function isUnitDilation(d: unknown): boolean {
  if (d === undefined || d === null) return true;
  if (typeof d === 'number') return d === 1;
  return Array.isArray(d) && d.every((v) => v === 1);
}

function usable(info: backend_util.Conv3DInfo): boolean {
  return elementCount(info.inShape) > 0 && elementCount(info.outShape) > 0 && elementCount(info.filterShape) > 0 && info.dilationDepth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
}

const KERNEL_NAME: Record<ConvOp, string> = { forward: 'Conv3D', backwardData: 'Conv3DBackpropInputV2', backwardWeights: 'Conv3DBackpropFilterV2', transposedForward: CONV3D_TRANSPOSE_BIAS_KERNEL };

/** An inference epilogue: the bias, then ReLU, then (transposed forward only) + `skip`. */
export interface ConvEpilogue {
  bias: Float32Array;
  relu: boolean;
  skip?: Float32Array;
}

/**
 * Runs one op (with an epilogue: inference) into `out` (a fresh array of that many elements when
 * a number); null when the addon fails (oneDNN refuses the geometry, memory runs out): the failure
 * is reported (logged once per reason, counted) and the caller falls back to the cpu kernel.
 */
export function runConv3d(
  addon: NativeAddon,
  op: ConvOp,
  info: backend_util.Conv3DInfo,
  a: Float32Array,
  b: Float32Array,
  outSizeOrBuffer: number | Float32Array,
  epilogue?: ConvEpilogue,
): Float32Array | null {
  const out = typeof outSizeOrBuffer === 'number' ? outputFloat32(outSizeOrBuffer) : outSizeOrBuffer;
  try {
    const flags = epilogue ? EPILOGUE_BIAS | (epilogue.relu ? EPILOGUE_RELU : 0) | (epilogue.skip ? EPILOGUE_SUM : 0) : 0;
    const layout = layoutFor(op === 'transposedForward' ? 'backwardData' : op, info, undefined, epilogue !== undefined);
    addon.conv3d(DIRECTION_CODE[op], LAYOUT_CODE[layout], convGeometry(info), a, b, out, flags, epilogue?.bias, epilogue?.skip);
  } catch (err) {
    const name = epilogue && op === 'forward' ? CONV3D_BIAS_KERNEL : KERNEL_NAME[op];
    reportNativeFailure(name, `${(err as Error).message} (geometry ${Array.from(convGeometry(info)).join(',')})`);
    return null;
  }
  return out;
}

// The addon's epilogue flags (native/src/conv3d.h).
const EPILOGUE_BIAS = 1;
const EPILOGUE_RELU = 2;
const EPILOGUE_SUM = 4;

/** oneDNN's implementation name for one direction and geometry (benchmarks report it). */
export function conv3dImplementation(addon: NativeAddon, direction: ConvDirection, info: backend_util.Conv3DInfo, layout?: ConvLayoutChoice): string {
  return addon.conv3dImpl(DIRECTION_CODE[direction], LAYOUT_CODE[layoutFor(direction, info, layout)], convGeometry(info));
}

function conv3dForward({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dilations } = (attrs ?? {}) as { strides: [number, number, number] | number; pad: 'valid' | 'same'; dataFormat?: string; dilations?: unknown };
  if ((dataFormat !== undefined && dataFormat !== 'NDHWC') || !isUnitDilation(dilations)) return null;
  const xv = float32Of(backend, x);
  const wv = float32Of(backend, filter);
  if (!xv || !wv || x.shape.length !== 5 || filter.shape.length !== 5) return null;
  const info = backend_util.computeConv3DInfo(x.shape as [number, number, number, number, number], filter.shape as [number, number, number, number, number], strides, 1, pad);
  if (!usable(info)) return null;
  const out = runConv3d(addon, 'forward', info, xv, wv, elementCount(info.outShape));
  return out ? backend.makeTensorInfo(info.outShape, 'float32', out) : null;
}

export type Shape5 = [number, number, number, number, number];

/** Where a fused inference op reads and writes: a conv of x, or the 2x2x2 stride-2 transposed conv of x. */
export interface InferenceGeometry {
  op: 'forward' | 'transposedForward';
  stride: 1 | 2;
  pad: 'same' | 'valid';
  /** The conv's geometry (for the transposed op: the conv from its output back to x). */
  info: backend_util.Conv3DInfo;
  outShape: Shape5;
}

export function inferenceGeometry(op: InferenceGeometry['op'], xShape: Shape5, filterShape: Shape5, stride: 1 | 2, pad: 'same' | 'valid'): InferenceGeometry {
  if (op === 'transposedForward') {
    const [n, d, h, w] = xShape;
    const outShape: Shape5 = [n, 2 * d, 2 * h, 2 * w, filterShape[3]];
    return { op, stride: 2, pad: 'valid', info: backend_util.computeConv3DInfo(outShape, filterShape, 2, 1, 'valid'), outShape };
  }
  const info = backend_util.computeConv3DInfo(xShape, filterShape, stride, 1, pad);
  return { op, stride, pad, info, outShape: info.outShape as Shape5 };
}

/**
 * A fused inference op into `out`: Winograd where it applies, else oneDNN; false when both refuse
 * (reported), for the caller's cpu fallback.
 */
export function runInference(addon: NativeAddon, g: InferenceGeometry, x: Float32Array, filter: TensorInfo, filterValues: Float32Array, out: Float32Array, epilogue: ConvEpilogue): boolean {
  const winograd = g.op === 'forward' && !epilogue.skip && runWinograd(addon, g.info, x, filter, filterValues, out, epilogue.bias, epilogue.relu);
  return winograd || runConv3d(addon, g.op, g.info, x, filterValues, out, epilogue) !== null;
}

/**
 * A fused inference op through the cpu kernel (Conv3D, or Conv3DBackpropInputV2 for the transposed
 * conv), the epilogue applied in place: for when oneDNN cannot run it. The caller owns the result.
 */
export function cpuInference(backend: NativeKernelArgs['backend'], g: InferenceGeometry, x: TensorInfo, filter: TensorInfo, epilogue: ConvEpilogue): TensorInfo {
  const y =
    g.op === 'transposedForward'
      ? getKernel('Conv3DBackpropInputV2', 'cpu')!.kernelFunc({ inputs: { dy: x, filter }, backend, attrs: { strides: 2, pad: 'valid', inputShape: g.outShape } })
      : getKernel('Conv3D', 'cpu')!.kernelFunc({ inputs: { x, filter }, backend, attrs: { strides: g.stride, pad: g.pad, dilations: 1 } });
  applyEpilogue(float32Of(backend, y as TensorInfo)!, epilogue);
  return y as TensorInfo;
}

/**
 * The fused inference conv (contract in model/layers.ts). When oneDNN cannot run it, the cpu
 * Conv3D kernel runs and the bias and ReLU are applied here, so a call never fails for want of
 * the fused primitive.
 */
function conv3dBiasForward({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { x, filter, bias } = inputs as { x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  const { strides, pad, relu } = attrs as unknown as Conv3dBiasAttrs;
  const [xv, wv, bv] = [float32Of(backend, x), float32Of(backend, filter), float32Of(backend, bias)];
  if (!xv || !wv || !bv || x.shape.length !== 5 || filter.shape.length !== 5) return null;
  const g = inferenceGeometry('forward', x.shape as Shape5, filter.shape as Shape5, strides, pad);
  if (!usable(g.info) || bv.length !== g.info.outChannels) return null;
  const epilogue = { bias: bv, relu: Boolean(relu) };
  const out = outputFloat32(elementCount(g.outShape));
  return runInference(addon, g, xv, filter, wv, out, epilogue) ? backend.makeTensorInfo(g.outShape, 'float32', out) : cpuInference(backend, g, x, filter, epilogue);
}

/**
 * The fused inference transposed conv (contract in model/layers.ts); the cpu kernel plus the
 * epilogue applied here when oneDNN cannot run it.
 */
function conv3dTransposeBiasForward({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { x, filter, bias, skip } = inputs as { x: TensorInfo; filter: TensorInfo; bias: TensorInfo; skip?: TensorInfo };
  const { relu } = attrs as unknown as { relu: boolean };
  const [xv, wv, bv] = [float32Of(backend, x), float32Of(backend, filter), float32Of(backend, bias)];
  const sv = skip ? float32Of(backend, skip) : undefined;
  if (!xv || !wv || !bv || sv === null || x.shape.length !== 5 || filter.shape.length !== 5) return null;
  const g = inferenceGeometry('transposedForward', x.shape as Shape5, filter.shape as Shape5, 2, 'valid');
  if (!usable(g.info) || !sameShape(g.info.outShape, x.shape) || bv.length !== g.outShape[4] || (skip && !sameShape(skip.shape, g.outShape))) return null;
  const epilogue: ConvEpilogue = { bias: bv, relu: Boolean(relu), ...(sv ? { skip: sv } : {}) };
  const out = runConv3d(addon, 'transposedForward', g.info, xv, wv, elementCount(g.outShape), epilogue);
  return out ? backend.makeTensorInfo(g.outShape, 'float32', out) : cpuInference(backend, g, x, filter, epilogue);
}

/** y = relu?(y + bias) (+ skip) in place: the epilogue when the cpu kernel computed the conv. */
function applyEpilogue(y: Float32Array, { bias, relu, skip }: ConvEpilogue): void {
  const c = bias.length;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]! + bias[i % c]!;
    y[i] = (relu && v < 0 ? 0 : v) + (skip ? skip[i]! : 0);
  }
}

function conv3dBackpropInput({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, inputShape } = (attrs ?? {}) as { strides: [number, number, number] | number; pad: 'valid' | 'same'; inputShape: number[] };
  const dyv = float32Of(backend, dy);
  const wv = float32Of(backend, filter);
  if (!dyv || !wv || inputShape?.length !== 5 || filter.shape.length !== 5) return null;
  const info = backend_util.computeConv3DInfo(inputShape as [number, number, number, number, number], filter.shape as [number, number, number, number, number], strides, 1, pad);
  if (!usable(info) || !sameShape(info.outShape, dy.shape)) return null;
  const out = runConv3d(addon, 'backwardData', info, dyv, wv, elementCount(info.inShape));
  return out ? backend.makeTensorInfo([...info.inShape], 'float32', out) : null;
}

function conv3dBackpropFilter({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, filterShape } = (attrs ?? {}) as { strides: [number, number, number] | number; pad: 'valid' | 'same'; filterShape: number[] };
  const xv = float32Of(backend, x);
  const dyv = float32Of(backend, dy);
  if (!xv || !dyv || x.shape.length !== 5 || filterShape?.length !== 5) return null;
  const info = backend_util.computeConv3DInfo(x.shape as [number, number, number, number, number], filterShape as [number, number, number, number, number], strides, 1, pad);
  if (!usable(info) || !sameShape(info.outShape, dy.shape)) return null;
  const out = runConv3d(addon, 'backwardWeights', info, xv, dyv, elementCount(filterShape));
  return out ? backend.makeTensorInfo([...filterShape], 'float32', out) : null;
}

export const conv3dKernels: NativeKernel[] = [
  { kernelName: 'Conv3D', run: conv3dForward },
  { kernelName: CONV3D_BIAS_KERNEL, run: conv3dBiasForward },
  { kernelName: CONV3D_TRANSPOSE_BIAS_KERNEL, run: conv3dTransposeBiasForward },
  { kernelName: 'Conv3DBackpropInputV2', run: conv3dBackpropInput },
  { kernelName: 'Conv3DBackpropFilterV2', run: conv3dBackpropFilter },
];
