/** Thread count for native kernels: all cores by default, TRACOCO_THREADS, setThreadCount. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { TracocoError } from '../../src/shared/errors.js';
import { initBackend, setThreadCount, threadCount } from '../../src/shared/backend/index.js';
import { parseThreadCount, threadCountFromEnv } from '../../src/shared/backend/threads.js';
import { loadNativeAddon } from '../../src/shared/backend/native-addon.js';

describe('thread count', () => {
  it('defaults to every core and reads TRACOCO_THREADS', () => {
    assert.equal(threadCountFromEnv({}), availableParallelism());
    assert.equal(threadCountFromEnv({ TRACOCO_THREADS: '' }), availableParallelism());
    assert.equal(threadCountFromEnv({ TRACOCO_THREADS: ' 3 ' }), 3);
  });

  it('rejects malformed counts, naming the variable', () => {
    for (const bad of ['0', '-2', '1.5', 'many', '5000']) {
      assert.throws(() => threadCountFromEnv({ TRACOCO_THREADS: bad }), (err: unknown) => err instanceof TracocoError && /TRACOCO_THREADS/.test(err.message) && err.message.includes(bad));
    }
    assert.throws(() => parseThreadCount(0, 'threads'), TracocoError);
  });

  it('setThreadCount reaches the native kernels, before and after the backend starts', { skip: loadNativeAddon().ok ? false : 'native addon not built' }, async () => {
    const load = loadNativeAddon();
    assert.ok(load.ok);
    const initial = threadCount();
    try {
      setThreadCount(1);
      const info = await initBackend('native');
      assert.equal(info.threads, 1);
      assert.equal(load.addon.getThreads(), 1);
      setThreadCount(2);
      assert.equal(load.addon.getThreads(), 2);
      assert.equal(threadCount(), 2);
    } finally {
      setThreadCount(initial);
    }
    assert.throws(() => setThreadCount(0), TracocoError);
  });
});
