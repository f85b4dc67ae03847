/**
 * A tracoco worker: hosts one network replica in whatever role the coordinator assigns, builds its
 * batches from cached volumes, exchanges views with its peer and gradients with same-role
 * replicas, and reports each step. The same class runs in a `tracoco worker` process (NATS) and
 * inside `tracoco train` (in-process transport).
 */
import type { Logger } from '../shared/log.js';
import { errorMessage } from '../shared/errors.js';
import { releaseInferenceMemory } from '../shared/backend/index.js';
import { intensityRange } from '../shared/data/index.js';
import { evaluateCase, evaluationSettingsFrom, renderMiddleSlices, type EvaluatedCase } from '../shared/evaluation/index.js';
import { evalModePredictor } from '../shared/inference/index.js';
import { meanMetrics } from '../shared/metrics/index.js';
import { messages, replyKeys, subjects, type AssignMessage, type CasePayload, type CasesMessage, type CheckpointMessage, type EvaluateMessage, type Message, type ReduceMessage, type Role, type StepMessage, type Subscription, type Transport, type ViewsMessage, type WorkerInbound, type WorkerResources, type WorkerState } from '../shared/protocol/index.js';
import { decodeMessage } from '../shared/protocol/codec.js';
import { decodeCheckpoint } from '../shared/checkpoint/index.js';
import { type CachedCase } from '../shared/training/assemble.js';
import { peerViewsBytes, type PeerViews } from '../shared/training/exchange.js';
import { computeGradients, computePeerViews, type StepStatistics } from '../shared/training/step.js';
import { flattenStatistics, unflattenStatistics } from '../shared/training/statistics.js';
import { Mailbox } from '../shared/mailbox.js';
import { recordOf, STEP_PHASES, type PhaseSeconds, type StepPhase } from '../shared/names.js';
import { flattenGradients, Replica, unflattenGradients } from './replica.js';
import { ringAllReduce, type ReduceArray, type RingLink } from './ring-allreduce.js';
import type { BatchBuilder } from './batch-builder.js';
import { inlineBatchBuilder } from './batch-builder.js';
import { shareCase } from './batch-pool.js';
import { intervalHeartbeat, type Heartbeat } from './heartbeat.js';

export interface WorkerOptions {
  workerId: string;
  transport: Transport;
  resources: WorkerResources;
  logger: Logger;
  /** How long a step waits for its peer or its replicas (default 10 minutes). */
  exchangeTimeoutMs?: number;
  /** Heartbeat period of the default timer heartbeat; 0 disables it (in-process runs). */
  heartbeatMs?: number;
  /** Heartbeat source (cluster workers use a thread: heartbeat.ts). */
  heartbeat?: Heartbeat;
  batchBuilder?: BatchBuilder;
  /** Keep cached volumes in SharedArrayBuffers (for a pooled batch builder: batch-pool.ts). */
  shareCases?: boolean;
  observer?: WorkerObserver;
}

/** Hooks for metrics (all optional). */
export interface WorkerObserver {
  onStep?(info: { role: Role; iteration: number; phases: PhaseSeconds; exchangeBytes: number }): void;
  onState?(state: WorkerState): void;
  onRejected?(reason: string): void;
}

interface Assignment {
  message: AssignMessage;
  replica: Replica;
  rank: number;
}

export class TrainingWorker {
  private readonly s: ReturnType<typeof subjects>;
  private readonly cases = new Map<string, CachedCase>();
  private readonly views = new Mailbox<PeerViews>();
  private readonly chunks = new Mailbox<ReduceArray>();
  private readonly subs: Subscription[] = [];
  private readonly queue: WorkerInbound[] = [];
  private draining = false;
  private assignment: Assignment | null = null;
  private state: WorkerState = 'idle';
  private iteration = 0;
  private heartbeat: Heartbeat | null = null;
  private resolveFinished!: () => void;
  /** Resolves when the coordinator releases this worker with `shutdown`. */
  readonly finished: Promise<void>;
  private readonly batchBuilder: BatchBuilder;
  /** Log lines carry the run, role and pair of the current assignment. */
  private log: Logger;

