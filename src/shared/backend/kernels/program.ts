/**
 * The inference program (contract in model/inference-program.ts) as one kernel: each step is the
 * fused conv (Winograd or oneDNN) or transposed conv, reading and writing intermediate activations
 * in an arena of this module's own. The arena outlives the call, so the next window of a
 * sliding-window evaluation writes into memory that is already mapped: a fresh 64 MB output per
 * layer costs about as much in first-touch page faults as the convolution itself. Only the last
 * step's output becomes a tfjs tensor; intermediates never escape, which is what makes reusing them
 * safe.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { INFERENCE_PROGRAM_KERNEL, type InferenceStep } from '../../model/inference-program.js';
import type { NativeAddon } from '../native-addon.js';
import { cpuInference, inferenceGeometry, runInference, type ConvEpilogue, type Shape5 } from './conv3d.js';
import { float32Of, outputFloat32 } from './tensors.js';
import type { NativeKernel, NativeKernelArgs } from './types.js';
import { elementCount } from '../../volume.js';

/** Grow-only buffers, one per arena slot (a slot holds one live activation at a time). */
const arena: Float32Array[] = [];

/** Bytes the arena holds (tests, memory reports). */
export function inferenceArenaBytes(): number {
  return arena.reduce((sum, b) => sum + b.byteLength, 0);
}

/** Frees the arena; the next program call maps its memory again. */
export function releaseInferenceArena(): void {
  arena.length = 0;
}

function slotBuffer(slot: number, elements: number): Float32Array {
  const have = arena[slot];
  if (!have || have.length < elements) arena[slot] = outputFloat32(elements);
  return arena[slot]!.subarray(0, elements);
}

/**
 * Arena slot per activation (activation 0, the input, and the last, the output, have none: -1):
 * an activation's slot is free again after the last step that reads it, and a step never writes
 * into a slot that one of its own inputs occupies.
 */
export function assignSlots(steps: readonly InferenceStep[]): number[] {
  const lastRead = new Array<number>(steps.length + 1).fill(-1);
  steps.forEach((s, i) => {
    for (const a of [s.input, s.skip]) if (a !== undefined) lastRead[a] = i;
  });
  const slots = new Array<number>(steps.length + 1).fill(-1);
  const free: number[] = [];
  let used = 0;
  for (let i = 0; i < steps.length - 1; i++) {
    slots[i + 1] = free.length > 0 ? free.pop()! : used++;
    // Activations read for the last time by step i are free once it has run.
    for (let a = 1; a <= i + 1; a++) if (lastRead[a] === i && slots[a]! >= 0) free.push(slots[a]!);
  }
  return slots;
}

function runProgram({ inputs, backend, attrs }: NativeKernelArgs, addon: NativeAddon): TensorInfo | null {
  const { steps } = attrs as unknown as { steps: InferenceStep[] };
  const x = inputs.x as TensorInfo;
  const xv = float32Of(backend, x);
  if (!xv || x.shape.length !== 5) return null;
  const slots = assignSlots(steps);
  const values: Float32Array[] = [xv];
  const shapes: Shape5[] = [x.shape as Shape5];
  let output: TensorInfo | null = null;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const [filter, bias] = [inputs[`w${i}`] as TensorInfo, inputs[`b${i}`] as TensorInfo];
    const [wv, bv] = [float32Of(backend, filter), float32Of(backend, bias)];
    if (!wv || !bv || filter.shape.length !== 5) return null;
    const g = inferenceGeometry(step.kind === 'up' ? 'transposedForward' : 'forward', shapes[step.input]!, filter.shape as Shape5, step.stride, step.stride === 1 ? 'same' : 'valid');
    if (bv.length !== g.outShape[4]) return null;
    const size = elementCount(g.outShape);
    const last = i === steps.length - 1;
    const out = last ? outputFloat32(size) : slotBuffer(slots[i + 1]!, size);
    const skip = step.skip === undefined ? undefined : values[step.skip]!;
    const epilogue: ConvEpilogue = { bias: bv, relu: step.relu, ...(skip ? { skip } : {}) };
    const input = values[step.input]!;
    if (!runInference(addon, g, input, filter, wv, out, epilogue)) {
      // Neither Winograd nor oneDNN ran the step (already reported): the cpu kernel's result, copied into place.
      const xInfo = backend.makeTensorInfo(shapes[step.input]!, 'float32', input);
      const y = cpuInference(backend, g, xInfo, filter, epilogue);
      out.set(float32Of(backend, y)!);
      backend.disposeIntermediateTensorInfo(y);
      backend.disposeIntermediateTensorInfo(xInfo);
    }
    values.push(out);
    shapes.push(g.outShape);
    if (last) output = backend.makeTensorInfo(g.outShape, 'float32', out);
  }
  return output;
}

export const programKernels: NativeKernel[] = [{ kernelName: INFERENCE_PROGRAM_KERNEL, run: runProgram }];
