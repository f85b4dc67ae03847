/**
 * Payload types the wire protocol carries inside its messages. The protocol owns them; training
 * code (training/exchange.ts) produces and consumes them.
 */
export type ExchangeDtype = 'uint16' | 'float32';

/** A [0,1]-valued array as it travels: row-major `shape`, classes last. */
export interface PackedArray {
  dtype: ExchangeDtype;
  shape: number[];
  data: Uint16Array | Float32Array;
}

/** What one model sends its peer for one step. */
export interface PeerViews {
  /** softmax(m(f)) for the whole batch, [B, x, y, z, C]. */
  pseudo: PackedArray;
  /** Translation targets of m(s + n) on each sample's s-overlap box, [x, y, z, C] each (cross pairing only). */
  overlap: PackedArray[] | null;
}
