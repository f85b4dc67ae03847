/** Whole-volume inference (GUIDE §5 evaluation): sliding windows with averaged softmax. */
export {
  slidingWindowPredict,
  argmaxLabels,
  windowStarts,
  centredPadding,
  type SlidingWindowOptions,
  type SlidingWindowResult,
  type WindowPredictor,
  type InputNormalization,
} from './sliding-window.js';