  constructor(private readonly options: WorkerOptions) {
    this.s = subjects(options.transport.prefix);
    this.batchBuilder = options.batchBuilder ?? inlineBatchBuilder;
    this.log = options.logger;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  get id(): string {
    return this.options.workerId;
  }

  async start(): Promise<void> {
    const t = this.options.transport;
    this.subs.push(t.subscribe(this.s.worker(this.id), (m) => this.onCommand(m)));
    this.heartbeat = this.options.heartbeat ?? intervalHeartbeat((kind, state, epoch, runId) => this.publishBeat(kind, state, epoch, runId), this.options.heartbeatMs ?? 1000);
    const onReconnect = t.onReconnect?.(() => void this.reportInterruption());
    if (onReconnect) this.subs.push(onReconnect);
    await this.publishBeat('register', this.state, -1, '');
  }

  /** Messages of the current step may be lost in an outage: ask the coordinator to replay. */
  private async reportInterruption(): Promise<void> {
    const epoch = this.assignment?.message.epoch;
    if (epoch === undefined) return;
    await this.options.transport
      .publish(this.s.coordinator, messages.workerError({ workerId: this.id, runId: this.runId, epoch, error: 'connection interrupted (reconnected)' }))
      .catch(() => {});
  }

  async stop(): Promise<void> {
    await this.heartbeat?.stop();
    this.heartbeat = null;
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
    this.views.clear();
    this.chunks.clear();
    this.assignment?.replica.dispose();
    this.assignment = null;
  }

  private async publishBeat(kind: 'register' | 'heartbeat', state: WorkerState, epoch: number, runId: string): Promise<void> {
    const t = this.options.transport;
    if (kind === 'register') await t.publish(this.s.register, messages.register({ workerId: this.id, resources: this.options.resources }));
    else await t.publish(this.s.heartbeat, messages.heartbeat({ workerId: this.id, runId, state, epoch }));
  }

  private setState(state: WorkerState): void {
    this.state = state;
    // Unassigned workers keep registering, so a (re)started coordinator finds them.
    this.heartbeat?.update(state, this.assignment?.message.epoch ?? -1, this.runId);
    this.options.observer?.onState?.(state);
  }

  private onCommand(m: Message): void {
    if (m.type === 'views') return this.onViews(m);
    if (m.type === 'reduce') return this.onReduce(m);
    if (!['assign', 'cases', 'step', 'evaluate', 'checkpoint', 'release'].includes(m.type)) {
      this.options.observer?.onRejected?.(`unexpected message type '${m.type}'`);
      return;
    }
    const command = m as WorkerInbound;
    if (!this.accepts(command)) {
      this.options.observer?.onRejected?.(`'${command.type}' of another run (${command.runId})`);
      return;
    }
    // A new assignment supersedes whatever earlier epochs had queued or were waiting for
    // (messages of the new epoch may already be buffered: keep those).
    if (command.type === 'assign' || command.type === 'release') {
      // Checkpoint evaluations (weights from the store) belong to no epoch: they stay queued.
      const evaluations = this.queue.filter((c) => c.type === 'evaluate' && c.weights !== null);
      this.queue.length = 0;
      this.queue.push(...evaluations);
      const older = (key: string) => Number(key.split('/')[0]) < command.epoch;
      this.views.clear(older, 'superseded');
      this.chunks.clear(older, 'superseded');
    }
    this.queue.push(command);
    void this.drain();
  }

  // Peer messages are buffered by epoch: the peer may run ahead of this worker's assignment.
  private onViews(m: ViewsMessage): void {
    if (this.assignment && m.epoch < this.assignment.message.epoch) return;
    this.views.deliver(replyKeys.views(m.runId, m.epoch, m.iteration), m.views);
  }

  private onReduce(m: ReduceMessage): void {
    if (this.assignment && m.epoch < this.assignment.message.epoch) return;
    this.chunks.deliver(replyKeys.chunk(m.runId, m.epoch, m.iteration, m.phase, m.step), m.data);
  }

  /** Commands run one at a time, in arrival order. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const command = this.queue.shift()!;
        try {
          await this.handle(command);
        } catch (err) {
          this.log.error('worker.command_failed', { command: command.type, error: errorMessage(err) });
          const report = messages.workerError({ workerId: this.id, runId: command.runId, epoch: 'epoch' in command ? command.epoch : -1, error: `${command.type}: ${errorMessage(err)}` });
          // The transport may be gone (the run was stopped by this very failure): never a rejection nobody handles.
          await this.options.transport.publish(this.s.coordinator, report).catch((e: unknown) => this.log.warn('worker.error_not_sent', { error: errorMessage(e) }));
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async handle(command: WorkerInbound): Promise<void> {
    switch (command.type) {
      case 'assign':
        return this.onAssign(command);
      case 'cases':
        return this.onCases(command);
      case 'step':
        return this.onStep(command);
      case 'evaluate':
        return this.onEvaluate(command);
      case 'checkpoint':
        return this.onCheckpoint(command);
      case 'release':
        this.assignment?.replica.dispose();
        this.assignment = null;
        this.setState('idle');
        if (command.shutdown) this.resolveFinished();
        return;
    }
  }

  private async onAssign(m: AssignMessage): Promise<void> {
    this.assignment?.replica.dispose();
    this.assignment = null;
    const ref = m.checkpoint?.models[m.role];
    const replica = ref ? await Replica.fromStore(m.config, m.role, this.options.transport.objects, ref) : Replica.fresh(m.config, m.role);
    this.assignment = { message: m, replica, rank: m.replicas.indexOf(this.id) };
    this.log = this.options.logger.child({ run: m.runId, role: m.role, pair: m.pair });
    this.iteration = m.checkpoint?.iteration ?? 0;
    this.setState('assigned');
    this.log.info('worker.assigned', { role: m.role, pair: m.pair, epoch: m.epoch, iteration: this.iteration });
  }

  private async onCases(m: CasesMessage): Promise<void> {
    const fetched: CasePayload[] = [];
    for (const name of m.stored) {
      const bytes = await this.options.transport.objects.get(name);
      if (!bytes) throw new Error(`case object '${name}' is missing from the object store`);
      const decoded = decodeMessage(bytes, { maxBytes: Number.MAX_SAFE_INTEGER, subject: name });
      if (decoded.type !== 'cases') throw new Error(`object '${name}' does not hold a case`);
      fetched.push(...decoded.cases);
    }
    for (const c of [...m.cases, ...fetched]) {
      const cached = { image: c.image, label: c.label, shape: c.shape, range: intensityRange(c.image) };
      this.cases.set(c.id, this.options.shareCases ? shareCase(cached) : cached);
    }
  }

  /** The run of the current assignment ('' when unassigned). */
  private get runId(): string {
    return this.assignment?.message.runId ?? '';
  }

  /**
   * Commands of another run than the assigned one are dropped; a new assignment is always taken,
   * and an unassigned worker takes cases and checkpoint evaluations (idle evaluation) of any run.
   */
  private accepts(m: WorkerInbound): boolean {
    if (m.type === 'assign' || !this.assignment) return true;
    if (m.type === 'evaluate' && m.weights !== null) return true;
    return m.runId === this.runId;
  }

  private current(epoch: number): Assignment {
    const a = this.assignment;
    if (!a) throw new Error('no assignment');
    if (a.message.epoch !== epoch) throw new Error(`stale epoch ${epoch} (current ${a.message.epoch})`);
    return a;
  }

  private async onStep(m: StepMessage): Promise<void> {
    const a = this.current(m.epoch);
    const { replica, message: assign } = a;
    this.setState('training');
    const phases: PhaseSeconds = recordOf(STEP_PHASES, () => 0);
    const timed = async <T>(phase: StepPhase, fn: () => T | Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        phases[phase]! += (performance.now() - t0) / 1000;
      }
    };
    const unlabeledLabels = replica.settings.pseudoLabels === 'ground-truth';
    const rb = await timed('data', () => this.batchBuilder(m.shards, (id) => this.cases.get(id), { unlabeledLabels }));
    const ctx = { seed: assign.config.seed, iteration: m.iteration, role: assign.role };
    let peer: PeerViews | null = null;
    let exchangeBytes = 0;
    const timeout = this.options.exchangeTimeoutMs ?? 600_000;
    if (replica.settings.semiSupervised) {
      const mine = await timed('forward', () => computePeerViews(replica.model, rb, replica.settings, ctx));
      exchangeBytes += peerViewsBytes(mine);
      peer = await timed('exchange', async () => {
        await this.options.transport.publish(this.s.worker(assign.peer), messages.views({ runId: m.runId, epoch: m.epoch, iteration: m.iteration, views: mine }));
        return this.views.take(replyKeys.views(m.runId, m.epoch, m.iteration), timeout);
      });
    }
    const replicas = assign.replicas.length;
    const reduceStats = async (local: StepStatistics): Promise<StepStatistics> => {
      const summed = await this.allReduce(a, m, 'stats', flattenStatistics(local), timeout);
      return unflattenStatistics(summed, local);
    };
    const result = await timed('backward', () =>
      computeGradients(replica.model, rb, peer, replica.settings, { ...ctx, consistencyWeight: m.consistencyWeight, replicas, reduce: reduceStats }),
    );
    let grads = result.grads;
    if (replicas > 1) {
      const flat = flattenGradients(replica.model.params, grads);
      for (const g of grads.values()) g.dispose();
      const summed = await timed('allreduce', () => this.allReduce(a, m, 'grads', flat, timeout));
      exchangeBytes += (2 * (replicas - 1) * flat.byteLength) / replicas;
      grads = unflattenGradients(replica.model.params, summed as Float32Array);
    }
    await timed('optimizer', () => replica.optimizer.step(replica.model.params, grads, m.lr));
    for (const g of grads.values()) g.dispose();
    this.iteration = m.iteration + 1;
    this.setState('assigned');
    this.options.observer?.onStep?.({ role: assign.role, iteration: this.iteration, phases, exchangeBytes });
    await this.options.transport.publish(
      this.s.coordinator,
      messages.stepDone({
        workerId: this.id,
        runId: m.runId,
        epoch: m.epoch,
        iteration: m.iteration,
        role: assign.role,
        terms: result.terms,
        confidentRatio: result.confidentRatio,
        phases,
        exchangeBytes,
      }),
    );
  }

