/** `train.crc`: the CRC form (least-likely by default, reference) or false for the plain-CE ablation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/shared/config/index.js';
import { TracocoError } from '../../src/shared/errors.js';
import { stepSettingsFrom } from '../../src/shared/training/settings.js';

const crcOf = (crc: unknown) => validateConfig(crc === undefined ? {} : { train: { crc } }, 'test').train.crc;

test('train.crc defaults to least-likely; true (the former boolean) means least-likely; false stays the ablation', () => {
  assert.equal(crcOf(undefined), 'least-likely');
  assert.equal(crcOf(true), 'least-likely');
  assert.equal(crcOf('least-likely'), 'least-likely');
  assert.equal(crcOf('reference'), 'reference');
  assert.equal(crcOf(false), false);
  // The resolved config validates again unchanged (workers re-check what the coordinator sends).
  const resolved = validateConfig({}, 'test');
  assert.deepEqual(validateConfig(JSON.parse(JSON.stringify(resolved)), 'again'), resolved);
});

test('an unknown train.crc is a TracocoError naming the field and the choices', () => {
  assert.throws(
    () => crcOf('argmin'),
    (e: unknown) => e instanceof TracocoError && /field 'train\.crc'.*'least-likely', 'reference', true or false/.test(e.message),
  );
});

test('the step settings keep crc as on/off; reference is refused until the step passes the form on', () => {
  assert.equal(stepSettingsFrom(validateConfig({}, 'test')).crc, true);
  assert.equal(stepSettingsFrom(validateConfig({ train: { crc: false } }, 'test')).crc, false);
  assert.throws(
    () => stepSettingsFrom(validateConfig({ train: { crc: 'reference' } }, 'test')),
    (e: unknown) => e instanceof TracocoError && /field 'train\.crc'/.test(e.message),
  );
});
