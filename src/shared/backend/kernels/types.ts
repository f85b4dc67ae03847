/** The shape of a native kernel: it handles a call and returns its output, or null to let the cpu kernel run. */
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../native-addon.js';

export interface NativeKernelArgs {
  inputs: NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs?: NamedAttrMap;
}

export type NativeKernelFunc = (args: NativeKernelArgs, addon: NativeAddon) => TensorInfo | TensorInfo[] | null;

export interface NativeKernel {
  kernelName: string;
  run: NativeKernelFunc;
}
