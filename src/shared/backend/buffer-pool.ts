/**
 * Recycles the large Float32Arrays native kernels write their outputs into. A training step
 * allocates about a thousand buffers of 1–25 MB and frees them when tfjs disposes the tensors;
 * left to V8, each fresh one is mapped again (first-touch page faults), which made memory-bound
 * kernels such as BatchNorm 3–4× slower in a step than on reused memory.
 *
 * An array goes back to the pool only when nothing else can still see it:
 *  - it was allocated here (`allocate`), so its contents were never the caller's;
 *  - the tensor data holding it is the one being disposed (`attach` records the holder; a second
 *    holder of the same array, such as a kernel wrapping an input, makes it ineligible);
 *  - it never `escape`d: read out to JavaScript (`dataSync`, `data`), or handed to a JavaScript
 *    kernel, which may return views into it (tfjs's Slice does).
 */
export class FloatBufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private readonly holder = new WeakMap<Float32Array, object>();
  private readonly escaped = new WeakSet<Float32Array>();
  private idle = 0;
  readonly stats = { reused: 0, allocated: 0 };

  /** `capacityBytes`: most bytes kept idle (0 disables); arrays under `minBytes` are not pooled. */
  constructor(
    readonly capacityBytes: number,
    readonly minBytes = 1 << 20,
  ) {}

  /** Whether an array of `n` floats is taken from the pool (else the caller allocates its own). */
  pools(n: number): boolean {
    return this.capacityBytes > 0 && n * 4 >= this.minBytes;
  }

  /** An array of exactly `n` floats with unspecified contents: a recycled one, or a fresh one. */
  allocate(n: number): Float32Array {
    const list = this.free.get(n);
    const reused = list?.pop();
    if (reused) {
      this.idle -= reused.byteLength;
      this.stats.reused++;
      return reused;
    }
    const buf = Buffer.allocUnsafeSlow(n * 4);
    const array = new Float32Array(buf.buffer, buf.byteOffset, n);
    this.owned.add(array);
    this.stats.allocated++;
    return array;
  }

  /** `holder` (a tfjs dataId) now stores `values`. */
  attach(values: unknown, holder: object): void {
    if (!(values instanceof Float32Array) || !this.owned.has(values)) return;
    if (this.holder.has(values)) this.escape(values);
    else this.holder.set(values, holder);
  }

  /** `values` may be referenced outside tensor storage from now on: never recycle it. */
  escape(values: unknown): void {
    if (values instanceof Float32Array && this.owned.has(values)) this.escaped.add(values);
  }

  /** `holder`'s storage was freed: recycle `values` if it is eligible and fits. */
  release(values: unknown, holder: object): void {
    if (!(values instanceof Float32Array) || !this.owned.has(values) || this.holder.get(values) !== holder) return;
    this.holder.delete(values);
    if (this.escaped.has(values) || this.idle + values.byteLength > this.capacityBytes) return;
    const list = this.free.get(values.length) ?? [];
    list.push(values);
    this.free.set(values.length, list);
    this.idle += values.byteLength;
  }

  /** Bytes held idle for reuse. */
  idleBytes(): number {
    return this.idle;
  }

  /** Drops every idle array (V8 frees them). */
  clear(): void {
    this.free.clear();
    this.idle = 0;
  }
}

/** `TRACOCO_BUFFER_POOL_MB`: most megabytes of idle buffers kept for reuse (0 disables). */
export const BUFFER_POOL_ENV = 'TRACOCO_BUFFER_POOL_MB';
export const DEFAULT_BUFFER_POOL_MB = 512;

export function poolCapacityFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[BUFFER_POOL_ENV];
  const mb = raw === undefined || raw.trim() === '' ? DEFAULT_BUFFER_POOL_MB : Number(raw);
  return Number.isFinite(mb) && mb >= 0 ? Math.floor(mb * 1024 * 1024) : DEFAULT_BUFFER_POOL_MB * 1024 * 1024;
}

/** The pool native kernels allocate from (one per thread: each worker thread has its own backend). */
export const bufferPool = new FloatBufferPool(poolCapacityFromEnv());
