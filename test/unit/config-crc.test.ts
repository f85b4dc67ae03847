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

test('the step settings keep crc as on/off and pass the form on', () => {
  const least = stepSettingsFrom(validateConfig({}, 'test'));
  assert.equal(least.crc, true);
  assert.equal(least.crcForm, 'least-likely');
  assert.equal(stepSettingsFrom(validateConfig({ train: { crc: false } }, 'test')).crc, false);
  const reference = stepSettingsFrom(validateConfig({ train: { crc: 'reference' } }, 'test'));
  assert.equal(reference.crc, true);
  assert.equal(reference.crcForm, 'reference');
});

test('the ACDC options default off and reach the step settings', () => {
  const off = stepSettingsFrom(validateConfig({}, 'test'));
  assert.deepEqual([off.cutmixBoth, off.pseudoLabelLcc, off.pseudoDice], [false, false, false]);
  const on = stepSettingsFrom(validateConfig({ train: { cutmix_both: true, pseudo_label_lcc: true, pseudo_dice: true } }, 'test'));
  assert.deepEqual([on.cutmixBoth, on.pseudoLabelLcc, on.pseudoDice], [true, true, true]);
});
