/**
 * The wire protocol between the coordinator and the workers, and between workers (GUIDE §6).
 * One typed module both sides import; every message carries the protocol version and its type.
 * Bulk arrays (volumes, exchanged views, gradient chunks) are typed arrays, which msgpackr
 * encodes as raw bytes.
 */
import type { TracocoConfig } from '../config/index.js';
import type { BatchPlan } from '../data/index.js';
import type { SegmentationMetrics } from '../metrics/index.js';
import type { ClassMetrics } from '../metrics/class-metrics.js';
import type { LossTerms, PhaseSeconds } from '../names.js';
import type { PeerViews } from './payloads.js';

/**
 * 2: unread fields removed (assign.pairs, views.pair/fromRole, reduce.role/from, cases.purpose,
 * step-done.pair, heartbeat.iteration, resources beyond device/backend); every message but
 * `register` carries the run id, and a receiver drops messages of another run.
 * 3: eval-done cases carry per-class scores (`classes`); configs carry `model.architecture`.
 */
export const PROTOCOL_VERSION = 3;

export type Role = 1 | 2;

/** What the coordinator places by (GPU workers first) and logs. */
export interface WorkerResources {
  device: 'gpu' | 'cpu';
  backend: string;
}

export type WorkerState = 'idle' | 'assigned' | 'training' | 'evaluating';

/** A data shard's part of one step: which cases fill the batch slots, and how they are augmented. */
export interface ShardPlan {
  shard: number;
  labeledIds: string[];
  unlabeledIds: string[];
  /** Slots 0..L-1 labelled, L.. unlabelled; `cutmix` set when model 2 mixes. */
  plan: BatchPlan;
}

/** Where a checkpoint lives: a key in the object store (cluster) or a file (local). */
export interface CheckpointRef {
  iteration: number;
  /** Object-store names (or file paths) of each model's weights and optimiser state. */
  models: Record<Role, { weights: string; optimizer: string }>;
}

export interface CasePayload {
  id: string;
  shape: [number, number, number];
  image: Float32Array;
  label: Uint8Array | null;
}

interface Envelope {
  v: number;
}

/** The run a message belongs to (`RunState.runId`); '' from a worker that holds no assignment. */
interface RunScoped {
  runId: string;
}

// worker -> coordinator
export interface RegisterMessage extends Envelope {
  type: 'register';
  workerId: string;
  resources: WorkerResources;
}
export interface HeartbeatMessage extends Envelope, RunScoped {
  type: 'heartbeat';
  workerId: string;
  state: WorkerState;
  /** Epoch of the worker's current assignment (-1 when unassigned): confirms assignments. */
  epoch: number;
}
export interface StepDoneMessage extends Envelope, RunScoped {
  type: 'step-done';
  workerId: string;
  epoch: number;
  iteration: number;
  role: Role;
  terms: LossTerms;
  confidentRatio: { positive: number; negative: number };
  /** Seconds per phase: data, forward, exchange, backward, allreduce, optimizer. */
  phases: PhaseSeconds;
  exchangeBytes: number;
}
export interface EvalDoneMessage extends Envelope, RunScoped {
  type: 'eval-done';
  workerId: string;
  evalId: string;
  role: Role;
  iteration: number;
  mean: SegmentationMetrics;
  /** Per case: the mean over the foreground classes, and each class 1…C−1's scores. */
  cases: (SegmentationMetrics & { id: string; classes: ClassMetrics[] })[];
  /** PNG of the middle slices per case (written to <out>/eval/ by the coordinator). */
  slices: { id: string; png: Uint8Array }[];
}
export interface CheckpointDoneMessage extends Envelope, RunScoped {
  type: 'checkpoint-done';
  workerId: string;
  epoch: number;
  role: Role;
  iteration: number;
  weights: string;
  optimizer: string;
}
export interface WorkerErrorMessage extends Envelope, RunScoped {
  type: 'worker-error';
  workerId: string;
  epoch: number;
  error: string;
}

// coordinator -> worker
export interface AssignMessage extends Envelope, RunScoped {
  type: 'assign';
  epoch: number;
  role: Role;
  pair: number;
  peer: string;
  /** Same-role replicas in reduction order (this worker included). */
  replicas: string[];
  config: TracocoConfig;
  /** Start from these weights (null: fresh initialisation from the run seed). */
  checkpoint: CheckpointRef | null;
}
export interface CasesMessage extends Envelope, RunScoped {
  type: 'cases';
  epoch: number;
  cases: CasePayload[];
  /** Object-store names of cases too large to send inline. */
  stored: string[];
}
export interface StepMessage extends Envelope, RunScoped {
  type: 'step';
  epoch: number;
  iteration: number;
  lr: number;
  consistencyWeight: number;
  shards: ShardPlan[];
}
export interface EvaluateMessage extends Envelope, RunScoped {
  type: 'evaluate';
  evalId: string;
  epoch: number;
  role: Role;
  iteration: number;
  caseIds: string[];
  /**
   * Object-store name of the weights to evaluate, with the run config: an idle worker evaluates a
   * checkpoint while the pairs keep training. null: the worker's own replica (epoch must match).
   */
  weights: string | null;
  config: TracocoConfig | null;
}
export interface CheckpointMessage extends Envelope, RunScoped {
  type: 'checkpoint';
  epoch: number;
  iteration: number;
}
export interface ReleaseMessage extends Envelope, RunScoped {
  type: 'release';
  epoch: number;
  /** true: the run is over and the worker process may exit. */
  shutdown: boolean;
}

