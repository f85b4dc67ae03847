export { evaluateCase, predictAtScale, scoreLabels, postProcessLabels, type CaseScores, type EvaluationSettings, type EvaluatedCase, type EvaluationCase } from './evaluate-case.js';
export { renderMiddleSlices } from './slices-png.js';
export { evaluationSettingsFrom, periodicEvalDue } from './settings.js';
