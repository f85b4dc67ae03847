/**
 * Messages that a step waits for (peer views, reduction chunks) may arrive before the step
 * asks for them, or after it gave up. The mailbox buffers them by key until taken, and fails a
 * wait that outlasts its timeout or its epoch.
 */
export class Mailbox<T> {
  private readonly items = new Map<string, T>();
  private readonly waiters = new Map<string, { resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  deliver(key: string, value: T): void {
    const waiter = this.waiters.get(key);
    if (waiter) {
      clearTimeout(waiter.timer);
      this.waiters.delete(key);
      waiter.resolve(value);
    } else this.items.set(key, value);
  }

  take(key: string, timeoutMs: number): Promise<T> {
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
