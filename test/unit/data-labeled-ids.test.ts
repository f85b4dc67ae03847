/** `data.labeled_ids`: which train cases are labelled, by id, in place of the first `data.labeled`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, validateConfig } from '../../src/shared/config/index.js';
import { splitLabeled } from '../../src/coordinator/training-data.js';
import { methodConfig } from '../../src/shared/experiment/methods.js';
import { TracocoError } from '../../src/shared/errors.js';

const TRAIN = ['case_0', 'case_1', 'case_2', 'case_3', 'case_4'];

test('without labeled_ids the first data.labeled train ids are labelled, the rest unlabelled in order', () => {
  assert.deepEqual(splitLabeled(TRAIN, { labeled: 2, labeled_ids: null }, '/d'), { labeled: ['case_0', 'case_1'], rest: ['case_2', 'case_3', 'case_4'] });
  assert.throws(() => splitLabeled(TRAIN, { labeled: 6, labeled_ids: null }, '/d'), (e: unknown) => e instanceof TracocoError && /data\.labeled/.test(e.message) && /has 5/.test(e.message));
});

test('labeled_ids labels exactly those ids, in the order given; the others stay unlabelled in split order', () => {
  const { labeled, rest } = splitLabeled(TRAIN, { labeled: 2, labeled_ids: ['case_3', 'case_1'] }, '/d');
  assert.deepEqual(labeled, ['case_3', 'case_1']);
  assert.deepEqual(rest, ['case_0', 'case_2', 'case_4']);
});

test('an id outside the train split is an error naming it and the field', () => {
  assert.throws(
    () => splitLabeled(TRAIN, { labeled: 2, labeled_ids: ['case_1', 'case_9'] }, '/data/set'),
    (e: unknown) => e instanceof TracocoError && /data\.labeled_ids/.test(e.message) && /'case_9'/.test(e.message) && /\/data\/set/.test(e.message),
  );
});

test('the config checks labeled_ids against data.labeled and for repeats, naming the field', () => {
  const c = loadConfig({ configArg: 'phantom', set: ['data.labeled_ids=[phantom_014, phantom_010]'] });
  assert.deepEqual(c.data.labeled_ids, ['phantom_014', 'phantom_010']);
  assert.equal(c.data.labeled, 2);
  assert.throws(() => validateConfig({ data: { labeled: 3, labeled_ids: ['a', 'b'] } }, 'test'), (e: unknown) => e instanceof Error && /labeled_ids/.test(e.message) && /lists 2 ids but data\.labeled is 3/.test(e.message));
  assert.throws(() => validateConfig({ data: { labeled: 2, labeled_ids: ['a', 'a'] } }, 'test'), (e: unknown) => e instanceof Error && /labeled_ids/.test(e.message) && /'a' twice/.test(e.message));
  assert.equal(validateConfig({}, 'defaults').data.labeled_ids, null);
});

test('supervised-all labels every train case whatever labeled_ids says; the other methods keep it', () => {
  const base = loadConfig({ configArg: 'phantom', set: ['data.labeled_ids=[phantom_014, phantom_010]'] });
  const all = methodConfig(base, 'supervised-all', 0, 32);
  assert.deepEqual([all.data.labeled, all.data.labeled_ids], [32, null]);
  for (const method of ['supervised', 'tracoco'] as const) assert.deepEqual(methodConfig(base, method, 0, 32).data.labeled_ids, ['phantom_014', 'phantom_010'], method);
});
