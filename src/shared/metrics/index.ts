/** Segmentation metrics and post-processing (GUIDE §5 Evaluation). */
export { euclideanDistanceTransform, squaredDistanceTransform } from './distance-transform.js';
export {
  directedSurfaceDistances,
  percentile,
  surfaceBorder,
  surfaceDistanceMetrics,
  type SurfaceDistanceMetrics,
} from './surface-distance.js';
export {
  checkMaskShape,
  checkSpacing,
  dice,
  diceFromCounts,
  jaccard,
  jaccardFromCounts,
  overlapCounts,
  type OverlapCounts,
} from './overlap.js';
export {
  labelComponents,
  labelComponents2d,
  type Components,
  type Connectivity2,
  type Connectivity3,
} from './connected-components.js';
export {
  checkLabelValues,
  largestComponentPerClass,
  largestComponentPseudoLabels,
  type ClassComponentOptions,
} from './class-components.js';
export { DEFAULT_MIN_COMPONENT_VOXELS, largestComponent, removeSmallComponents } from './post-process.js';
export { caseMetrics, meanMetrics, METRIC_NAMES, type SegmentationMetrics } from './case-metrics.js';
export { meanClassScores, perClassMetrics, type ClassMetrics, type PerClassMetrics } from './class-metrics.js';
export { CONFIDENCE_COUNT_NAMES, confidenceCounts, confidenceShares, sumConfidenceCounts, type ConfidenceCounts, type ConfidenceShares } from './confidence.js';
