/**
 * Lists of names that several layers share — the loss terms a step reports and the phases it is
 * timed in — defined once here, with no dependencies, and derived everywhere else: types, wire
 * codec fields, the coordinator's sums, metric labels.
 */
export const LOSS_TERMS = ['total', 'supervised', 'ce', 'dice', 'crc', 'kl', 'entropy'] as const;
export type LossTerm = (typeof LOSS_TERMS)[number];
/** This replica's share of each loss term; summed over replicas it is the global value. */
export type LossTerms = Record<LossTerm, number>;

export const STEP_PHASES = ['data', 'forward', 'exchange', 'backward', 'allreduce', 'optimizer'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];
export type PhaseSeconds = Record<StepPhase, number>;

/** The networks (GUIDE §5, §5b): config values, checkpoint metadata, `import-torch --architecture`. */
export const ARCHITECTURES = ['vnet', 'unet3d', 'unet2d'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** Where a step's pseudo-labels come from (`train.pseudo_labels`): the peer model, or the ground truth as a diagnostic. */
export const PSEUDO_LABEL_SOURCES = ['peer', 'ground-truth'] as const;
export type PseudoLabelSource = (typeof PSEUDO_LABEL_SOURCES)[number];

/**
 * Post-processing of a predicted foreground class before scoring: `small-components` is the
 * reference's (26-connected components under 8000 voxels dropped), `largest-component` keeps
 * only the largest (the `nms` option of the UA-MT lineage's LA test scripts).
 */
export const POST_PROCESSING = ['none', 'small-components', 'largest-component'] as const;
export type PostProcessing = (typeof POST_PROCESSING)[number];

/** `a, b,,c` → ['a', 'b', 'c']: a comma-separated list of names (a flag, an env variable), trimmed, empty ones dropped. */
export function commaList(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

/** `{ [name]: value }` for every name of a list (zeroed loss terms, phase timers, ...). */
export function recordOf<K extends string, V>(names: readonly K[], value: (name: K) => V): Record<K, V> {
  return Object.fromEntries(names.map((n) => [n, value(n)])) as Record<K, V>;
}
