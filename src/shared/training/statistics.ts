/**
 * The global statistics a step's loss normalisation needs (step.ts), and their flat form for the
 * replicas' all-reduce: the scalars first, then the per-class Dice sums.
 */
export interface StepStatistics {
  /** Binary (C = 2) supervised Dice sums: Σpt, Σp², Σt of the foreground probability. */
  diceIntersection: number;
  dicePrediction: number;
  diceTarget: number;
  /** C > 2: the supervised multi-class Dice sums (dice-statistics.ts layout); empty for C = 2. */
  diceClasses: number[];
  /** With `pseudoDice`: the unlabelled slots' Dice sums against the argmax pseudo-labels; else empty. */
  pseudoDice: number[];
  crcPositive: number;
  crcNegative: number;
  views: number;
}

/** Sums this replica's statistics with the other replicas' (identity with one replica). */
export type StatisticsReducer = (local: StepStatistics) => Promise<StepStatistics>;

const SCALARS = ['diceIntersection', 'dicePrediction', 'diceTarget', 'crcPositive', 'crcNegative', 'views'] as const;

export function emptyStatistics(): StepStatistics {
  return { diceIntersection: 0, dicePrediction: 0, diceTarget: 0, diceClasses: [], pseudoDice: [], crcPositive: 0, crcNegative: 0, views: 0 };
}

export function flattenStatistics(s: StepStatistics): Float64Array {
  return Float64Array.from([...SCALARS.map((k) => s[k]), ...s.diceClasses, ...s.pseudoDice]);
}

/** Inverse of `flattenStatistics`; `like` (the local statistics) gives the arrays' lengths, equal on every replica. */
export function unflattenStatistics(flat: ArrayLike<number>, like: StepStatistics): StepStatistics {
  const expected = SCALARS.length + like.diceClasses.length + like.pseudoDice.length;
  if (flat.length !== expected) throw new Error(`reduced statistics have ${flat.length} values, expected ${expected}`);
  const out = emptyStatistics();
  SCALARS.forEach((k, i) => (out[k] = flat[i]!));
  const values = Array.from(flat);
  out.diceClasses = values.slice(SCALARS.length, SCALARS.length + like.diceClasses.length);
  out.pseudoDice = values.slice(SCALARS.length + like.diceClasses.length);
  return out;
}
