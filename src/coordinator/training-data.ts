/**
 * Which cases a run trains and evaluates on, read once by the coordinator: the first
 * `data.labeled` ids of the train split are labelled, the next `data.unlabeled` (default: the
 * rest) unlabelled — the reference's convention — and the `eval.split` ids (falling back to
 * `test` when the dataset has no `eval` split) are evaluated.
 */
import type { TracocoConfig } from '../shared/config/index.js';
import { TracocoError } from '../shared/errors.js';
import type { Dataset, Split } from '../shared/io/index.js';
import type { Logger } from '../shared/log.js';
import type { CasePayload } from '../shared/protocol/index.js';
import type { Shape3 } from '../shared/volume.js';

export interface TrainingData {
  labeled: string[];
  unlabeled: string[];
  evalIds: string[];
  evalSplit: Split | null;
  cases: Map<string, CasePayload>;
  shapes: Map<string, Shape3>;
}

export async function loadTrainingData(dataset: Dataset, config: TracocoConfig, logger: Logger): Promise<TrainingData> {
  const train = dataset.ids('train');
  const { labeled: L, unlabeled: U } = config.data;
  const labeled = train.slice(0, L);
  if (labeled.length < L) {
    throw new TracocoError(`asks for ${L} labelled cases but the train split of ${dataset.root} has ${train.length}`, { field: 'data.labeled' });
  }
  const rest = train.slice(L);
  const unlabeled = config.train.semi_supervised ? (U === null ? rest : rest.slice(0, U)) : [];
  if (config.train.semi_supervised && unlabeled.length === 0) {
    throw new TracocoError(`no unlabelled cases left in the train split of ${dataset.root} after ${L} labelled ones`, { field: 'data.unlabeled' });
  }
  const evalSplit = pickEvalSplit(dataset, config.eval.split);
  const allEval = evalSplit ? dataset.ids(evalSplit) : [];
  const evalIds = config.eval.max_cases === null ? allEval : allEval.slice(0, config.eval.max_cases);

  const cases = new Map<string, CasePayload>();
  const ids = [...new Set([...labeled, ...unlabeled, ...evalIds])];
  let done = 0;
  for (const id of ids) {
    const c = await dataset.load(id, { classes: config.data.classes });
    const needsLabel = labeled.includes(id) || evalIds.includes(id);
    if (needsLabel && !c.label) throw new TracocoError(`case '${id}' has no label but is used as labelled/evaluation data`, { file: dataset.root });
    cases.set(id, { id, shape: [...c.shape], image: c.image, label: c.label });
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
