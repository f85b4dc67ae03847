/** The durable run state across versions: a state saved before config fields were added still resumes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/shared/config/index.js';
import { openRunState, saveRunState } from '../../src/coordinator/run-state.js';
import type { KeyValueStore } from '../../src/shared/protocol/index.js';

function memoryKv(): KeyValueStore {
  const m = new Map<string, Uint8Array>();
  return { get: async (k) => m.get(k) ?? null, put: async (k, v) => void m.set(k, v), delete: async (k) => void m.delete(k) } as KeyValueStore;
}

const config = validateConfig({ name: 'old', data: { root: '/data' } }, 'test');

test('a run state saved by an older version (fields missing, crc: true) resumes under today\'s schema', async () => {
  const kv = memoryKv();
  const { state } = await openRunState(kv, config, 1);
  state.iteration = 6;
  // What an older tracoco stored: no model.architecture nor ACDC switches, and the boolean crc.
  const { architecture: _, ...model } = state.config.model;
  const { cutmix_both: _b, pseudo_label_lcc: _l, pseudo_dice: _d, ...train } = state.config.train;
  await saveRunState(kv, { ...state, config: { ...state.config, model, train: { ...train, crc: true } } as never });
  const reopened = await openRunState(kv, config, 1);
  assert.equal(reopened.resumed, true);
  assert.equal(reopened.state.iteration, 6);
  assert.equal(reopened.state.config.model.architecture, 'vnet');
});

test('a stored run with another config is refused naming the first differing field', async () => {
  const kv = memoryKv();
  await openRunState(kv, config, 1);
  const other = validateConfig({ name: 'old', data: { root: '/data' }, train: { lr: 0.01 } }, 'test');
  await assert.rejects(openRunState(kv, other, 1), /different config \(first difference: 'train\.lr'\)/);
});
