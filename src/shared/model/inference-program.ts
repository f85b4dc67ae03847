/**
 * A network's eval forward as a straight-line program of fused conv steps, which a backend may run
 * as one kernel that keeps the intermediate activations in memory of its own (native: reused from
 * window to window, so a sliding-window evaluation does not page-fault ~1 GB of fresh outputs per
 * window). Without that kernel the steps run one by one as `conv3dBiasInference` /
 * `upsample2xInference`, so every backend computes the same thing.
 *
 *   'TracocoInferenceProgram' inputs {x, w0, b0, w1, b1, ...}, attrs {steps: InferenceStep[]}
 *
 * Activation 0 is `x`; step i reads earlier activations and produces activation i + 1; the last
 * step's output is the result.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendHasKernel, conv3dBiasInference, upsample2xInference } from './layers.js';

export const INFERENCE_PROGRAM_KERNEL = 'TracocoInferenceProgram';

export interface InferenceStep {
  /** `conv`: Conv3d (k3 p1 at stride 1, k2 at stride 2, or 1x1x1), weight [k,k,k,in,out]; `up`: ConvTranspose3d k2 s2, weight [2,2,2,out,in]. */
  kind: 'conv' | 'up';
  /** The activation read. */
  input: number;
  stride: 1 | 2;
  relu: boolean;
  /** An activation added after the ReLU (`up` only: the VNet's skip connections). */
  skip?: number;
}

export interface InferenceProgram {
  steps: InferenceStep[];
  /** Per step: its filter and bias (BatchNorm already folded in). */
  weights: tf.Tensor5D[];
  biases: tf.Tensor1D[];
}

/** Appends steps to a program under construction; each returns the activation it produces. */
export class InferenceProgramBuilder {
  private readonly program: InferenceProgram = { steps: [], weights: [], biases: [] };

  conv(input: number, weight: tf.Tensor5D, bias: tf.Tensor1D, stride: 1 | 2, relu: boolean): number {
    return this.push({ kind: 'conv', input, stride, relu }, weight, bias);
  }

  up(input: number, weight: tf.Tensor5D, bias: tf.Tensor1D, skip: number): number {
    return this.push({ kind: 'up', input, stride: 2, relu: true, skip }, weight, bias);
  }

  build(): InferenceProgram {
    return this.program;
  }

  private push(step: InferenceStep, weight: tf.Tensor5D, bias: tf.Tensor1D): number {
    this.program.steps.push(step);
    this.program.weights.push(weight);
    this.program.biases.push(bias);
    return this.program.steps.length;
  }
}

/** Checks that every step reads only activations that exist before it (a RangeError otherwise). */
export function checkInferenceProgram(program: InferenceProgram): void {
  const { steps, weights, biases } = program;
  if (steps.length === 0) throw new RangeError('inference program: no steps');
  if (weights.length !== steps.length || biases.length !== steps.length) {
    throw new RangeError(`inference program: ${steps.length} steps but ${weights.length} weights and ${biases.length} biases`);
  }
  steps.forEach((s, i) => {
    for (const [what, a] of [['input', s.input], ['skip', s.skip]] as const) {
      if (a !== undefined && !(Number.isInteger(a) && a >= 0 && a <= i)) {
        throw new RangeError(`inference program: step ${i} reads ${what} activation ${a}, which does not exist yet`);
      }
    }
    if (s.skip !== undefined && s.kind !== 'up') throw new RangeError(`inference program: step ${i} is a conv with a skip`);
  });
}

/** Runs `program` on `x`: the backend's program kernel when it has one, else step by step. */
export function runInferenceProgram(x: tf.Tensor5D, program: InferenceProgram): tf.Tensor5D {
  checkInferenceProgram(program);
  if (backendHasKernel(INFERENCE_PROGRAM_KERNEL)) {
    const inputs: Record<string, tf.Tensor> = { x };
    program.weights.forEach((w, i) => {
      inputs[`w${i}`] = w;
      inputs[`b${i}`] = program.biases[i]!;
    });
    // Attrs are copied so the kernel never sees a caller's later mutation.
    return tf.engine().runKernel(INFERENCE_PROGRAM_KERNEL, inputs, { steps: program.steps.map((s) => ({ ...s })) } as never) as tf.Tensor5D;
  }
  return tf.tidy(() => {
    const activations: tf.Tensor5D[] = [x];
    program.steps.forEach((s, i) => {
      const [input, weight, bias] = [activations[s.input]!, program.weights[i]!, program.biases[i]!];
      activations.push(s.kind === 'up' ? upsample2xInference(input, weight, bias, s.relu, s.skip === undefined ? undefined : activations[s.skip]) : conv3dBiasInference(input, weight, bias, s.stride, s.relu));
    });
    return activations[activations.length - 1]!;
  });
}