// worker <-> worker
export interface ViewsMessage extends Envelope, RunScoped {
  type: 'views';
  epoch: number;
  iteration: number;
  views: PeerViews;
}
export interface ReduceMessage extends Envelope, RunScoped {
  type: 'reduce';
  epoch: number;
  iteration: number;
  phase: 'stats' | 'grads';
  /** The ring step this chunk belongs to. */
  step: number;
  data: Float32Array | Float64Array;
}

export type CoordinatorInbound = RegisterMessage | HeartbeatMessage | StepDoneMessage | EvalDoneMessage | CheckpointDoneMessage | WorkerErrorMessage;
export type WorkerInbound = AssignMessage | CasesMessage | StepMessage | EvaluateMessage | CheckpointMessage | ReleaseMessage;
export type PeerMessage = ViewsMessage | ReduceMessage;
export type Message = CoordinatorInbound | WorkerInbound | PeerMessage;
export type MessageType = Message['type'];

/** A message's fields without the envelope (`v`, `type`), which its builder adds. */
export type Body<T extends Message> = Omit<T, 'v' | 'type'>;

function builder<T extends Message>(type: T['type']): (body: Body<T>) => T {
  return (body) => ({ v: PROTOCOL_VERSION, type, ...body }) as T;
}

/** One builder per message type: the only place messages are put together. */
export const messages = {
  register: builder<RegisterMessage>('register'),
  heartbeat: builder<HeartbeatMessage>('heartbeat'),
  stepDone: builder<StepDoneMessage>('step-done'),
  evalDone: builder<EvalDoneMessage>('eval-done'),
  checkpointDone: builder<CheckpointDoneMessage>('checkpoint-done'),
  workerError: builder<WorkerErrorMessage>('worker-error'),
  assign: builder<AssignMessage>('assign'),
  cases: builder<CasesMessage>('cases'),
  step: builder<StepMessage>('step'),
  evaluate: builder<EvaluateMessage>('evaluate'),
  checkpoint: builder<CheckpointMessage>('checkpoint'),
  release: builder<ReleaseMessage>('release'),
  views: builder<ViewsMessage>('views'),
  reduce: builder<ReduceMessage>('reduce'),
};

/**
 * Keys under which a reply is waited for and delivered (the sender of a request and the receiver
 * of its reply both build them here): a worker's step, a role's checkpoint, an evaluation; and
 * on the worker side a peer's views and a ring step's all-reduce chunk.
 */
export const replyKeys = {
  step: (epoch: number, iteration: number, workerId: string) => `${epoch}/step/${iteration}/${workerId}`,
  checkpoint: (epoch: number, iteration: number, role: Role) => `${epoch}/checkpoint/${iteration}/${role}`,
  evaluation: (evalId: string) => `eval/${evalId}`,
  // Peer traffic may arrive before this worker's assignment: the run id keeps another run's apart.
  views: (runId: string, epoch: number, iteration: number) => `${epoch}/${iteration}/${runId}`,
  chunk: (runId: string, epoch: number, iteration: number, phase: ReduceMessage['phase'], step: number) => `${epoch}/${iteration}/${phase}/${step}/${runId}`,
};

/** Whether `m` belongs to run `runId` (`register` belongs to none and always passes). */
export function ofRun(m: Message, runId: string): boolean {
  return m.type === 'register' || m.runId === runId;
}

/** The key a reply to the coordinator is delivered under (null: not a reply). */
export function coordinatorReplyKey(m: CoordinatorInbound): string | null {
  switch (m.type) {
    case 'step-done':
      return replyKeys.step(m.epoch, m.iteration, m.workerId);
    case 'checkpoint-done':
      return replyKeys.checkpoint(m.epoch, m.iteration, m.role);
    case 'eval-done':
      return replyKeys.evaluation(m.evalId);
    default:
      return null;
  }
}

/** Subject names, under a cluster-wide prefix so several runs can share a NATS server. */
export function subjects(prefix: string) {
  return {
    coordinator: `${prefix}.coordinator`,
    register: `${prefix}.register`,
    heartbeat: `${prefix}.heartbeat`,
    /** Commands for one worker, and its peer traffic (views, all-reduce chunks). */
    worker: (workerId: string) => `${prefix}.worker.${workerId}`,
  };
}
