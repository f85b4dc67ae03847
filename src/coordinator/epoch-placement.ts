/**
 * The placement of one epoch: which live worker holds which replica, and telling them — the
 * assignment (role, peer, replicas, checkpoint to start from), the cases they train on, and, over
 * a network, confirming that every assignment arrived.
 */
import type { TracocoConfig } from '../shared/config/index.js';
import { messages, type Message, type Role } from '../shared/protocol/index.js';
import type { CaseDelivery } from './case-delivery.js';
import { peerOf, placeWorkers, replicasOf, shardsOfPair, type Placement } from './placement.js';
import type { StepPlanner } from './planner.js';
import type { RunState } from './run-state.js';
import type { WorkerRecord, WorkerRegistry } from './worker-registry.js';

/** A recoverable failure of the current epoch (lost worker, worker error, timeout). */
export class EpochFailure extends Error {}

export interface EpochPlacementContext {
  config: TracocoConfig;
  registry: WorkerRegistry;
  caseDelivery: CaseDelivery;
  labeled: string[];
  evalIds: string[];
  send(workerId: string, message: Message): Promise<void>;
}

export class EpochPlacement {
  pairs = 0;
  placements: Placement[] = [];

  constructor(
    private readonly c: EpochPlacementContext,
    /** Workers per pair: one per model trained. */
    readonly perPair: 1 | 2,
  ) {}

  /** Places the live workers for `state`'s shards; false when they cannot form one pair. */
  place(alive: readonly WorkerRecord[], shards: number): boolean {
    const plan = placeWorkers(alive.map((w) => w.id), shards, this.perPair);
    if (!plan) return false;
    ({ pairs: this.pairs, placements: this.placements } = plan);
    for (const w of this.c.registry.workers.values()) w.assigned = null;
    for (const x of this.placements) this.worker(x).assigned = { role: x.role, pair: x.pair, rank: x.rank };
    return true;
  }

  /** Tells every placed worker its assignment and sends the cases it does not hold yet. */
  async assignAll(state: RunState, planner: StepPlanner): Promise<void> {
    for (const x of this.placements) await this.assign(x, state, planner);
  }

  /**
   * Over a network, an assignment sent while a worker's connection was down is lost: waits until
   * every placed worker's heartbeat reports the epoch, re-sending to the ones that do not.
   */
  async confirm(state: RunState, planner: StepPlanner, timeoutMs: number, failure: () => Error | null): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastSend = Date.now();
    for (;;) {
      const pending = this.placements.filter((x) => this.worker(x).epoch !== state.epoch);
      if (pending.length === 0) return;
      const failed = failure();
      if (failed) throw failed;
      if (Date.now() > deadline) throw new EpochFailure(`assignment not confirmed by ${pending.map((x) => x.workerId).join(', ')}`);
      if (Date.now() - lastSend > 2000) {
        lastSend = Date.now();
        for (const x of pending) {
          this.worker(x).sent.clear();
          await this.assign(x, state, planner);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  shardsOf(pair: number, shards: number): number[] {
    return shardsOfPair(pair, this.pairs, shards);
  }

  /** The replica of `role` that stores checkpoints and evaluates. */
  evaluator(role: Role): Placement {
    return this.placements.find((x) => x.role === role && x.rank === 0)!;
  }

  /** Of `alive`, the workers holding no model replica: capacity for evaluations. */
  idle(alive: readonly WorkerRecord[]): WorkerRecord[] {
    return alive.filter((w) => !this.holds(w.id));
  }

  holds(workerId: string): boolean {
    return this.placements.some((x) => x.workerId === workerId);
  }

  private worker(x: Placement): WorkerRecord {
    return this.c.registry.workers.get(x.workerId)!;
  }

  /** Training cases of the pair's shards; evaluation cases to the rank-0 replicas, which evaluate. */
  private async assign(x: Placement, state: RunState, planner: StepPlanner): Promise<void> {
    const { runId, checkpoint, epoch } = state;
    const peer = peerOf(this.placements, x)?.workerId ?? '';
    await this.c.send(x.workerId, messages.assign({ runId, epoch, role: x.role, pair: x.pair, peer, replicas: replicasOf(this.placements, x.role), config: this.c.config, checkpoint }));
    const train = [...this.c.labeled, ...this.shardsOf(x.pair, state.shards).flatMap((s) => planner.shardCases(s))];
    await this.c.caseDelivery.sendTo(this.worker(x), runId, train, epoch);
    if (x.rank === 0) await this.c.caseDelivery.sendTo(this.worker(x), runId, this.c.evalIds, epoch);
  }
}
