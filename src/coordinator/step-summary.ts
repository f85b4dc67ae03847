/**
 * One step's figures from its `step-done` replies (pure): loss terms summed over a role's
 * replicas (each reports its share), confident-mask ratios averaged over pairs, and the slowest
 * replica's seconds per phase (the step waits for it).
 */
import { LOSS_TERMS, recordOf, STEP_PHASES, type LossTerms, type PhaseSeconds } from '../shared/names.js';
import type { Role, StepDoneMessage } from '../shared/protocol/index.js';

export interface StepSummary {
  terms: Partial<Record<Role, LossTerms>>;
  confidentRatio: Partial<Record<Role, { positive: number; negative: number }>>;
  phases: PhaseSeconds;
  exchangeBytes: number;
}

export function summarizeStep(done: readonly StepDoneMessage[], pairs: number): StepSummary {
  const terms: StepSummary['terms'] = {};
  const confidentRatio: StepSummary['confidentRatio'] = {};
  const phases = recordOf(STEP_PHASES, () => 0);
  let exchangeBytes = 0;
  for (const d of done) {
    const t = terms[d.role];
    terms[d.role] = t ? recordOf(LOSS_TERMS, (k) => t[k] + d.terms[k]) : { ...d.terms };
    const c = (confidentRatio[d.role] ??= { positive: 0, negative: 0 });
    c.positive += d.confidentRatio.positive / pairs;
    c.negative += d.confidentRatio.negative / pairs;
    for (const phase of STEP_PHASES) phases[phase] = Math.max(phases[phase], d.phases[phase] ?? 0);
    exchangeBytes += d.exchangeBytes;
  }
  return { terms, confidentRatio, phases, exchangeBytes };
}