  private allReduce<T extends ReduceArray>(a: Assignment, m: StepMessage, phase: 'stats' | 'grads', data: T, timeoutMs: number): Promise<T> {
    const { replicas } = a.message;
    const size = replicas.length;
    const next = replicas[(a.rank + 1) % size]!;
    const link: RingLink = {
      send: (step, chunk) => this.options.transport.publish(this.s.worker(next), messages.reduce({ runId: m.runId, epoch: m.epoch, iteration: m.iteration, phase, step, data: chunk })),
      receive: (step) => this.chunks.take(replyKeys.chunk(m.runId, m.epoch, m.iteration, phase, step), timeoutMs),
    };
    return ringAllReduce(data, a.rank, size, link);
  }

  private async onCheckpoint(m: CheckpointMessage): Promise<void> {
    const a = this.current(m.epoch);
    const { role, runId } = a.message;
    const names = {
      weights: `${runId}/${m.iteration}/model${role}.safetensors`,
      optimizer: `${runId}/${m.iteration}/optimizer${role}.safetensors`,
    };
    // Same-role replicas hold identical weights: the first one stores them.
    if (a.rank === 0) {
      const bytes = a.replica.serialize(m.iteration);
      await this.options.transport.objects.put(names.weights, bytes.weights);
      await this.options.transport.objects.put(names.optimizer, bytes.optimizer);
      await this.options.transport.publish(this.s.coordinator, messages.checkpointDone({ workerId: this.id, runId, epoch: m.epoch, role, iteration: m.iteration, ...names }));
    }
  }

