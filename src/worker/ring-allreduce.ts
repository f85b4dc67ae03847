/**
 * Ring all-reduce (sum) among the R replicas of one model: a reduce-scatter then an all-gather,
 * each R-1 steps in which every replica sends 1/R of the data to its ring successor. Each chunk
 * is summed at one replica and then broadcast, so every replica ends with bit-identical values
 * (their weights stay identical). Bytes sent per replica: 2 (R-1)/R x the array size.
 */
export type ReduceArray = Float32Array | Float64Array;

export interface RingLink {
  /** Sends a chunk to the ring successor. */
  send(step: number, chunk: ReduceArray): Promise<void>;
  /** The chunk the ring predecessor sent at `step`. */
  receive(step: number): Promise<ReduceArray>;
}

export async function ringAllReduce<T extends ReduceArray>(data: T, rank: number, size: number, link: RingLink): Promise<T> {
  if (size === 1) return data;
  const out = data.slice() as T;
  const bounds = Array.from({ length: size + 1 }, (_, k) => Math.floor((k * out.length) / size));
  const chunk = (k: number) => out.subarray(bounds[mod(k, size)]!, bounds[mod(k, size) + 1]!);
  let step = 0;
  for (let s = 0; s < size - 1; s++, step++) {
    const [, received] = await Promise.all([link.send(step, chunk(rank - s).slice()), link.receive(step)]);
    const target = chunk(rank - s - 1);
    checkLength(received, target.length, step);
    for (let i = 0; i < target.length; i++) target[i]! += received[i]!;
  }
  for (let s = 0; s < size - 1; s++, step++) {
    const [, received] = await Promise.all([link.send(step, chunk(rank + 1 - s).slice()), link.receive(step)]);
    const target = chunk(rank - s);
    checkLength(received, target.length, step);
    target.set(received);
  }
  return out;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function checkLength(received: ReduceArray, expected: number, step: number): void {
  if (received.length !== expected) throw new Error(`all-reduce step ${step}: chunk of ${received.length} values, expected ${expected}`);
}
