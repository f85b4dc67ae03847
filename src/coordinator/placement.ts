/**
 * Where model replicas go (pure): live workers, in preference order, become pairs of (model 1,
 * model 2) — single replicas for the supervised baseline — as many pairs as there are workers
 * for, at most one per data shard and a divisor of the shard count, so every pair trains the
 * same number of shards. Pair p trains shards s with s mod pairs = p.
 */
import type { Role } from '../shared/protocol/index.js';

export interface Placement {
  workerId: string;
  role: Role;
  pair: number;
  /** Position among same-role replicas (all-reduce order); rank 0 stores checkpoints and evaluates. */
  rank: number;
}

export interface PlacementPlan {
  pairs: number;
  placements: Placement[];
}

/** null when the live workers cannot form one pair. */
export function placeWorkers(alive: readonly string[], shards: number, perPair: 1 | 2): PlacementPlan | null {
  let pairs = Math.min(Math.floor(alive.length / perPair), shards);
  while (pairs > 0 && shards % pairs !== 0) pairs--;
  if (pairs === 0) return null;
  const placements: Placement[] = [];
  for (let p = 0; p < pairs; p++) {
    for (let r = 0; r < perPair; r++) placements.push({ workerId: alive[p * perPair + r]!, role: (r + 1) as Role, pair: p, rank: p });
  }
  return { pairs, placements };
}

/** The shards pair `pair` trains. */
export function shardsOfPair(pair: number, pairs: number, shards: number): number[] {
  return Array.from({ length: shards }, (_, s) => s).filter((s) => s % pairs === pair);
}

/** The other model of x's pair (none for the supervised baseline). */
export function peerOf(placements: readonly Placement[], x: Placement): Placement | undefined {
  return placements.find((y) => y.pair === x.pair && y.role !== x.role);
}

/** Worker ids of x's role, in reduction order. */
export function replicasOf(placements: readonly Placement[], role: Role): string[] {
  return placements.filter((y) => y.role === role).map((y) => y.workerId);
}
