/** Losses and schedules of TraCoCo training (GUIDE §5). */
export { crcLoss, CRC_DEFAULTS, CRC_FORMS, type CrcForm, type CrcLoss, type CrcOptions } from './crc.js';
export { pseudoLabelCrossEntropy } from './pseudo-ce.js';
export {
  translationLoss,
  translationTarget,
  translationKl,
  TRANSLATION_MODES,
  type TranslationLoss,
  type TranslationLossOptions,
  type TranslationMode,
} from './translation.js';
export { negativeEntropy, xLogX } from './entropy.js';
export {
  sigmoidRampup,
  linearRampup,
  consistencyWeight,
  polyLearningRate,
  type ConsistencyWeightOptions,
  type RampupType,
} from './schedules.js';
export { supervisedLoss, type SupervisedLoss } from './supervised.js';
export { checkClassIndices, multiClassDiceLoss, multiClassSupervisedLoss, pseudoLabelDiceLoss } from './multiclass.js';