  private async onEvaluate(m: EvaluateMessage): Promise<void> {
    // A checkpoint from the object store (idle capacity), or this worker's own replica.
    const own = m.weights === null ? this.current(m.epoch) : null;
    const config = m.config ?? own?.message.config;
    if (!config) throw new Error('evaluate: no config for an unassigned worker');
    let model = own?.replica.model;
    if (m.weights !== null) {
      const bytes = await this.options.transport.objects.get(m.weights);
      if (!bytes) throw new Error(`checkpoint '${m.weights}' is missing from the object store`);
      model = decodeCheckpoint(bytes, m.weights).model;
    }
    const previous = this.state;
    this.setState('evaluating');
    try {
      const e = config.eval;
      const settings = evaluationSettingsFrom(config);
      const results: EvaluatedCase[] = [];
      const slices: { id: string; png: Uint8Array }[] = [];
      for (const id of m.caseIds) {
        const c = this.cases.get(id);
        if (!c || !c.label) throw new Error(`evaluation case '${id}' is missing or unlabelled`);
        const r = await evaluateCase(evalModePredictor(model!), { id, image: c.image, label: c.label, shape: c.shape }, settings);
        results.push(r);
        if (e.slices) slices.push({ id, png: renderMiddleSlices(c.image, c.label, r.prediction, c.shape) });
      }
      const cases = results.map((r) => r.metrics);
      await this.options.transport.publish(
        this.s.coordinator,
        messages.evalDone({ workerId: this.id, runId: m.runId, evalId: m.evalId, role: m.role, iteration: m.iteration, mean: meanMetrics(cases), cases, slices }),
      );
    } finally {
      if (m.weights !== null) model?.dispose();
      // Training's steps never use the arena: return its memory until the next evaluation.
      releaseInferenceMemory();
      this.setState(previous === 'evaluating' ? 'assigned' : previous);
    }
  }
}
