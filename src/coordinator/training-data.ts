/**
 * Which cases a run trains and evaluates on, read once by the coordinator: the first
 * `data.labeled` ids of the train split are labelled (the reference's convention), or the ids
 * `data.labeled_ids` names; the next `data.unlabeled` of the others (default: all) unlabelled;
 * and the `eval.split` ids (falling back to `test` when the dataset has no `eval` split) are
 * evaluated.
 *
 * Training cases are resampled by `data.scale` here, once (GUIDE §4); evaluation cases stay on
 * their stored grid, since evaluation scores the stored labels.
 */
import type { TracocoConfig } from '../shared/config/index.js';
import { TracocoError } from '../shared/errors.js';
import type { Dataset, Split } from '../shared/io/index.js';
import type { Logger } from '../shared/log.js';
import type { CasePayload } from '../shared/protocol/index.js';
import type { Shape3 } from '../shared/volume.js';
import { resampleLinear, resampleNearest, scaledShape } from '../shared/data/resample.js';

export interface TrainingData {
  labeled: string[];
  unlabeled: string[];
  evalIds: string[];
  evalSplit: Split | null;
  cases: Map<string, CasePayload>;
  shapes: Map<string, Shape3>;
}

/**
 * The labelled ids of the train split (`data.labeled_ids`, else the first `data.labeled`) and the
 * others in their order.
 */
export function splitLabeled(train: readonly string[], data: Pick<TracocoConfig['data'], 'labeled' | 'labeled_ids'>, root: string): { labeled: string[]; rest: string[] } {
  if (data.labeled_ids !== null) {
    const missing = data.labeled_ids.find((id) => !train.includes(id));
    if (missing !== undefined) throw new TracocoError(`'${missing}' is not in the train split of ${root}`, { field: 'data.labeled_ids' });
    const labeled = [...data.labeled_ids];
    return { labeled, rest: train.filter((id) => !labeled.includes(id)) };
  }
  const L = data.labeled;
  if (train.length < L) {
    throw new TracocoError(`asks for ${L} labelled cases but the train split of ${root} has ${train.length}`, { field: 'data.labeled' });
  }
  return { labeled: train.slice(0, L), rest: train.slice(L) };
}

export async function loadTrainingData(dataset: Dataset, config: TracocoConfig, logger: Logger): Promise<TrainingData> {
  const train = dataset.ids('train');
  const { labeled, rest } = splitLabeled(train, config.data, dataset.root);
  const U = config.data.unlabeled;
  const unlabeled = config.train.semi_supervised ? (U === null ? rest : rest.slice(0, U)) : [];
  if (config.train.semi_supervised && unlabeled.length === 0) {
    throw new TracocoError(`no unlabelled cases left in the train split of ${dataset.root} after ${labeled.length} labelled ones`, { field: 'data.unlabeled' });
  }
  const evalSplit = pickEvalSplit(dataset, config.eval.split);
  const allEval = evalSplit ? dataset.ids(evalSplit) : [];
  const evalIds = config.eval.max_cases === null ? allEval : allEval.slice(0, config.eval.max_cases);

  const cases = new Map<string, CasePayload>();
  const ids = [...new Set([...labeled, ...unlabeled, ...evalIds])];
  let done = 0;
  const scale = config.data.scale;
  const training = new Set([...labeled, ...unlabeled]);
  const both = evalIds.find((id) => training.has(id));
  if (scale !== 1 && both !== undefined) {
    throw new TracocoError(`case '${both}' is both trained on (resampled by data.scale) and evaluated (stored grid)`, { field: 'eval.split' });
  }
  for (const id of ids) {
    const c = await dataset.load(id, { classes: config.data.classes });
    const needsLabel = labeled.includes(id) || evalIds.includes(id);
    if (needsLabel && !c.label) throw new TracocoError(`case '${id}' has no label but is used as labelled/evaluation data`, { file: dataset.root });
    const payload: CasePayload = { id, shape: [...c.shape], image: c.image, label: c.label };
    cases.set(id, training.has(id) && scale !== 1 ? resampleCase(payload, scale) : payload);
    if (++done % 10 === 0 || done === ids.length) logger.info('data.loaded', { done, total: ids.length });
  }
  const shapes = new Map([...cases].map(([id, c]) => [id, c.shape as Shape3]));
  return { labeled, unlabeled, evalIds, evalSplit, cases, shapes };
}

function pickEvalSplit(dataset: Dataset, wanted: Split): Split | null {
  if (dataset.hasSplit(wanted)) return wanted;
  if (wanted === 'eval' && dataset.hasSplit('test')) return 'test';
  return null;
}

/** A case on the grid scaled by `scale`: trilinear image, nearest label. */
export function resampleCase(c: CasePayload, scale: number): CasePayload {
  const shape = c.shape as Shape3;
  const grid = scaledShape(shape, scale);
  return { id: c.id, shape: [...grid], image: resampleLinear(c.image, shape, grid), label: c.label ? resampleNearest(c.label, shape, grid) : null };
}
