/**
 * Elementwise kernels: broadcasting binary ops (arithmetic -> float32, comparisons -> bool) and
 * unary ops, on float32 tensors. Other dtypes go to the cpu kernel.
 */
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../native-addon.js';
import { broadcastLoop } from './shapes.js';
import { boolOf, float32Of, int32Of, outputFloat32, outputInt32, outputUint8 } from './tensors.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';
import { elementCount, sameShape } from '../../volume.js';

/** Kernel name -> op code in native/src/elementwise.cc; `bool` ops write a Uint8Array. */
const BINARY_OPS: Record<string, { code: number; bool: boolean }> = {
  Add: { code: 0, bool: false },
  Sub: { code: 1, bool: false },
  Multiply: { code: 2, bool: false },
  RealDiv: { code: 3, bool: false },
  Maximum: { code: 4, bool: false },
  Minimum: { code: 5, bool: false },
  SquaredDifference: { code: 6, bool: false },
  Greater: { code: 16, bool: true },
  GreaterEqual: { code: 17, bool: true },
  Less: { code: 18, bool: true },
  LessEqual: { code: 19, bool: true },
  Equal: { code: 20, bool: true },
  NotEqual: { code: 21, bool: true },
};

function binaryKernel(kernelName: string, op: { code: number; bool: boolean }): NativeKernel {
  const run = ({ inputs, backend }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const av = float32Of(backend, a);
    const bv = float32Of(backend, b);
    if (!av || !bv) return null;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = elementCount(outShape);
    const out = op.bool ? outputUint8(n) : outputFloat32(n);
    if (n > 0) {
      const loop = broadcastLoop(a.shape, b.shape, outShape);
      addon.binary(op.code, Int32Array.from(loop.dims), Int32Array.from(loop.aStrides), Int32Array.from(loop.bStrides), av, bv, out);
    }
    return backend.makeTensorInfo(outShape, op.bool ? 'bool' : 'float32', out);
  };
  return { kernelName, run };
}

/** Kernel name -> op code; `params` reads the op's attributes (Step alpha, clip bounds). */
const UNARY_OPS: Record<string, { code: number; bool?: boolean; params?: (attrs: Record<string, unknown>) => [number, number] }> = {
  Relu: { code: 0 },
  Relu6: { code: 1 },
  Exp: { code: 2 },
  Log: { code: 3 },
  Log1p: { code: 4 },
  Neg: { code: 5 },
  Abs: { code: 6 },
  Sqrt: { code: 7 },
  Rsqrt: { code: 8 },
  Square: { code: 9 },
  Reciprocal: { code: 10 },
  Sigmoid: { code: 11 },
  Tanh: { code: 12 },
  Step: { code: 13, params: (a) => [Number(a.alpha ?? 0), 0] },
  Floor: { code: 14 },
  Ceil: { code: 15 },
  Sign: { code: 16 },
  ClipByValue: { code: 17, params: (a) => [Number(a.clipValueMin), Number(a.clipValueMax)] },
  IsNan: { code: 32, bool: true },
};

function unaryKernel(kernelName: string, op: (typeof UNARY_OPS)[string]): NativeKernel {
  const run = ({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null => {
    const { x } = inputs as { x: TensorInfo };
    const xv = float32Of(backend, x);
    if (!xv) return null;
    const [p0, p1] = op.params ? op.params((attrs ?? {}) as Record<string, unknown>) : [0, 0];
    const out = op.bool ? outputUint8(xv.length) : outputFloat32(xv.length);
    if (xv.length > 0) addon.unary(op.code, xv, out, p0, p1);
    return backend.makeTensorInfo([...x.shape], op.bool ? 'bool' : 'float32', out);
  };
  return { kernelName, run };
}

/**
 * Cast. tfjs's cpu kernel turns bool/int32 -> float32 into a relabelled view of the same Uint8Array
 * or Int32Array; here it becomes a real Float32Array so later native kernels can read it.
 * float32 -> int32 / bool convert natively; other casts go to the cpu kernel.
 */
function cast({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { x } = inputs as { x: TensorInfo };
  const dtype = (attrs as { dtype: string }).dtype;
  const shape = [...x.shape];
  if (dtype === 'float32' && (x.dtype === 'bool' || x.dtype === 'int32')) {
    const xv = x.dtype === 'bool' ? boolOf(backend, x) : int32Of(backend, x);
    if (!xv) return null;
    const out = outputFloat32(xv.length);
    if (xv.length > 0) addon.cast(x.dtype === 'bool' ? 0 : 1, xv, out);
    return backend.makeTensorInfo(shape, 'float32', out);
  }
  if (x.dtype === 'float32' && (dtype === 'int32' || dtype === 'bool')) {
    const xv = float32Of(backend, x);
    if (!xv) return null;
    const out = dtype === 'int32' ? outputInt32(xv.length) : outputUint8(xv.length);
    if (xv.length > 0) addon.cast(dtype === 'int32' ? 2 : 3, xv, out);
    return backend.makeTensorInfo(shape, dtype, out);
  }
  return null;
}

/**
 * LogicalAnd / LogicalOr of two same-shape bool tensors as one plain loop (the cpu kernel's generic
 * broadcasting path took 6 ms per 1.5M elements; clipByValue's gradient runs it on every clamp of
 * the losses). Broadcasting calls go to the cpu kernel.
 */
function logicalKernel(kernelName: string, combine: (a: number, b: number) => number): NativeKernel {
  const run = ({ inputs, backend }: NativeKernelArgs): TensorInfo | null => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const [av, bv] = [boolOf(backend, a), boolOf(backend, b)];
    if (!av || !bv || av.length !== bv.length || !sameShape(a.shape, b.shape)) return null;
    const out = outputUint8(av.length);
    for (let i = 0; i < av.length; i++) out[i] = combine(av[i]!, bv[i]!);
    return backend.makeTensorInfo([...a.shape], 'bool', out);
  };
  return { kernelName, run };
}

/** Select (tf.where) with a bool condition and float32 branches all of one shape, as one loop. */
function select({ inputs, backend }: NativeKernelArgs): TensorInfo | null {
  const { condition, t, e } = inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
  const [cv, tv, ev] = [boolOf(backend, condition), float32Of(backend, t), float32Of(backend, e)];
  if (!cv || !tv || !ev || !sameShape(condition.shape, t.shape) || !sameShape(t.shape, e.shape)) return null;
  const out = outputFloat32(tv.length);
  for (let i = 0; i < tv.length; i++) out[i] = cv[i] ? tv[i]! : ev[i]!;
  return backend.makeTensorInfo([...t.shape], 'float32', out);
}

export const elementwiseKernels: NativeKernel[] = [
  logicalKernel('LogicalAnd', (a, b) => a & b),
  logicalKernel('LogicalOr', (a, b) => a | b),
  { kernelName: 'Select', run: select },
  { kernelName: 'Cast', run: cast },
  ...Object.entries(BINARY_OPS).map(([name, op]) => binaryKernel(name, op)),
  ...Object.entries(UNARY_OPS).map(([name, op]) => unaryKernel(name, op)),
];
