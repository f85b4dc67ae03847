/**
 * Evaluation scheduling and the best-checkpoint protocol. An evaluation of the checkpoint at
 * iteration k goes to idle workers when there are any — they load the checkpoint from the object
 * store while the pairs keep training — and otherwise to the first replica of each model between
 * steps. Checkpoint weights stay pinned until their evaluations report; the best mean Dice so far
 * becomes `best.safetensors`.
 */
import type { Logger } from '../shared/log.js';
import {
  messages,
  replyKeys,
  type CheckpointRef,
  type EvalDoneMessage,
  type Message,
  type ObjectStore,
  type Role,
} from '../shared/protocol/index.js';
import type { TracocoConfig } from '../shared/config/index.js';
import type { TrainingObserver } from './observer.js';
import type { RunOutputs } from './outputs.js';
import type { Placement } from './placement.js';
import type { RunState } from './run-state.js';
import type { WorkerRecord } from './worker-registry.js';

export interface EvaluationDeps {
  config: TracocoConfig;
  evalIds: string[];
  objects: ObjectStore;
  outputs: RunOutputs | null;
  observer?: TrainingObserver;
  log: () => Logger;
  state: () => RunState;
  saveState: () => Promise<void>;
  send: (workerId: string, message: Message) => Promise<void>;
  /** Sends a worker the evaluation cases it does not have yet. */
  sendEvalCases: (worker: WorkerRecord) => Promise<void>;
}

interface Pending {
  k: number;
  role: Role;
  weights: string;
  worker: string;
}

export class Evaluations {
  private readonly pending = new Map<string, Pending>();
  private idleTurn = 0;

  constructor(private readonly d: EvaluationDeps) {}

  /** Whether an object must outlive its checkpoint (an evaluation still reads it). */
  pinned(name: string): boolean {
    return [...this.pending.values()].some((p) => p.weights === name);
  }

  get outstanding(): number {
    return this.pending.size;
  }

  /** Deletes the objects of a superseded checkpoint that no evaluation still reads. */
  async releaseCheckpoint(ref: CheckpointRef): Promise<void> {
    const names = new Set(Object.values(ref.models).flatMap((m) => [m.weights, m.optimizer]));
    for (const name of names) if (!this.pinned(name)) await this.d.objects.delete(name);
  }

  /**
   * Evaluates checkpoint `ref` on the placed replicas between steps (they hold its weights);
   * `reply` waits for a reply of the current epoch.
   */
  async onReplicas(ref: CheckpointRef, epoch: number, evaluators: Placement[], reply: (key: string) => Promise<Message>): Promise<void> {
    const k = ref.iteration;
    const runId = this.d.state().runId;
    const evalIds = evaluators.map((x) => `${epoch}/${k}/${x.role}`);
    for (const [i, x] of evaluators.entries()) {
      await this.d.send(x.workerId, messages.evaluate({ runId, evalId: evalIds[i]!, epoch, role: x.role, iteration: k, caseIds: this.d.evalIds, weights: null, config: null }));
    }
    const results = (await Promise.all(evalIds.map((id) => reply(replyKeys.evaluation(id))))) as EvalDoneMessage[];
    for (const r of results) await this.record(r, ref.models[r.role].weights);
  }

  /** Sends the evaluations of checkpoint `ref` to idle workers; false when there are none. */
  async dispatchToIdle(ref: CheckpointRef, roles: Role[], idle: WorkerRecord[]): Promise<boolean> {
    if (idle.length === 0) return false;
    for (const role of roles) await this.dispatch(ref.iteration, role, ref.models[role].weights, idle[this.idleTurn++ % idle.length]!);
    return true;
  }

  private async dispatch(k: number, role: Role, weights: string, worker: WorkerRecord): Promise<void> {
    const evalId = `idle/${k}/${role}`;
    this.pending.set(evalId, { k, role, weights, worker: worker.id });
    await this.d.sendEvalCases(worker);
    await this.d.send(worker.id, messages.evaluate({ runId: this.d.state().runId, evalId, epoch: -1, role, iteration: k, caseIds: this.d.evalIds, weights, config: this.d.config }));
    this.d.log().info('eval.dispatched', { iteration: k, model: role, worker: worker.id });
  }

  /** An idle worker's result: recorded, and its checkpoint unpinned. */
  async onIdleResult(m: EvalDoneMessage): Promise<void> {
    const p = this.pending.get(m.evalId);
    if (!p) return;
    this.pending.delete(m.evalId);
    await this.record(m, p.weights);
    const current = this.d.state().checkpoint;
    const stillUsed = current && Object.values(current.models).some((x) => x.weights === p.weights);
    if (!stillUsed && !this.pinned(p.weights)) await this.d.objects.delete(p.weights);
  }

  /** Waits (at most `timeoutMs`) for evaluations still running on idle workers. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (this.outstanding > 0) this.d.log().warn('eval.abandoned', { outstanding: this.outstanding });
  }

  /** Whether `workerId` is running one of the pending evaluations. */
  isEvaluating(workerId: string): boolean {
    return [...this.pending.values()].some((p) => p.worker === workerId);
  }

  /**
   * Evaluations whose worker is no longer live go to idle workers; with none idle they wait for
   * the next call (the coordinator calls this on every liveness check).
   */
  async redispatch(live: (workerId: string) => boolean, idle: WorkerRecord[]): Promise<void> {
    for (const [evalId, p] of [...this.pending]) {
      if (live(p.worker) || idle.length === 0) continue;
      this.pending.delete(evalId);
      await this.dispatch(p.k, p.role, p.weights, idle[this.idleTurn++ % idle.length]!);
    }
  }

  /** Best-checkpoint protocol, evaluation log and slices for one model's result. */
  async record(r: EvalDoneMessage, weights: string): Promise<void> {
    const state = this.d.state();
    const improved = !state.best || r.mean.dice > state.best.dice;
    if (improved) state.best = { dice: r.mean.dice, role: r.role, iteration: r.iteration };
    state.evals.push({ iteration: r.iteration, role: r.role, mean: r.mean });
    if (this.d.outputs) {
      await this.d.outputs.writeEval(r);
      if (improved) await this.d.outputs.writeBest(this.d.objects, weights);
    }
    await this.d.saveState();
    this.d.observer?.onEval?.({ iteration: r.iteration, role: r.role, mean: r.mean, cases: r.cases, best: improved });
  }
}
