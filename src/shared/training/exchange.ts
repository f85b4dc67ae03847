/**
 * The tensors two co-trained models exchange every step (GUIDE §6): the pseudo-label
 * probabilities of the whole batch and the translation targets on each sample's overlap box.
 * Both lie in [0, 1], so they travel quantised to uint16 (2 bytes per voxel per class; error
 * ≤ 7.7e-6) or, for exactness tests, as float32. Local mode quantises exactly like the cluster,
 * so both give the same numbers.
 */
import type { ExchangeDtype, PackedArray, PeerViews } from '../protocol/payloads.js';

export type { ExchangeDtype, PackedArray, PeerViews };

const U16_MAX = 65535;

export function packUnitInterval(values: Float32Array, shape: number[], dtype: ExchangeDtype): PackedArray {
  if (dtype === 'float32') return { dtype, shape, data: values };
  const data = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // Clamp first: softmax can round to 1 + ε and NaN must not become a silent 0.
    data[i] = v >= 1 ? U16_MAX : v > 0 ? Math.round(v * U16_MAX) : v === 0 || v < 0 ? 0 : U16_MAX;
  }
  return { dtype, shape, data };
}

export function unpackUnitInterval(packed: PackedArray): Float32Array {
  if (packed.dtype === 'float32') return packed.data as Float32Array;
  const src = packed.data as Uint16Array;
  const out = new Float32Array(src.length);
  const inv = 1 / U16_MAX;
  for (let i = 0; i < src.length; i++) out[i] = src[i]! * inv;
  return out;
}

export function packedBytes(p: PackedArray): number {
  return p.data.byteLength;
}

export function peerViewsBytes(v: PeerViews): number {
  return packedBytes(v.pseudo) + (v.overlap ?? []).reduce((s, p) => s + packedBytes(p), 0);
}
