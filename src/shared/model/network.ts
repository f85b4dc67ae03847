/**
 * The networks behind one interface (GUIDE §5, §5b): what the training step, inference,
 * checkpoints, `.pth` import and the cluster use without knowing which network it is. A
 * `NetworkSpec` names the architecture and its hyper-parameters; `createNetwork` and
 * `networkFromStateDict` build it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { TracocoError } from '../errors.js';
import { ARCHITECTURES, type Architecture } from '../names.js';
import type { StateDict } from './layout.js';
import { stateDictArchitecture } from './params.js';
import { UNet2D, UNET2D_SPATIAL_MULTIPLE, type UNet2DConfig } from './unet2d.js';
import { UNet3D, UNET3D_SPATIAL_MULTIPLE, type UNet3DConfig } from './unet3d.js';
import { SPATIAL_MULTIPLE, VNet, type ForwardOptions, type VNetConfig } from './vnet.js';

export { ARCHITECTURES, type Architecture };

export type NetworkSpec =
  | ({ architecture: 'vnet' } & VNetConfig)
  | ({ architecture: 'unet3d' } & UNet3DConfig)
  | ({ architecture: 'unet2d' } & UNet2DConfig);

/** A segmentation network: logits `[N, ...spatial, classes]` of inputs `[N, ...spatial, inChannels]`. */
export interface SegmentationNetwork {
  readonly architecture: Architecture;
  readonly config: { readonly inChannels: number; readonly classes: number };
  /** Trainable parameters by PyTorch state_dict name (tfjs layout). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** Non-trainable state (BatchNorm running statistics), by state_dict name. */
  readonly buffers: ReadonlyMap<string, tf.Variable>;
  forward(x: tf.Tensor, opts: ForwardOptions): tf.Tensor;
  stateDict(): StateDict;
  loadStateDict(sd: StateDict, source: string): void;
  dispose(): void;
}

export interface ArchitectureFacts {
  /** Spatial axes of an input: 3 (volumes) or 2 (slices). */
  spatialDims: 2 | 3;
  /** Every spatial axis of an input must be a multiple of this (the network's downsamplings). */
  spatialMultiple: number;
}

export const ARCHITECTURE_FACTS: Record<Architecture, ArchitectureFacts> = {
  vnet: { spatialDims: 3, spatialMultiple: SPATIAL_MULTIPLE },
  unet3d: { spatialDims: 3, spatialMultiple: UNET3D_SPATIAL_MULTIPLE },
  unet2d: { spatialDims: 2, spatialMultiple: UNET2D_SPATIAL_MULTIPLE },
};

/** A network with its published initialisation drawn from `seed`. */
export function createNetwork(spec: NetworkSpec, seed: number): SegmentationNetwork {
  // The classes keep their own config types: the architecture is theirs, not a config field.
  switch (spec.architecture) {
    case 'vnet': {
      const { architecture: _, ...config } = spec;
      return VNet.create(config, seed);
    }
    case 'unet3d': {
      const { architecture: _, ...config } = spec;
      return UNet3D.create(config, seed);
    }
    case 'unet2d': {
      const { architecture: _, ...config } = spec;
      return UNet2D.create(config, seed);
    }
  }
}

/** A network holding the weights of `sd`, strict like PyTorch's `load_state_dict`. */
export function networkFromStateDict(spec: NetworkSpec, sd: StateDict, source: string): SegmentationNetwork {
  switch (spec.architecture) {
    case 'vnet': {
      const { architecture: _, ...config } = spec;
      return VNet.fromStateDict(config, sd, source);
    }
    case 'unet3d': {
      const { architecture: _, ...config } = spec;
      return UNet3D.fromStateDict(config, sd, source);
    }
    case 'unet2d': {
      const { architecture: _, ...config } = spec;
      return UNet2D.fromStateDict(config, sd, source);
    }
  }
}

/** The spec a network was built from. */
export function specOf(network: SegmentationNetwork): NetworkSpec {
  return { architecture: network.architecture, ...network.config } as NetworkSpec;
}

/** The architecture of a state_dict, read off its key names; a TracocoError naming `source` when none fits. */
export function architectureOf(sd: StateDict, source: string): Architecture {
  const found = stateDictArchitecture(sd);
  if (!found) {
    const sample = [...sd.keys()].slice(0, 3).join(', ');
    throw new TracocoError(`not a state_dict of a known network (${ARCHITECTURES.join(', ')}); first keys: ${sample || 'none'}`, { file: source });
  }
  return found;
}

export function isArchitecture(value: string): value is Architecture {
  return (ARCHITECTURES as readonly string[]).includes(value);
}
