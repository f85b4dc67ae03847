/**
 * SGD with PyTorch's semantics (torch.optim.SGD, dampening 0, no Nesterov):
 *   d_p = g + weight_decay * p            (coupled decay, added to the gradient)
 *   buf = d_p on the first step, else momentum * buf + d_p
 *   p   = p - lr * buf
 * The learning rate is passed per step (the poly schedule lives with the schedules). Momentum
 * buffers are kept per parameter key and can be exported / restored to resume a run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import { sameShape } from '../volume.js';

export interface SGDOptions {
  momentum: number;
  weightDecay: number;
}

/** Serialisable optimiser state: momentum buffers by parameter key, in the parameter's own layout. */
export interface SGDState {
  momentum: Record<string, { shape: number[]; data: Float32Array }>;
}

export class SGD {
  readonly options: SGDOptions;
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(options: SGDOptions) {
    for (const field of ['momentum', 'weightDecay'] as const) {
      const v = options[field];
      if (!Number.isFinite(v) || v < 0) throw new TracocoError(`SGD ${field} must be a finite number >= 0, got ${v}`, { field });
    }
    this.options = { ...options };
  }

  /**
   * One update of every parameter that has a gradient (like PyTorch, a parameter without one is
   * left alone). `grads` is keyed like `params`.
   */
  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    if (!Number.isFinite(lr) || lr < 0) throw new TracocoError(`learning rate must be a finite number >= 0, got ${lr}`, { field: 'lr' });
    const { momentum, weightDecay } = this.options;
    for (const [key, grad] of grads) {
      const param = params.get(key);
      if (!param) throw new TracocoError(`gradient for unknown parameter '${key}'`, { field: key });
      if (!sameShape(param.shape, grad.shape)) {
        throw new TracocoError(`gradient shape [${grad.shape}] differs from the parameter's [${param.shape}]`, { field: key });
      }
      tf.tidy(() => {
        let direction: tf.Tensor = weightDecay !== 0 ? tf.add(grad, tf.mul(param, weightDecay)) : grad;
        if (momentum !== 0) {
          const buffer = this.buffers.get(key);
          if (buffer) buffer.assign(tf.add(tf.mul(buffer, momentum), direction));
          else this.buffers.set(key, tf.variable(tf.clone(direction), false));
          direction = this.buffers.get(key)!;
        }
        param.assign(tf.sub(param, tf.mul(direction, lr)));
      });
    }
  }

  /** A copy of the momentum buffers (to write with a checkpoint). */
  state(): SGDState {
    const momentum: SGDState['momentum'] = {};
    for (const [key, buffer] of this.buffers) {
      momentum[key] = { shape: [...buffer.shape], data: Float32Array.from(buffer.dataSync() as Float32Array) };
    }
    return { momentum };
  }

  /** Restores buffers saved by `state()`; shapes must match `params` (`source` names the file in errors). */
  loadState(state: SGDState, params: ReadonlyMap<string, tf.Variable>, source: string): void {
    for (const [key, saved] of Object.entries(state.momentum)) {
      const param = params.get(key);
      if (!param) throw new TracocoError(`momentum buffer for unknown parameter '${key}'`, { file: source, field: key });
      if (!sameShape(param.shape, saved.shape) || saved.data.length !== param.size) {
        throw new TracocoError(`momentum buffer shape [${saved.shape}] differs from the parameter's [${param.shape}]`, { file: source, field: key });
      }
    }
    this.dispose();
    for (const [key, saved] of Object.entries(state.momentum)) {
      const initial = tf.tensor(saved.data, saved.shape, 'float32');
      this.buffers.set(key, tf.variable(initial, false));
      initial.dispose();
    }
  }

  dispose(): void {
    for (const buffer of this.buffers.values()) buffer.dispose();
    this.buffers.clear();
  }
}
