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
