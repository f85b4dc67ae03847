/**
 * Messages that a step waits for (replies, peer views, reduction chunks) may arrive before the
 * step asks for them, or after it gave up. The mailbox buffers them by key until taken, and fails
 * a wait that outlasts its timeout or its epoch; `fail` fails every wait at once (the epoch is
 * lost) until `resume`.
 */
export class Mailbox<T> {
  private readonly items = new Map<string, T>();
  private readonly waiters = new Map<string, { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private failed: Error | null = null;

  /** The error every wait fails with, until `resume` (null: waits work normally). */
  get failure(): Error | null {
    return this.failed;
  }

  /** Fails current and future waits with `error` (the first failure wins) until `resume`. */
  fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    for (const [key, w] of [...this.waiters]) {
      clearTimeout(w.timer);
      this.waiters.delete(key);
      w.reject(error);
    }
  }

  resume(): void {
    this.failed = null;
  }

  deliver(key: string, value: T): void {
    const waiter = this.waiters.get(key);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(key);
      waiter.resolve(value);
    } else this.items.set(key, value);
  }

  take(key: string, timeoutMs: number): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const ready = this.items.get(key);
    if (ready !== undefined) {
      this.items.delete(key);
      return Promise.resolve(ready);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${key}`));
      }, timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
    });
  }

  /** Drops buffered items and fails waits whose key matches (e.g. an abandoned epoch). */
  clear(match: (key: string) => boolean = () => true, reason = 'cancelled'): void {
    for (const key of [...this.items.keys()]) if (match(key)) this.items.delete(key);
    for (const [key, w] of [...this.waiters]) {
      if (!match(key)) continue;
      clearTimeout(w.timer);
      this.waiters.delete(key);
      w.reject(new Error(`${reason}: ${key}`));
    }
  }

  get size(): number {
    return this.items.size;
  }
}
