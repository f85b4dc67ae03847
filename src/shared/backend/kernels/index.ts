/** Every kernel the native backend implements in the addon. */
import { batchNormKernels } from './batchnorm.js';
import { conv3dKernels } from './conv3d.js';
import { elementwiseKernels } from './elementwise.js';
import { layoutKernels } from './layout.js';
import { lossKernels } from './losses.js';
import { matmulKernels } from './matmul.js';
import { programKernels } from './program.js';
import { reduceKernels } from './reduce.js';
import type { NativeKernel } from './types.js';

export const nativeKernels: NativeKernel[] = [
  ...conv3dKernels,
  ...matmulKernels,
  ...elementwiseKernels,
  ...reduceKernels,
  ...layoutKernels,
  ...batchNormKernels,
  ...programKernels,
  ...lossKernels,
];
