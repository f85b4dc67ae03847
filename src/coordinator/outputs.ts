/**
 * The run directory (GUIDE §3): `model1.safetensors`, `model2.safetensors` (latest checkpoint),
 * `best.safetensors`, `state.json` (a readable copy of the run state), `config.yaml`,
 * `evals.jsonl` (one line per evaluation) and `eval/<case>_model<r>.png` (latest slices).
 * Every file is written atomically, so a failure never leaves a half-written model behind.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { configToYaml, type TracocoConfig } from '../shared/config/index.js';
import { TracocoError } from '../shared/errors.js';
import { writeFileAtomic } from '../shared/io/index.js';
import { meanClassScores } from '../shared/metrics/index.js';
import type { EvalDoneMessage, ObjectStore, Role } from '../shared/protocol/index.js';
import type { RunState } from './run-state.js';

export class RunOutputs {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'eval'), { recursive: true });
  }

  async writeConfig(config: TracocoConfig): Promise<void> {
    await writeFileAtomic(join(this.dir, 'config.yaml'), configToYaml(config));
  }

  async writeLatest(objects: ObjectStore, state: RunState, roles: Role[]): Promise<void> {
    for (const role of roles) {
      const name = state.checkpoint!.models[role].weights;
      await writeFileAtomic(join(this.dir, `model${role}.safetensors`), await fetch(objects, name));
    }
    await this.writeState(state);
  }

  async writeBest(objects: ObjectStore, weights: string): Promise<void> {
    await writeFileAtomic(join(this.dir, 'best.safetensors'), await fetch(objects, weights));
  }

  async writeEval(r: EvalDoneMessage): Promise<void> {
    appendFileSync(join(this.dir, 'evals.jsonl'), JSON.stringify({ iteration: r.iteration, model: r.role, mean: r.mean, classes: meanClassScores(r.cases), cases: r.cases }) + '\n');
    for (const s of r.slices) await writeFileAtomic(join(this.dir, 'eval', `${s.id}_model${r.role}.png`), s.png);
  }

  async writeState(state: RunState): Promise<void> {
    const { config: _config, ...rest } = state;
    await writeFileAtomic(join(this.dir, 'state.json'), JSON.stringify(rest, null, 2) + '\n');
  }
}

async function fetch(objects: ObjectStore, name: string): Promise<Uint8Array> {
  const bytes = await objects.get(name);
  if (!bytes) throw new TracocoError('checkpoint object missing from the store', { file: name });
  return bytes;
}
