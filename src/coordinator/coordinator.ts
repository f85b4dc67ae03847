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
import { coordinatorReplyKey, messages, ofRun, replyKeys, subjects } from '../shared/protocol/index.js';
import type { CheckpointDoneMessage, CoordinatorInbound, HeartbeatMessage, Message, Role, StepDoneMessage, Subscription } from '../shared/protocol/index.js';
import { periodicEvalDue } from '../shared/evaluation/settings.js';
import { Mailbox } from '../shared/mailbox.js';
import { CaseDelivery } from './case-delivery.js';
import { Evaluations } from './evaluations.js';
import { RunOutputs } from './outputs.js';
import { StepPlanner } from './planner.js';
import { checkpointRef, openRunState, saveRunState, type RunState } from './run-state.js';
import { WorkerRegistry } from './worker-registry.js';
import { EpochFailure, EpochPlacement } from './epoch-placement.js';
import { summarizeStep } from './step-summary.js';
import type { CoordinatorOptions, RunSummary } from './options.js';

export type { CoordinatorOptions, RunSummary };

export class Coordinator {
  private readonly s: ReturnType<typeof subjects>;
  private readonly registry = new WorkerRegistry();
  /** Replies by `replyKeys`; failed as a whole when the epoch fails. */
  private readonly replies = new Mailbox<Message>();
  private readonly subs: Subscription[] = [];
  private state!: RunState;
  private planner!: StepPlanner;
  private readonly placed: EpochPlacement;
  private iteration = 0;
  private liveness: NodeJS.Timeout | null = null;
  private recoveries = 0;
  /** The models trained: both, or model 1 alone for the supervised baseline. */
  private readonly roles: Role[];
  private readonly maxIterations: number;
  /** A worker silent this long is lost. */
  private readonly heartbeatTimeout: number;
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
    this.maxIterations = o.config.train.max_iterations;
    this.heartbeatTimeout = o.heartbeatTimeoutMs ?? 10_000;
    const semi = o.config.train.semi_supervised;
    this.roles = semi ? [1, 2] : [1];
    const { caseDelivery, registry } = this;
    this.placed = new EpochPlacement({ config: o.config, registry, caseDelivery, labeled: o.data.labeled, evalIds: o.data.evalIds, send: (id, m) => this.send(id, m) }, semi ? 2 : 1);
  }

  /** Subscribes to worker traffic; `run` calls it, callers that start workers first call it earlier. */
  listen(): void {
    if (this.subs.length > 0) return;
    const t = this.o.transport;
    this.subs.push(
      t.subscribe(this.s.register, (m) => m.type === 'register' && this.registry.onRegister(m)),
      t.subscribe(this.s.heartbeat, (m) => m.type === 'heartbeat' && this.onHeartbeat(m)),
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
    const abort = () => this.fail(errorMessage(this.o.signal!.reason));
    this.o.signal?.addEventListener('abort', abort, { once: true });
    try {
      await this.initState();
      this.o.observer?.onStart?.({ runId: this.state.runId, iteration: this.state.iteration, maxIterations: this.maxIterations, resumed: this.state.iteration > 0 });
      if (!this.state.finished) await this.train();
      await this.finish();
      return { runId: this.state.runId, iteration: this.state.iteration, best: this.state.best, evals: this.state.evals, recoveries: this.recoveries };
    } finally {
      this.o.signal?.removeEventListener('abort', abort);
      if (this.liveness) clearInterval(this.liveness);
      for (const sub of this.subs.splice(0)) sub.unsubscribe();
      this.replies.clear();
    }
  }

  private async initState(): Promise<void> {
    const config = this.o.config;
    const pairs = Math.floor(this.o.workers / this.placed.perPair);
    if (pairs < 1) throw new TracocoError(`needs at least ${this.placed.perPair} workers, got ${this.o.workers}`, { flag: '--workers' });
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
    await this.registry.waitForAlive(Math.max(this.placed.perPair, this.o.workers), this.heartbeatTimeout, this.o.signal);
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
        if (evalDue) await this.evaluate();
      } catch (err) {
        if (this.o.signal?.aborted) throw this.o.signal.reason;
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
    if (!this.placed.place(alive, this.state.shards)) throw new EpochFailure(`not enough live workers (${alive.length})`);
    this.state.epoch += 1;
    this.iteration = this.state.iteration;
    await saveRunState(this.o.transport.kv, this.state);
    this.log.info('run.placed', { epoch: this.state.epoch, pairs: this.placed.pairs, iteration: this.iteration, workers: this.placed.placements.map((x) => `${x.workerId}:m${x.role}p${x.pair}`) });
    await this.placed.assignAll(this.state, this.planner);
    this.replies.resume();
    if (this.o.confirmAssignments) await this.placed.confirm(this.state, this.planner, this.heartbeatTimeout, () => this.replies.failure);
    this.o.observer?.onWorkers?.(this.registry.countsByState(this.heartbeatTimeout));
  }

  private async step(): Promise<void> {
    const t0 = performance.now();
    const epoch = this.state.epoch;
    const t = this.iteration;
    const k = t + 1;
    const lr = this.planner.learningRate(k);
    const consistencyWeight = this.planner.consistencyWeight(k);
    const plans = Array.from({ length: this.state.shards }, (_, s) => this.planner.shardPlan(s, t));
    for (const x of this.placed.placements) {
      await this.send(x.workerId, messages.step({ runId: this.state.runId, epoch, iteration: t, lr, consistencyWeight, shards: this.placed.shardsOf(x.pair, this.state.shards).map((s) => plans[s]!) }));
    }
    const done = (await Promise.all(this.placed.placements.map((x) => this.reply(replyKeys.step(epoch, t, x.workerId))))) as StepDoneMessage[];
    this.iteration = k;
    const summary = summarizeStep(done, this.placed.pairs);
    for (const [role, tr] of Object.entries(summary.terms)) {
      if (!Number.isFinite(tr.total)) this.log.error('train.loss_not_finite', { iteration: k, role: Number(role), terms: tr });
    }
    this.o.observer?.onStep?.({ iteration: k, maxIterations: this.maxIterations, lr, consistencyWeight, ...summary, seconds: (performance.now() - t0) / 1000 });
  }

  private async checkpoint(k: number): Promise<void> {
    const epoch = this.state.epoch;
    for (const x of this.placed.placements) await this.send(x.workerId, messages.checkpoint({ runId: this.state.runId, epoch, iteration: k }));
    const stored = (await Promise.all(this.roles.map((r) => this.reply(replyKeys.checkpoint(epoch, k, r))))) as CheckpointDoneMessage[];
    const previous = this.state.checkpoint;
    this.state.checkpoint = checkpointRef(k, stored);
    this.state.iteration = k;
    await saveRunState(this.o.transport.kv, this.state);
    if (this.outputs) await this.outputs.writeLatest(this.o.transport.objects, this.state, this.roles);
    if (previous && previous.iteration !== k) await this.evaluations.releaseCheckpoint(previous);
    this.o.observer?.onCheckpoint?.({ iteration: k });
  }

  /** Evaluates the checkpoint just written: on idle workers when there are any, else between steps. */
  private async evaluate(): Promise<void> {
    const ref = this.state.checkpoint!;
    if (await this.evaluations.dispatchToIdle(ref, this.roles, this.placed.idle(this.registry.alive(this.heartbeatTimeout)))) return;
    await this.evaluations.onReplicas(ref, this.state.epoch, this.roles.map((r) => this.placed.evaluator(r)), (key) => this.reply(key));
  }

  private async recover(reason: string): Promise<void> {
    this.recoveries++;
    this.log.warn('run.recover', { reason, rollback_to: this.state.iteration, epoch: this.state.epoch });
    this.o.observer?.onRecovery?.({ reason, iteration: this.state.iteration, epoch: this.state.epoch });
    this.replies.clear(() => true, 'epoch abandoned');
    // Messages may have been lost with the failure: send every worker its cases again.
    for (const w of this.registry.workers.values()) w.sent.clear();
    // Prefer the configured pairs: a restarting worker gets one heartbeat timeout to come back
    // before the run goes on with fewer.
    await this.registry.waitForAlive(this.o.workers, this.heartbeatTimeout, AbortSignal.timeout(this.heartbeatTimeout)).catch(() => {});
    for (;;) {
      await this.registry.waitForAlive(this.placed.perPair, this.heartbeatTimeout);
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

  private onHeartbeat(m: HeartbeatMessage): void {
    // A worker busy with another run is not ours to place (nor lost when it stays away).
    if (m.runId !== '' && this.state && m.runId !== this.state.runId) {
      if (this.registry.firstTime(`other-run/${m.workerId}/${m.runId}`)) this.log.warn('worker.other_run', { worker: m.workerId, its_run: m.runId });
      return;
    }
    this.registry.onHeartbeat(m);
    this.o.observer?.onHeartbeat?.(m.workerId);
    // Left out of the current placement, a worker still holds an older epoch's replica and may
    // wait on a peer that is gone: release it, so it is idle capacity (e.g. for evaluations) again.
    const { epoch, runId } = this.state ?? { epoch: -1, runId: '' };
    if (m.epoch >= 0 && m.epoch < epoch && !this.placed.holds(m.workerId) && this.registry.firstTime(`release/${m.workerId}/${epoch}`)) {
      this.send(m.workerId, messages.release({ runId, epoch, shutdown: false })).catch((err) => this.log.warn('worker.release_failed', { worker: m.workerId, error: errorMessage(err) }));
    }
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
      const alive = this.registry.alive(this.heartbeatTimeout);
      void this.evaluations.redispatch((id) => alive.some((w) => w.id === id), this.placed.idle(alive)).catch(() => {});
    }
    const assignedLost = lost.filter((w) => this.placed.holds(w.id));
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
