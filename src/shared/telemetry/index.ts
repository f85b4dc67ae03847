export { createMetrics, METRIC_PREFIX, STEP_PHASES, LOSS_TERMS, type TracocoMetrics } from './metrics.js';
