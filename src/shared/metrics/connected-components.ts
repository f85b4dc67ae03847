/**
 * Connected component labelling of a 3D binary mask (nonzero = foreground): two raster passes
 * with union-find over provisional labels (path halving, the smaller label becomes the root),
 * linear in the voxel count for practical purposes. Connectivity 26 (the default) joins voxels
 * touching by a face, an edge or a corner, like `scipy.ndimage.label` with a 3x3x3 structure;
 * 18 drops corners, 6 keeps faces only (scipy's default structure). A 2D mask is a volume one
 * voxel thick: 8-connectivity is 18 (or 26) there, 4-connectivity is 6.
 */
import { TracocoError } from '../errors.js';
import type { Shape3 } from '../volume.js';
import { checkMaskShape } from './overlap.js';

export interface Components {
  /** Per voxel: 0 for background, else the component 1..count, numbered in raster order of first voxel. */
  labels: Int32Array;
  count: number;
  /** sizes[c] = voxels of component c (sizes[0] = 0). */
  sizes: Int32Array;
}

/** Neighbourhoods in 3D: faces (6), faces and edges (18), all 26 neighbours. */
export type Connectivity3 = 6 | 18 | 26;
/** Neighbourhoods in 2D: edges (4) or edges and corners (8). */
export type Connectivity2 = 4 | 8;

/** The neighbours already visited in raster order (x, then y, then z fastest), within `connectivity`. */
function backwardNeighbours(connectivity: Connectivity3): readonly (readonly [number, number, number])[] {
  const maxNonZero = connectivity === 6 ? 1 : connectivity === 18 ? 2 : 3;
  const out: [number, number, number][] = [];
  for (let dx = -1; dx <= 0; dx++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dz = -1; dz <= 1; dz++) {
        if (dx === 0 && (dy > 0 || (dy === 0 && dz >= 0))) continue;
        if ((dx !== 0 ? 1 : 0) + (dy !== 0 ? 1 : 0) + (dz !== 0 ? 1 : 0) > maxNonZero) continue;
        out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

const BACKWARD_NEIGHBOURS = new Map<Connectivity3, readonly (readonly [number, number, number])[]>(
  ([6, 18, 26] as const).map((c) => [c, backwardNeighbours(c)]),
);

/** Components of a 2D mask [H, W] (row-major, W fastest); 8-connectivity by default. */
export function labelComponents2d(mask: Uint8Array, shape: readonly [number, number], connectivity: Connectivity2 = 8): Components {
  if (connectivity !== 4 && connectivity !== 8) {
    throw new TracocoError(`2D connectivity must be 4 or 8, got ${String(connectivity)}`, { field: 'connectivity' });
  }
  return labelComponents(mask, [1, shape[0], shape[1]], connectivity === 4 ? 6 : 18);
}

export function labelComponents(mask: Uint8Array, shape: Shape3, connectivity: Connectivity3 = 26): Components {
  checkMaskShape(mask, shape);
  const neighbours = BACKWARD_NEIGHBOURS.get(connectivity);
  if (!neighbours) throw new TracocoError(`3D connectivity must be 6, 18 or 26, got ${String(connectivity)}`, { field: 'connectivity' });
  const [X, Y, Z] = shape;
  const labels = new Int32Array(mask.length);
  let foreground = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) foreground++;
  // parent[l] for provisional labels 1..foreground; a root is its own parent.
  const parent = new Int32Array(foreground + 1);
  const offsets = Int32Array.from(neighbours, ([dx, dy, dz]) => (dx * Y + dy) * Z + dz);
  const dxs = Int32Array.from(neighbours, (d) => d[0]);
  const dys = Int32Array.from(neighbours, (d) => d[1]);
  const dzs = Int32Array.from(neighbours, (d) => d[2]);
  let next = 0;

  for (let x = 0, i = 0; x < X; x++) {
    for (let y = 0; y < Y; y++) {
      for (let z = 0; z < Z; z++, i++) {
        if (mask[i] === 0) continue;
        let own = 0;
        for (let n = 0; n < offsets.length; n++) {
          const ny = y + dys[n]!;
          const nz = z + dzs[n]!;
          if (x + dxs[n]! < 0 || ny < 0 || ny >= Y || nz < 0 || nz >= Z) continue;
          const neighbour = labels[i + offsets[n]!]!;
          if (neighbour === 0) continue;
          own = own === 0 ? find(parent, neighbour) : union(parent, own, neighbour);
        }
        if (own === 0) {
          own = ++next;
          parent[own] = own;
        }
        labels[i] = own;
      }
    }
  }

  // Roots get consecutive final labels in order of their first voxel (roots are the smallest label).
  const final = new Int32Array(next + 1);
  let count = 0;
  for (let l = 1; l <= next; l++) {
    const root = find(parent, l);
    final[l] = root === l ? ++count : final[root]!;
  }
  const sizes = new Int32Array(count + 1);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l === 0) continue;
    const c = final[l]!;
    labels[i] = c;
    sizes[c]!++;
  }
  return { labels, count, sizes };
}

function find(parent: Int32Array, label: number): number {
  let l = label;
  while (parent[l] !== l) {
    const grand = parent[parent[l]!]!;
    parent[l] = grand;
    l = grand;
  }
  return l;
}

/** Joins the sets of a and b; returns the root (the smaller of the two roots). */
function union(parent: Int32Array, a: number, b: number): number {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra === rb) return ra;
  if (ra < rb) {
    parent[rb] = ra;
    return ra;
  }
  parent[ra] = rb;
  return rb;
}
