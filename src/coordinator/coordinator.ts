/**
 * The coordinator: a small Ray-like scheduler for one TraCoCo run (GUIDE §6). It places model
 * replicas on workers in pairs, sends each pair its cases once, drives the steps (indices and
 * augmentation plans only), decides checkpoints and evaluations, keeps the run state durable,
 * and recovers from lost workers by rolling back to the last checkpoint and replaying — plans
 * are pure functions of (seed, iteration), so the replay is exact and no iteration is counted
 * twice or lost.
 */
import { errorMessage, TracocoError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import {
  coordinatorReplyKey,
  messages,
  ofRun,
  replyKeys,
  subjects,
  type CheckpointDoneMessage,
  type CheckpointRef,
  type CoordinatorInbound,
  type EvalDoneMessage,
  type Role,
  type Message,
  type StepDoneMessage,
  type Subscription,
  type Transport,
} from '../shared/protocol/index.js';
import { periodicEvalDue } from '../shared/evaluation/settings.js';
import { Mailbox } from '../shared/mailbox.js';
import { CaseDelivery } from './case-delivery.js';
import { Evaluations } from './evaluations.js';
import { RunOutputs } from './outputs.js';
import { StepPlanner } from './planner.js';
import { checkpointRef, openRunState, saveRunState, type RunState } from './run-state.js';
import { WorkerRegistry, type WorkerRecord } from './worker-registry.js';
import { peerOf, placeWorkers, replicasOf, shardsOfPair, type Placement } from './placement.js';
import { summarizeStep } from './step-summary.js';
import type { CoordinatorOptions, RunSummary } from './options.js';

export type { CoordinatorOptions, RunSummary };

/** A recoverable failure of the current epoch (lost worker, worker error, timeout). */
class EpochFailure extends Error {}

export class Coordinator {
  private readonly s: ReturnType<typeof subjects>;
  private readonly registry = new WorkerRegistry();
  /** Replies by `replyKeys`; failed as a whole when the epoch fails. */
  private readonly replies = new Mailbox<Message>();
  private readonly subs: Subscription[] = [];
  private state!: RunState;
  private planner!: StepPlanner;
  private placements: Placement[] = [];
  private pairs = 0;
  private iteration = 0;
  private liveness: NodeJS.Timeout | null = null;
  private recoveries = 0;
  private readonly foreignSeen = new Set<string>();
  private readonly outputs: RunOutputs | null;
  private readonly evaluations: Evaluations;
  private readonly caseDelivery: CaseDelivery;
  /** Log lines carry the run id once it is known. */
  private log: Logger;

  constructor(private readonly o: CoordinatorOptions) {
    this.s = subjects(o.transport.prefix);
    this.outputs = o.out ? new RunOutputs(o.out) : null;
    this.log = o.logger;
    this.caseDelivery = new CaseDelivery(o.transport, o.data, o.storeCases ?? false);
    this.evaluations = new Evaluations({
      config: o.config,
      evalIds: o.data.evalIds,
      objects: o.transport.objects,
      outputs: this.outputs,
      observer: o.observer,
      log: () => this.log,
      state: () => this.state,
      saveState: () => saveRunState(o.transport.kv, this.state),
      send: (id, m) => this.send(id, m),
      sendEvalCases: (w) => this.caseDelivery.sendTo(w, this.state.runId, o.data.evalIds, this.state.epoch),
    });
  }

  private get heartbeatTimeout(): number {
    return this.o.heartbeatTimeoutMs ?? 10_000;
  }

  /** Subscribes to worker traffic; `run` calls it, callers that start workers first call it earlier. */
  listen(): void {
    if (this.subs.length > 0) return;
    const t = this.o.transport;
    this.subs.push(
      t.subscribe(this.s.register, (m) => m.type === 'register' && this.registry.onRegister(m)),
      t.subscribe(this.s.heartbeat, (m) => {
        if (m.type !== 'heartbeat') return;
        // A worker busy with another run is not ours to place (nor lost when it stays away).
        if (m.runId !== '' && this.state && m.runId !== this.state.runId) return this.foreign(m.workerId, m.runId);
        this.registry.onHeartbeat(m);
        this.o.observer?.onHeartbeat?.(m.workerId);
      }),
      t.subscribe(this.s.coordinator, (m) => this.onReply(m)),
    );
    const onReconnect = t.onReconnect?.(() => {
      this.registry.resetClocks();
      // Messages of the current step may have been lost in the outage: replay from the checkpoint.
      if (this.state && !this.state.finished) this.fail('transport reconnected');
    });
    if (onReconnect) this.subs.push(onReconnect);
  }

  async run(): Promise<RunSummary> {
    this.listen();
    try {
      await this.initState();
      this.o.observer?.onStart?.({ runId: this.state.runId, iteration: this.state.iteration, maxIterations: this.maxIterations, resumed: this.state.iteration > 0 });
      if (!this.state.finished) await this.train();
      await this.finish();
      return { runId: this.state.runId, iteration: this.state.iteration, best: this.state.best, evals: this.state.evals, recoveries: this.recoveries };
    } finally {
      if (this.liveness) clearInterval(this.liveness);
      for (const sub of this.subs.splice(0)) sub.unsubscribe();
      this.replies.clear();
    }
  }

  private get maxIterations(): number {
    return this.o.config.train.max_iterations;
  }

  private get semi(): boolean {
    return this.o.config.train.semi_supervised;
  }

  /** The models trained: both, or model 1 alone for the supervised baseline. */
  private get roles(): Role[] {
    return this.semi ? [1, 2] : [1];
  }

  /** Workers per pair: one per model trained. */
  private get perPair(): 1 | 2 {
    return this.semi ? 2 : 1;
  }

  private async initState(): Promise<void> {
    const config = this.o.config;
    const pairs = Math.floor(this.o.workers / this.perPair);
    if (pairs < 1) throw new TracocoError(`needs at least ${this.perPair} workers, got ${this.o.workers}`, { flag: '--workers' });
    const { state, resumed } = await openRunState(this.o.transport.kv, config, pairs);
    this.state = state;
    if (resumed) this.log.info('run.resume', { runId: state.runId, iteration: state.iteration, epoch: state.epoch });
    this.log = this.o.logger.child({ run: state.runId });
    await this.outputs?.writeConfig(config);
    const cases = { labeled: this.o.data.labeled, unlabeled: this.o.data.unlabeled, shapes: this.o.data.shapes };
    this.planner = new StepPlanner(config, cases, state.shards, state.shardBatch);
    this.iteration = state.iteration;
  }

  private async train(): Promise<void> {
    this.log.info('run.waiting_for_workers', { needed: this.o.workers });
    await this.registry.waitForAlive(Math.max(this.perPair, this.o.workers), this.heartbeatTimeout);
    this.liveness = setInterval(() => this.checkLiveness(), this.o.livenessIntervalMs ?? 500);
    await this.place();
    let retries = 0;
    while (this.iteration < this.maxIterations) {
      try {
        await this.step();
        retries = 0;
        const k = this.iteration;
        const evalDue = this.evalDue(k);
        if (evalDue || k % this.o.config.checkpoint.every === 0 || k === this.maxIterations) await this.checkpoint(k);
        if (evalDue) await this.evaluate(k);
      } catch (err) {
        if (!(err instanceof EpochFailure)) throw err;
        if (++retries > (this.o.maxRetries ?? 5)) throw new TracocoError(`giving up after ${retries - 1} retries: ${err.message}`);
        await this.recover(err.message);
      }
    }
  }

  private evalDue(k: number): boolean {
    if (this.o.data.evalIds.length === 0) return false;
    return k === this.maxIterations || periodicEvalDue(this.o.config.eval, this.planner.iterationsPerEpoch, k);
  }

  /** (Re)assigns roles for a new epoch and starts everyone from the last checkpoint. */
  private async place(): Promise<void> {
    const alive = this.registry.alive(this.heartbeatTimeout);
    const plan = placeWorkers(alive.map((w) => w.id), this.state.shards, this.perPair);
    if (!plan) throw new EpochFailure(`not enough live workers (${alive.length})`);
    ({ pairs: this.pairs, placements: this.placements } = plan);
    this.state.epoch += 1;
    this.iteration = this.state.iteration;
    await saveRunState(this.o.transport.kv, this.state);
    for (const w of this.registry.workers.values()) w.assigned = null;
    for (const x of this.placements) this.worker(x).assigned = { role: x.role, pair: x.pair, rank: x.rank };
    const epoch = this.state.epoch;
    this.log.info('run.placed', { epoch, pairs: this.pairs, iteration: this.iteration, workers: this.placements.map((x) => `${x.workerId}:m${x.role}p${x.pair}`) });
    for (const x of this.placements) await this.assign(x, epoch);
    this.replies.resume();
    if (this.o.confirmAssignments) await this.confirmPlacement(epoch);
    this.o.observer?.onWorkers?.(this.registry.countsByState(this.heartbeatTimeout));
  }

  private worker(x: Placement): WorkerRecord {
    return this.registry.workers.get(x.workerId)!;
  }

  private async assign(x: Placement, epoch: number): Promise<void> {
    const { runId, checkpoint } = this.state;
    const peer = peerOf(this.placements, x)?.workerId ?? '';
    await this.send(x.workerId, messages.assign({ runId, epoch, role: x.role, pair: x.pair, peer, replicas: replicasOf(this.placements, x.role), config: this.o.config, checkpoint }));
    await this.sendCases(x, epoch);
  }

  /**
   * Over a network, an assignment sent while a worker's connection was down is lost: wait until
   * every placed worker's heartbeat reports the new epoch, re-sending to the ones that do not.
   */
  private async confirmPlacement(epoch: number): Promise<void> {
    const deadline = Date.now() + this.heartbeatTimeout;
    let lastSend = Date.now();
    for (;;) {
      const pending = this.placements.filter((x) => this.worker(x).epoch !== epoch);
      if (pending.length === 0) return;
      if (this.replies.failure) throw this.replies.failure;
      if (Date.now() > deadline) throw new EpochFailure(`assignment not confirmed by ${pending.map((x) => x.workerId).join(', ')}`);
      if (Date.now() - lastSend > 2000) {
        lastSend = Date.now();
        for (const x of pending) {
          this.worker(x).sent.clear();
          await this.assign(x, epoch);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private shardsOf(pair: number): number[] {
    return shardsOfPair(pair, this.pairs, this.state.shards);
  }

  /** Training cases of the pair's shards; evaluation cases to the rank-0 replicas, which evaluate. */
  private async sendCases(x: Placement, epoch: number): Promise<void> {
    const train = [...this.o.data.labeled, ...this.shardsOf(x.pair).flatMap((s) => this.planner.shardCases(s))];
    await this.caseDelivery.sendTo(this.worker(x), this.state.runId, train, epoch);
    if (x.rank === 0) await this.caseDelivery.sendTo(this.worker(x), this.state.runId, this.o.data.evalIds, epoch);
  }

  private async step(): Promise<void> {
    const t0 = performance.now();
    const epoch = this.state.epoch;
    const t = this.iteration;
    const k = t + 1;
    const lr = this.planner.learningRate(k);
    const consistencyWeight = this.planner.consistencyWeight(k);
    const plans = Array.from({ length: this.state.shards }, (_, s) => this.planner.shardPlan(s, t));
    for (const x of this.placements) {
      await this.send(x.workerId, messages.step({ runId: this.state.runId, epoch, iteration: t, lr, consistencyWeight, shards: this.shardsOf(x.pair).map((s) => plans[s]!) }));
    }
    const done = (await Promise.all(this.placements.map((x) => this.reply(replyKeys.step(epoch, t, x.workerId))))) as StepDoneMessage[];
    this.iteration = k;
    const summary = summarizeStep(done, this.pairs);
    for (const [role, tr] of Object.entries(summary.terms)) {
      if (!Number.isFinite(tr.total)) this.log.error('train.loss_not_finite', { iteration: k, role: Number(role), terms: tr });
    }
    this.o.observer?.onStep?.({ iteration: k, maxIterations: this.maxIterations, lr, consistencyWeight, ...summary, seconds: (performance.now() - t0) / 1000 });
  }

  private async checkpoint(k: number): Promise<void> {
    const epoch = this.state.epoch;
    const roles = this.roles;
    for (const x of this.placements) await this.send(x.workerId, messages.checkpoint({ runId: this.state.runId, epoch, iteration: k }));
    const stored = (await Promise.all(roles.map((r) => this.reply(replyKeys.checkpoint(epoch, k, r))))) as CheckpointDoneMessage[];
    const previous = this.state.checkpoint;
    this.state.checkpoint = checkpointRef(k, stored);
    this.state.iteration = k;
    await saveRunState(this.o.transport.kv, this.state);
    if (this.outputs) await this.outputs.writeLatest(this.o.transport.objects, this.state, roles);
    if (previous && previous.iteration !== k) await this.deleteCheckpoint(previous);
    this.o.observer?.onCheckpoint?.({ iteration: k });
  }

  private async deleteCheckpoint(ref: CheckpointRef): Promise<void> {
    const names = new Set(Object.values(ref.models).flatMap((m) => [m.weights, m.optimizer]));
    for (const name of names) if (!this.evaluations.pinned(name)) await this.o.transport.objects.delete(name);
  }

  /** Evaluates the checkpoint at k: on idle workers when there are any, else between steps. */
  private async evaluate(k: number): Promise<void> {
    const epoch = this.state.epoch;
    const roles = this.roles;
    const ref = this.state.checkpoint!;
    if (await this.evaluations.dispatchToIdle(ref, roles, this.idleWorkers())) return;
    const evaluators = roles.map((r) => this.placements.find((x) => x.role === r && x.rank === 0)!);
    const evalIds = evaluators.map((x) => `${epoch}/${k}/${x.role}`);
    for (const [i, x] of evaluators.entries()) {
      await this.send(x.workerId, messages.evaluate({ runId: this.state.runId, evalId: evalIds[i]!, epoch, role: x.role, iteration: k, caseIds: this.o.data.evalIds, weights: null, config: null }));
    }
    const results = (await Promise.all(evalIds.map((id) => this.reply(replyKeys.evaluation(id))))) as EvalDoneMessage[];
    for (const r of results) await this.evaluations.record(r, ref.models[r.role].weights);
  }

  /** Live workers holding no model replica: capacity for evaluations. */
  private idleWorkers(): WorkerRecord[] {
    return this.registry.alive(this.heartbeatTimeout).filter((w) => !this.placements.some((x) => x.workerId === w.id));
  }

  private async recover(reason: string): Promise<void> {
    this.recoveries++;
    this.log.warn('run.recover', { reason, rollback_to: this.state.iteration, epoch: this.state.epoch });
    this.o.observer?.onRecovery?.({ reason, iteration: this.state.iteration, epoch: this.state.epoch });
    this.replies.clear(() => true, 'epoch abandoned');
    // Messages may have been lost with the failure: send every worker its cases again.
    for (const w of this.registry.workers.values()) w.sent.clear();
    for (;;) {
      await this.registry.waitForAlive(this.perPair, this.heartbeatTimeout);
      try {
        await this.place();
        return;
      } catch (err) {
        if (!(err instanceof EpochFailure)) throw err;
        this.log.warn('run.place_failed', { reason: err.message });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  private async finish(): Promise<void> {
    await this.evaluations.drain(this.o.stepTimeoutMs ?? 3_600_000);
    this.state.finished = true;
    await saveRunState(this.o.transport.kv, this.state);
    if (this.outputs) await this.outputs.writeState(this.state);
    for (const w of this.registry.alive(this.heartbeatTimeout)) {
      await this.send(w.id, messages.release({ runId: this.state.runId, epoch: this.state.epoch + 1, shutdown: this.o.shutdownWorkers ?? false }));
    }
    this.o.observer?.onFinish?.({ iteration: this.state.iteration, best: this.state.best });
  }

  private async send(workerId: string, message: Message): Promise<void> {
    await this.o.transport.publish(this.s.worker(workerId), message);
  }

  /** Logged once per worker and run: heartbeats of a worker that serves another run. */
  private foreign(workerId: string, runId: string): void {
    const key = `${workerId}/${runId}`;
    if (this.foreignSeen.has(key)) return;
    this.foreignSeen.add(key);
    this.log.warn('worker.other_run', { worker: workerId, its_run: runId });
  }

  private onReply(m: Message): void {
    if (this.state && !ofRun(m, this.state.runId)) {
      this.o.observer?.onRejected?.(`'${m.type}' of another run (${(m as { runId?: string }).runId}) on the coordinator subject`);
      return;
    }
    const inbound = m as CoordinatorInbound;
    if (inbound.type === 'eval-done' && inbound.evalId.startsWith('idle/')) {
      this.evaluations.onIdleResult(inbound).catch((err) => this.log.error('eval.record_failed', { error: errorMessage(err) }));
      return;
    }
    const key = coordinatorReplyKey(inbound);
    if (key) return this.replies.deliver(key, m);
    if (inbound.type === 'worker-error') {
      this.log.warn('worker.error', { worker: inbound.workerId, epoch: inbound.epoch, error: inbound.error });
      if (this.state && inbound.epoch === this.state.epoch) this.fail(`worker ${inbound.workerId} failed: ${inbound.error}`);
      return;
    }
    this.o.observer?.onRejected?.(`unexpected message '${m.type}' on the coordinator subject`);
  }

  private checkLiveness(): void {
    const lost = this.registry.silent(this.heartbeatTimeout, (id) => this.evaluations.isEvaluating(id));
    this.o.observer?.onWorkers?.(this.registry.countsByState(this.heartbeatTimeout));
    for (const w of lost) {
      this.log.warn('worker.lost', { worker: w.id, silent_ms: Date.now() - w.lastSeen });
      this.registry.markDead(w.id);
    }
    if (this.evaluations.outstanding > 0) {
      const live = new Set(this.registry.alive(this.heartbeatTimeout).map((w) => w.id));
      void this.evaluations.redispatch((id) => live.has(id), this.idleWorkers()).catch(() => {});
    }
    const assignedLost = lost.filter((w) => this.placements.some((x) => x.workerId === w.id));
    if (assignedLost.length > 0) this.fail(`lost worker(s) ${assignedLost.map((w) => w.id).join(', ')}`);
  }

  private fail(reason: string): void {
    this.replies.fail(new EpochFailure(reason));
  }

  /** A reply of the current epoch; an epoch failure or a timeout fails the epoch. */
  private reply(key: string): Promise<Message> {
    return this.replies.take(key, this.o.stepTimeoutMs ?? 3_600_000).catch((err: unknown) => {
      throw err instanceof EpochFailure ? err : new EpochFailure(errorMessage(err));
    });
  }
}
