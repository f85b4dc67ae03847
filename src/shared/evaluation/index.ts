export { evaluateCase, scoreLabels, postProcessLabels, type EvaluationSettings, type EvaluatedCase, type EvaluationCase } from './evaluate-case.js';
export { renderMiddleSlices } from './slices-png.js';
