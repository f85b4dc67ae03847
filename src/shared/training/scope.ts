import * as tf from '@tensorflow/tfjs-core';

/**
 * Runs `fn` in a tensor scope and disposes every tensor it created; for computations whose
 * result is plain data (typed arrays, numbers), which `tf.tidy` cannot return.
 */
export function disposingScope<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}
