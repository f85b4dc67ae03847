/** Whole-volume inference (GUIDE §5 evaluation): sliding windows with averaged softmax. */
export {
  slidingWindowPredict,
  argmaxLabels,
  windowStarts,
  centredPadding,
  evalModePredictor,
  checkWindowPatch,
  type SlidingWindowOptions,
  type SlidingWindowResult,
  type WindowAverage,
  type WindowPredictor,
} from './sliding-window.js';
