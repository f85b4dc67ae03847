/**
 * Shape arithmetic for native kernels: collapsing broadcasts, reductions and permutations to the
 * fewest dimensions, so the addon's loops run over long contiguous rows.
 */
import { rowMajorStrides } from '../../volume.js';

export interface BroadcastLoop {
  /** Output dims after collapsing (at least one). */
  dims: number[];
  /** Element strides of a and b along `dims` (0 where broadcast; innermost is 0 or 1). */
  aStrides: number[];
  bStrides: number[];
}

/**
 * The loop nest for `out = op(a, b)` with numpy broadcasting to `outShape`: size-1 output dims
 * dropped, neighbouring dims merged when both operands step through them contiguously (or both
 * repeat them).
 */
export function broadcastLoop(aShape: readonly number[], bShape: readonly number[], outShape: readonly number[]): BroadcastLoop {
  const rank = outShape.length;
  const pad = (s: readonly number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const a = pad(aShape);
  const b = pad(bShape);
  const as = rowMajorStrides(a).map((st, d) => (a[d] === 1 ? 0 : st));
  const bs = rowMajorStrides(b).map((st, d) => (b[d] === 1 ? 0 : st));
  const dims: number[] = [];
  const aStrides: number[] = [];
  const bStrides: number[] = [];
  for (let d = 0; d < rank; d++) {
    const n = outShape[d]!;
    if (n === 1) continue;
    const last = dims.length - 1;
    // Merge into the previous dim when, for both operands, stepping the previous dim once equals
    // stepping this one n times.
    if (last >= 0 && aStrides[last] === as[d]! * n && bStrides[last] === bs[d]! * n) {
      dims[last] = dims[last]! * n;
      aStrides[last] = as[d]!;
      bStrides[last] = bs[d]!;
      continue;
    }
    dims.push(n);
    aStrides.push(as[d]!);
    bStrides.push(bs[d]!);
  }
  if (dims.length === 0) return { dims: [1], aStrides: [0], bStrides: [0] };
  return { dims, aStrides, bStrides };
}

export interface ReductionView {
  outer: number;
  size: number;
  inner: number;
}

/**
 * The input seen as [outer, size, inner] with the reduced axes in the middle, or null when the
 * reduced axes (ignoring size-1 dims) are not one contiguous block.
 */
export function reductionView(shape: readonly number[], axes: readonly number[]): ReductionView | null {
  const reduced = new Set(axes);
  let outer = 1;
  let size = 1;
  let inner = 1;
  let phase: 'outer' | 'reduced' | 'inner' = 'outer';
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    if (reduced.has(d)) {
      if (phase === 'inner') return null;
      phase = 'reduced';
      size *= n;
    } else if (phase === 'outer') {
      outer *= n;
    } else {
      phase = 'inner';
      inner *= n;
    }
  }
  return { outer, size, inner };
}

export interface PermutationLoop {
  shape: number[];
  perm: number[];
}

/** Drops size-1 dims and merges input dims that stay adjacent and in order under `perm`. */
export function collapsePermutation(shape: readonly number[], perm: readonly number[]): PermutationLoop {
  const kept = shape.map((n, d) => (n === 1 ? -1 : d));
  const renumber = new Map<number, number>();
  kept.filter((d) => d >= 0).forEach((d, i) => renumber.set(d, i));
  const keptShape = shape.filter((n) => n !== 1);
  const keptPerm = perm.filter((d) => shape[d] !== 1).map((d) => renumber.get(d)!);
  // Group runs of consecutive input dims that are also consecutive in the output order.
  const groups: number[][] = [];
  for (const d of keptPerm) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1]! + 1 === d) g.push(d);
    else groups.push([d]);
  }
  const byInputOrder = [...groups].sort((x, y) => x[0]! - y[0]!);
  const groupShape = byInputOrder.map((g) => g.reduce((p, d) => p * keptShape[d]!, 1));
  const groupPerm = groups.map((g) => byInputOrder.indexOf(g));
  if (groupShape.length === 0) return { shape: [1], perm: [0] };
  return { shape: groupShape, perm: groupPerm };
}
