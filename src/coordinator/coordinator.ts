/**
 * The coordinator: a small Ray-like scheduler for one TraCoCo run (GUIDE §6). It places model
 * replicas on workers in pairs, sends each pair its cases once, drives the steps (indices and
 * augmentation plans only), decides checkpoints and evaluations, keeps the run state durable,
 * and recovers from lost workers by rolling back to the last checkpoint and replaying — plans
 * are pure functions of (seed, iteration), so the replay is exact and no iteration is counted
 * twice or lost.
 */
import type { TracocoConfig } from '../shared/config/index.js';
import { errorMessage, TracocoError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import {
  PROTOCOL_VERSION,
  subjects,
  type CheckpointDoneMessage,
  type CheckpointRef,
  type EvalDoneMessage,
  type Message,
  type Role,
  type StepDoneMessage,
  type Subscription,
  type Transport,
} from '../shared/protocol/index.js';
import { periodicEvalDue } from '../shared/evaluation/settings.js';
import { hashString } from '../shared/random.js';
import { LOSS_TERMS, recordOf, type LossTerms } from '../shared/names.js';
import { Mailbox } from '../shared/mailbox.js';
import { CaseDelivery } from './case-delivery.js';
import { Evaluations } from './evaluations.js';
import type { TrainingObserver } from './observer.js';
import { RunOutputs } from './outputs.js';
import { StepPlanner } from './planner.js';
import { firstDifference, loadRunState, RUN_STATE_VERSION, saveRunState, type RunState } from './run-state.js';
import type { TrainingData } from './training-data.js';
import { WorkerRegistry, type WorkerRecord } from './worker-registry.js';

export interface CoordinatorOptions {
  transport: Transport;
  config: TracocoConfig;
  data: TrainingData;
  /** Workers to wait for before the first step (2 per pair; 1 per replica for the baseline). */
  workers: number;
  /** Run directory for model files, state and evaluation slices (null: object store only). */
  out: string | null;
  logger: Logger;
  observer?: TrainingObserver;
  /** A worker silent this long is lost (default 10 s). */
  heartbeatTimeoutMs?: number;
  /** A step, checkpoint or evaluation taking longer fails and is retried (default 1 h). */
  stepTimeoutMs?: number;
  /** How often the liveness check runs (default 500 ms). */
  livenessIntervalMs?: number;
  /** Tell workers to exit when the run is done. */
  shutdownWorkers?: boolean;
  /** Retries of the same iteration before giving up (default 5). */
  maxRetries?: number;
  /** Wait for heartbeats to confirm each assignment, re-sending lost ones (network transports). */
  confirmAssignments?: boolean;
  /**
   * Put each case in the object store once and send workers its name (clusters: a replacement
   * worker fetches them without the coordinator resending); false sends them inline (local mode).
   */
  storeCases?: boolean;
}

export interface RunSummary {
  runId: string;
  iteration: number;
  best: RunState['best'];
  evals: RunState['evals'];
  recoveries: number;
}

/** A recoverable failure of the current epoch (lost worker, worker error, timeout). */
class EpochFailure extends Error {}

interface Placement {
  role: Role;
  pair: number;
  rank: number;
  worker: WorkerRecord;
}

export class Coordinator {
  private readonly s: ReturnType<typeof subjects>;
  private readonly registry = new WorkerRegistry();
  private readonly replies = new Mailbox<Message>();
  private readonly subs: Subscription[] = [];
  private state!: RunState;
  private planner!: StepPlanner;
  private placements: Placement[] = [];
  private pairs = 0;
  private iteration = 0;
  private failure: EpochFailure | null = null;
  private failWaiters: ((e: EpochFailure) => void)[] = [];
  private liveness: NodeJS.Timeout | null = null;
  private recoveries = 0;
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
      sendEvalCases: (w) => this.sendCaseSet(w, 'eval', o.data.evalIds, this.state.epoch),
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

  private async initState(): Promise<void> {
    const config = this.o.config;
    const existing = await loadRunState(this.o.transport.kv);
    if (existing) {
      const diff = firstDifference(existing.config, config);
      if (diff) {
        throw new TracocoError(`the run directory/state holds a run with a different config (first difference: '${diff}'); use another --out or the same config`, {
          field: diff,
        });
      }
      this.state = existing;
      this.log.info('run.resume', { runId: existing.runId, iteration: existing.iteration, epoch: existing.epoch });
    } else {
      const initialPairs = this.semi ? Math.floor(this.o.workers / 2) : this.o.workers;
      if (initialPairs < 1) throw new TracocoError(`needs at least ${this.semi ? 2 : 1} workers, got ${this.o.workers}`, { flag: '--workers' });
      const shards = config.train.shards ?? initialPairs;
      this.state = {
        version: RUN_STATE_VERSION,
        runId: `${config.name}-${hashString(JSON.stringify(config)).toString(16).padStart(8, '0')}`,
        config,
        shards,
        shardBatch: (config.train.batch_size * initialPairs) / shards,
        epoch: 0,
        iteration: 0,
        checkpoint: null,
        best: null,
        evals: [],
        finished: false,
      };
      await saveRunState(this.o.transport.kv, this.state);
    }
    this.log = this.o.logger.child({ run: this.state.runId });
    await this.outputs?.writeConfig(config);
    const cases = { labeled: this.o.data.labeled, unlabeled: this.o.data.unlabeled, shapes: this.o.data.shapes };
    this.planner = new StepPlanner(config, cases, this.state.shards, this.state.shardBatch);
    this.iteration = this.state.iteration;
  }

  private async train(): Promise<void> {
    const perRole = this.semi ? 2 : 1;
    this.log.info('run.waiting_for_workers', { needed: this.o.workers });
    await this.registry.waitForAlive(Math.max(perRole, this.o.workers), this.heartbeatTimeout);
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
    const perPair = this.semi ? 2 : 1;
    const shards = this.state.shards;
    let pairs = Math.min(Math.floor(alive.length / perPair), shards);
    while (pairs > 0 && shards % pairs !== 0) pairs--;
    if (pairs === 0) throw new EpochFailure(`not enough live workers (${alive.length})`);
    this.pairs = pairs;
    this.state.epoch += 1;
    this.iteration = this.state.iteration;
    await saveRunState(this.o.transport.kv, this.state);
    for (const w of this.registry.workers.values()) w.assigned = null;
    this.placements = [];
    for (let p = 0; p < pairs; p++) {
      for (let r = 0; r < perPair; r++) {
        const worker = alive[p * perPair + r]!;
        const role = (r + 1) as Role;
        this.placements.push({ role, pair: p, rank: p, worker });
        worker.assigned = { role, pair: p, rank: p };
      }
    }
    const epoch = this.state.epoch;
    this.log.info('run.placed', { epoch, pairs, iteration: this.iteration, workers: this.placements.map((x) => `${x.worker.id}:m${x.role}p${x.pair}`) });
    for (const x of this.placements) await this.assign(x, epoch);
    this.failure = null;
    if (this.o.confirmAssignments) await this.confirmPlacement(epoch);
    this.o.observer?.onWorkers?.(this.registry.countsByState(this.heartbeatTimeout));
  }

  private async assign(x: Placement, epoch: number): Promise<void> {
    const peer = this.placements.find((y) => y.pair === x.pair && y.role !== x.role);
    await this.send(x.worker.id, {
      v: PROTOCOL_VERSION,
      type: 'assign',
      runId: this.state.runId,
      epoch,
      role: x.role,
      pair: x.pair,
      pairs: this.pairs,
      peer: peer?.worker.id ?? '',
      replicas: this.placements.filter((y) => y.role === x.role).map((y) => y.worker.id),
      config: this.o.config,
      checkpoint: this.state.checkpoint,
    });
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
      const pending = this.placements.filter((x) => x.worker.epoch !== epoch);
      if (pending.length === 0) return;
      if (this.failure) throw this.failure;
      if (Date.now() > deadline) throw new EpochFailure(`assignment not confirmed by ${pending.map((x) => x.worker.id).join(', ')}`);
      if (Date.now() - lastSend > 2000) {
        lastSend = Date.now();
        for (const x of pending) {
          x.worker.sent.clear();
          await this.assign(x, epoch);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private shardsOf(pair: number): number[] {
    return Array.from({ length: this.state.shards }, (_, s) => s).filter((s) => s % this.pairs === pair);
  }

  private async sendCases(x: Placement, epoch: number): Promise<void> {
    const train = [...this.o.data.labeled, ...this.shardsOf(x.pair).flatMap((s) => this.planner.shardCases(s))];
    await this.sendCaseSet(x.worker, 'train', train, epoch);
    if (x.rank === 0) await this.sendCaseSet(x.worker, 'eval', this.o.data.evalIds, epoch);
  }

  /** Sends the cases of `ids` the worker does not hold yet. */
  private async sendCaseSet(worker: WorkerRecord, purpose: 'train' | 'eval', ids: string[], epoch: number): Promise<void> {
    const delivery = await this.caseDelivery.message(this.state.runId, worker.sent, ids, purpose, epoch);
    if (!delivery) return;
    await this.send(worker.id, delivery.message);
    for (const id of delivery.ids) worker.sent.add(id);
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
      await this.send(x.worker.id, { v: PROTOCOL_VERSION, type: 'step', epoch, iteration: t, lr, consistencyWeight, shards: this.shardsOf(x.pair).map((s) => plans[s]!) });
    }
    const done = (await Promise.all(this.placements.map((x) => this.await(`${epoch}/step/${t}/${x.worker.id}`)))) as StepDoneMessage[];
    this.iteration = k;
    const terms: Partial<Record<Role, LossTerms>> = {};
    const confident: Partial<Record<Role, { positive: number; negative: number }>> = {};
    const phases: Record<string, number> = {};
    let exchangeBytes = 0;
    for (const d of done) {
      terms[d.role] = sumTerms(terms[d.role], d.terms);
      const c = (confident[d.role] ??= { positive: 0, negative: 0 });
      c.positive += d.confidentRatio.positive / this.pairs;
      c.negative += d.confidentRatio.negative / this.pairs;
      for (const [phase, secs] of Object.entries(d.phases)) phases[phase] = Math.max(phases[phase] ?? 0, secs);
      exchangeBytes += d.exchangeBytes;
    }
    for (const [role, tr] of Object.entries(terms)) {
      if (!Number.isFinite(tr.total)) this.log.error('train.loss_not_finite', { iteration: k, role: Number(role), terms: tr });
    }
    this.o.observer?.onStep?.({
      iteration: k,
      maxIterations: this.maxIterations,
      lr,
      consistencyWeight,
      terms,
      confidentRatio: confident,
      phases,
      exchangeBytes,
      seconds: (performance.now() - t0) / 1000,
    });
  }

  private async checkpoint(k: number): Promise<void> {
    const epoch = this.state.epoch;
    const roles: Role[] = this.semi ? [1, 2] : [1];
    for (const x of this.placements) await this.send(x.worker.id, { v: PROTOCOL_VERSION, type: 'checkpoint', epoch, iteration: k });
    const stored = (await Promise.all(roles.map((r) => this.await(`${epoch}/checkpoint/${k}/${r}`)))) as CheckpointDoneMessage[];
    const models = {} as CheckpointRef['models'];
    for (const d of stored) models[d.role] = { weights: d.weights, optimizer: d.optimizer };
    if (!this.semi) models[2] = models[1];
    const previous = this.state.checkpoint;
    this.state.checkpoint = { iteration: k, models };
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
    const roles: Role[] = this.semi ? [1, 2] : [1];
    const ref = this.state.checkpoint!;
    if (await this.evaluations.dispatchToIdle(ref, roles, this.idleWorkers())) return;
    const evaluators = roles.map((r) => this.placements.find((x) => x.role === r && x.rank === 0)!);
    for (const x of evaluators) {
      await this.send(x.worker.id, {
        v: PROTOCOL_VERSION,
        type: 'evaluate',
        evalId: `${epoch}/${k}/${x.role}`,
        epoch,
        role: x.role,
        iteration: k,
        caseIds: this.o.data.evalIds,
        weights: null,
        config: null,
      });
    }
    const results = (await Promise.all(evaluators.map((x) => this.await(`${epoch}/eval/${k}/${x.role}`)))) as EvalDoneMessage[];
    for (const r of results) await this.evaluations.record(r, ref.models[r.role].weights);
  }

  /** Live workers holding no model replica: capacity for evaluations. */
  private idleWorkers(): WorkerRecord[] {
    return this.registry.alive(this.heartbeatTimeout).filter((w) => !this.placements.some((x) => x.worker.id === w.id));
  }

  /** Waits (bounded) for evaluations still running on idle workers. */
  private async drainEvaluations(): Promise<void> {
    const deadline = Date.now() + (this.o.stepTimeoutMs ?? 3_600_000);
    while (this.evaluations.outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (this.evaluations.outstanding > 0) this.log.warn('eval.abandoned', { outstanding: this.evaluations.outstanding });
  }

  private async recover(reason: string): Promise<void> {
    this.recoveries++;
    this.log.warn('run.recover', { reason, rollback_to: this.state.iteration, epoch: this.state.epoch });
    this.o.observer?.onRecovery?.({ reason, iteration: this.state.iteration, epoch: this.state.epoch });
    this.replies.clear(() => true, 'epoch abandoned');
    // Messages may have been lost with the failure: send every worker its cases again.
    for (const w of this.registry.workers.values()) w.sent.clear();
    for (;;) {
      const need = this.semi ? 2 : 1;
      await this.registry.waitForAlive(need, this.heartbeatTimeout);
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
    await this.drainEvaluations();
    this.state.finished = true;
    await saveRunState(this.o.transport.kv, this.state);
    if (this.outputs) await this.outputs.writeState(this.state);
    for (const w of this.registry.alive(this.heartbeatTimeout)) {
      await this.send(w.id, { v: PROTOCOL_VERSION, type: 'release', epoch: this.state.epoch + 1, shutdown: this.o.shutdownWorkers ?? false });
    }
    this.o.observer?.onFinish?.({ iteration: this.state.iteration, best: this.state.best });
  }

  private async send(workerId: string, message: Message): Promise<void> {
    await this.o.transport.publish(this.s.worker(workerId), message);
  }

  private onReply(m: Message): void {
    const epoch = 'epoch' in m ? (m as { epoch: number }).epoch : -1;
    switch (m.type) {
      case 'step-done':
        return this.replies.deliver(`${m.epoch}/step/${m.iteration}/${m.workerId}`, m);
      case 'checkpoint-done':
        return this.replies.deliver(`${m.epoch}/checkpoint/${m.iteration}/${m.role}`, m);
      case 'eval-done':
        if (m.evalId.startsWith('idle/')) {
          this.evaluations.onIdleResult(m).catch((err) => this.log.error('eval.record_failed', { error: errorMessage(err) }));
          return;
        }
        return this.replies.deliver(`${m.evalId.split('/')[0]}/eval/${m.iteration}/${m.role}`, m);
      case 'worker-error':
        this.log.warn('worker.error', { worker: m.workerId, epoch: m.epoch, error: m.error });
        if (this.state && epoch === this.state.epoch) this.fail(`worker ${m.workerId} failed: ${m.error}`);
        return;
      default:
        this.o.observer?.onRejected?.(`unexpected message '${m.type}' on the coordinator subject`);
    }
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
    const assignedLost = lost.filter((w) => this.placements.some((x) => x.worker.id === w.id));
    if (assignedLost.length > 0) this.fail(`lost worker(s) ${assignedLost.map((w) => w.id).join(', ')}`);
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new EpochFailure(reason);
    for (const w of this.failWaiters.splice(0)) w(this.failure);
  }

  /** Waits for a reply of the current epoch, failing early when the epoch fails. */
  private await(key: string): Promise<Message> {
    if (this.failure) return Promise.reject(this.failure);
    const timeout = this.o.stepTimeoutMs ?? 3_600_000;
    return new Promise<Message>((resolve, reject) => {
      const onFail = (e: EpochFailure) => reject(e);
      this.failWaiters.push(onFail);
      this.replies.take(key, timeout).then(
        (m) => {
          this.failWaiters = this.failWaiters.filter((w) => w !== onFail);
          resolve(m);
        },
        (err) => {
          this.failWaiters = this.failWaiters.filter((w) => w !== onFail);
          reject(err instanceof EpochFailure ? err : new EpochFailure(errorMessage(err)));
        },
      );
    });
  }
}

function sumTerms(a: LossTerms | undefined, b: LossTerms): LossTerms {
  if (!a) return { ...b };
  return recordOf(LOSS_TERMS, (t) => a[t] + b[t]);
}
