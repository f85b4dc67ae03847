/**
 * The compiled oneDNN addon (`native/build/Release/tracoco_native.node`, built by
 * `native/build.mjs` on `npm install`). It is optional: `loadNativeAddon` says why it is missing
 * instead of throwing, so backend selection can fall back to JavaScript.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Raw entry points of the addon. Arrays are written in place; shapes are validated by callers. */
export interface NativeAddon {
  setThreads(n: number): void;
  getThreads(): number;
  /** `winograd`: the build has the vector width the Winograd kernel is fast with (AVX-512). */
  versions(): { dnnl: string; dnnlCpuRuntime: string; portable: boolean; winograd?: boolean };
  /** `epilogue` (directions 0 and 3): bit 1 adds `bias`, bit 2 applies ReLU, bit 4 (direction 3) adds `skip`. */
  conv3d(direction: number, layout: number, geometry: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array, epilogue?: number, bias?: Float32Array, skip?: Float32Array): void;
  conv3dImpl(direction: number, layout: number, geometry: Int32Array, epilogue?: number): string;
  conv3dCacheClear(): void;
  conv3dCacheSize(): number;
  binary(op: number, dims: Int32Array, aStrides: Int32Array, bStrides: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array | Uint8Array): void;
  unary(op: number, x: Float32Array, out: Float32Array | Uint8Array, p0: number, p1: number): void;
  cast(kind: number, x: Float32Array | Int32Array | Uint8Array, out: Float32Array | Int32Array | Uint8Array): void;
  reduce(op: number, outer: number, size: number, inner: number, x: Float32Array, out: Float32Array | Int32Array): void;
  softmax(rows: number, cols: number, x: Float32Array, out: Float32Array): void;
  matmul(batch: number, batchA: number, batchB: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean, a: Float32Array, b: Float32Array, out: Float32Array): void;
  transpose(shape: Int32Array, perm: Int32Array, x: Float32Array, out: Float32Array): void;
  copyBox(srcShape: Int32Array, srcStart: Int32Array, dstShape: Int32Array, dstStart: Int32Array, size: Int32Array, src: Float32Array, dst: Float32Array): void;
  fill(out: Float32Array, value: number): void;
  batchNormTrain(rows: number, channels: number, x: Float32Array, scale: Float32Array, offset: Float32Array, epsilon: number, relu: boolean, y: Float32Array, mean: Float32Array, variance: Float32Array): void;
  batchNormTrainGrad(rows: number, channels: number, dy: Float32Array, x: Float32Array, y: Float32Array, scale: Float32Array, mean: Float32Array, variance: Float32Array, epsilon: number, relu: boolean, dx: Float32Array, dscale: Float32Array, doffset: Float32Array): void;
  supervisedLoss(voxels: number, classes: number, logits: Float32Array, labels: Int32Array, out: Float32Array): void;
  /** Winograd F(2×2×2, 3×3×3) (native/src/winograd.h): the filter [3,3,3,cin,cout] transformed to [64,cin,cout]. */
  winogradFilter(filter: Float32Array, cin: number, cout: number): Float32Array;
  /** relu?(conv(x, filter) + bias), stride 1, padding 1; `shape` [n, d, h, w, cin]; `u` from winogradFilter. */
  winogradConv3d(x: Float32Array, shape: Int32Array, u: Float32Array, cout: number, bias: Float32Array, relu: boolean, out: Float32Array): void;
  supervisedLossGrad(voxels: number, classes: number, logits: Float32Array, labels: Int32Array, dy: Float32Array, dlogits: Float32Array): void;
}

export type AddonLoad = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string };

const ADDON_FILE = join('native', 'build', 'Release', 'tracoco_native.node');

/** The package root: the nearest directory above this module with a package.json (src/ or dist/src/). */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
  return dir;
}

/** Where the addon is looked for: `TRACOCO_NATIVE_ADDON` when set, else the package's build output. */
export function nativeAddonPath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.TRACOCO_NATIVE_ADDON;
  return override ? resolve(override) : join(packageRoot(), ADDON_FILE);
}

let cached: AddonLoad | null = null;

/** Loads the addon once per process; a missing or broken build is reported, never thrown. */
export function loadNativeAddon(): AddonLoad {
  if (cached) return cached;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    cached = { ok: false, reason: `addon not built (${path} missing; needs libdnnl-dev, then npm install)` };
    return cached;
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    cached = { ok: true, addon, path };
  } catch (err) {
    cached = { ok: false, reason: `addon at ${path} failed to load: ${(err as Error).message.split('\n')[0]}` };
  }
  return cached;
}
