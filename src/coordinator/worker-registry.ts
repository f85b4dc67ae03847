/**
 * The coordinator's view of the workers: who registered, with what resources, when each was last
 * heard from, and what each was assigned. A worker is alive while its heartbeats keep coming.
 */
import type { HeartbeatMessage, RegisterMessage, Role, WorkerResources, WorkerState } from '../shared/protocol/index.js';

export interface WorkerRecord {
  id: string;
  resources: WorkerResources | null;
  lastSeen: number;
  state: WorkerState;
  assigned: { role: Role; pair: number; rank: number } | null;
  /** Assignment epoch the worker last reported in a heartbeat (-1: none). */
  epoch: number;
  /** Case ids already sent to this worker in this coordinator's lifetime. */
  sent: Set<string>;
}

export class WorkerRegistry {
  readonly workers = new Map<string, WorkerRecord>();
  private readonly waiters: (() => void)[] = [];
  /** Workers declared dead stay out until they are heard from again. */
  private readonly dead = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  onRegister(m: RegisterMessage): void {
    this.dead.delete(m.workerId);
    const w = this.touch(m.workerId);
    w.resources = m.resources;
    if (w.state !== 'idle' && !w.assigned) w.state = 'idle';
    this.wake();
  }

  onHeartbeat(m: HeartbeatMessage): void {
    // A worker declared lost that still beats (e.g. after a network outage) is alive again; it
    // keeps no assignment until the next placement.
    this.dead.delete(m.workerId);
    const w = this.touch(m.workerId);
    w.state = m.state;
    w.epoch = m.epoch;
    this.wake();
  }

  private touch(id: string): WorkerRecord {
    let w = this.workers.get(id);
    if (!w) {
      w = { id, resources: null, lastSeen: this.now(), state: 'idle', assigned: null, epoch: -1, sent: new Set() };
      this.workers.set(id, w);
    }
    w.lastSeen = this.now();
    return w;
  }

  /** True the first time `key` is asked about: for things done once per worker (a log line, a release). */
  firstTime(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  /** Live workers, GPU first, then by id (a stable placement order). */
  alive(timeoutMs: number): WorkerRecord[] {
    const t = this.now();
    return [...this.workers.values()]
      .filter((w) => !this.dead.has(w.id) && t - w.lastSeen <= timeoutMs)
      .sort((a, b) => deviceRank(a) - deviceRank(b) || a.id.localeCompare(b.id));
  }

  /**
   * Workers the run depends on — assigned ones, and those `busy` names (e.g. running an
   * evaluation) — not heard from within `timeoutMs`.
   */
  silent(timeoutMs: number, busy: (id: string) => boolean = () => false): WorkerRecord[] {
    const t = this.now();
    return [...this.workers.values()].filter((w) => (w.assigned || busy(w.id)) && !this.dead.has(w.id) && t - w.lastSeen > timeoutMs);
  }

  /** After an outage of the coordinator's own connection nobody could be heard: start the clocks anew. */
  resetClocks(): void {
    const t = this.now();
    for (const w of this.workers.values()) w.lastSeen = t;
  }

  markDead(id: string): void {
    this.dead.add(id);
    const w = this.workers.get(id);
    if (w) {
      w.assigned = null;
      w.sent.clear();
    }
  }

  countsByState(timeoutMs: number): Record<string, number> {
    const counts: Record<string, number> = { idle: 0, assigned: 0, training: 0, evaluating: 0, lost: this.dead.size };
    for (const w of this.alive(timeoutMs)) counts[w.state] = (counts[w.state] ?? 0) + 1;
    return counts;
  }

  /** Resolves once `count` workers are alive (re-checked on every registration/heartbeat). */
  async waitForAlive(count: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    while (this.alive(timeoutMs).length < count) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted while waiting for workers');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.min(1000, timeoutMs));
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

function deviceRank(w: WorkerRecord): number {
  return w.resources?.device === 'gpu' ? 0 : 1;
}
