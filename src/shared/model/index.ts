/** The VNet and its building blocks (GUIDE §5). */
export { VNet, vnetBlocks, checkVNetConfig, NORMALIZATIONS, SPATIAL_MULTIPLE, DROPOUT_P, BATCH_NORM_MOMENTUM } from './vnet.js';
export type { VNetConfig, Normalization, BlockSpec, BlockKind, ForwardOptions } from './vnet.js';
export {
  batchNormTrain,
  batchNormTrainComposite,
  batchNormTrainGradComposite,
  BATCH_NORM_TRAIN_KERNEL,
  BATCH_NORM_TRAIN_GRAD_KERNEL,
} from './batchnorm.js';
export type { BatchNormAttrs, BatchNormTrainOptions } from './batchnorm.js';
export { permute, torchToTfjs, tfjsToTorch, NCDHW_TO_NDHWC, NDHWC_TO_NCDHW } from './layout.js';
export type { StateDict, StateTensor } from './layout.js';
/** The other published networks (GUIDE §5b) and their building blocks. */
export { UNet3D, unet3dEntries, unet3dChannels, checkUNet3DConfig, UNET3D_DROPOUT_P, UNET3D_SPATIAL_MULTIPLE } from './unet3d.js';
export type { UNet3DConfig } from './unet3d.js';
export { UNet2D, unet2dEntries, checkUNet2DConfig, UNET2D_CHANNELS, UNET2D_DROPOUT, UNET2D_SPATIAL_MULTIPLE, LEAKY_RELU_SLOPE } from './unet2d.js';
export type { UNet2DConfig } from './unet2d.js';
export { upsampleLinear2x, trilinearUpsample2x, bilinearUpsample2x, alignedInterpolationMatrix } from './resize.js';
export type { UpsampleOptions } from './resize.js';
export { dropoutElementwise, leakyRelu, maxPool2x } from './unet-layers.js';
export { stateDictArchitecture, torchParamToTfjs, tfjsParamToTorch } from './params.js';
/** One interface over the three networks. */
export { ARCHITECTURES, ARCHITECTURE_FACTS, createNetwork, networkFromStateDict, specOf, architectureOf, isArchitecture } from './network.js';
export type { Architecture, ArchitectureFacts, NetworkSpec, SegmentationNetwork } from './network.js';
