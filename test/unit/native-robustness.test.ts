/**
 * The addon never takes the process down: bad geometry is a JS RangeError naming the entry, a
 * conv3d the addon cannot run is reported (logged once per reason, counted in
 * tracoco_native_failures_total) before the cpu kernel computes it, and the process goes on.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { loadNativeAddon, type NativeAddon } from '../../src/shared/backend/native-addon.js';
import { nativeFailureCounts } from '../../src/shared/backend/failures.js';
import { convGeometry, runConv3d } from '../../src/shared/backend/kernels/conv3d.js';
import { createMetrics } from '../../src/shared/telemetry/index.js';
import { setUpBackends, skipUnlessNative } from './native-helpers.js';

let addon: NativeAddon;

before(async () => {
  if (skipUnlessNative) return;
  await setUpBackends();
  const load = loadNativeAddon();
  if (load.ok) addon = load.addon;
});

const info = () => backend_util.computeConv3DInfo([1, 4, 4, 4, 2], [3, 3, 3, 2, 2], 1, 1, 'same');

test('negative strides, zero sizes and negative padding are RangeErrors, not crashes', { skip: skipUnlessNative }, () => {
  const geometry = convGeometry(info());
  const [a, b, out] = [new Float32Array(128), new Float32Array(108), new Float32Array(128)];
  for (const [index, value, pattern] of [
    [12, -1, /geometry entry 12 \(a size or stride\) must be >= 1, got -1/],
    [0, 0, /geometry entry 0 \(a size or stride\) must be >= 1, got 0/],
    [15, -2, /geometry entry 15 \(a padding\) must be >= 0, got -2/],
  ] as const) {
    const bad = Int32Array.from(geometry);
    bad[index] = value;
    assert.throws(() => addon.conv3d(0, 0, bad, a, b, out), (err: Error) => err instanceof RangeError && pattern.test(err.message));
    assert.throws(() => addon.conv3dImpl(0, 0, bad), RangeError);
  }
  // An epilogue only on the forward direction, with a bias of one value per output channel.
  assert.throws(() => addon.conv3d(1, 0, geometry, a, b, out, 1, new Float32Array(2)), (err: Error) => err instanceof RangeError && /epilogue needs the forward or transposed-forward direction/.test(err.message));
  assert.throws(() => addon.conv3d(0, 0, geometry, a, b, out, 8, new Float32Array(2)), (err: Error) => err instanceof RangeError && /epilogue must be 0..7/.test(err.message));
  assert.throws(() => addon.conv3d(0, 0, geometry, a, b, out, 5, new Float32Array(2), out), (err: Error) => err instanceof RangeError && /sum epilogue needs the transposed-forward direction/.test(err.message));
  assert.throws(() => addon.conv3d(3, 0, geometry, a, b, out, 5, new Float32Array(2), new Float32Array(5)), (err: Error) => err instanceof RangeError && /skip must have as many elements as the output/.test(err.message));
  assert.throws(() => addon.conv3d(0, 0, geometry, a, b, out, 1, new Float32Array(3)), (err: Error) => err instanceof RangeError && /bias has the wrong number of elements/.test(err.message));
  assert.throws(() => addon.conv3d(0, 0, geometry, a, b, out, 1), (err: Error) => err instanceof TypeError && /bias: expected a Float32Array/.test(err.message));
  // The addon still works afterwards.
  addon.conv3d(0, 0, geometry, a, b, out);
  addon.conv3d(0, 0, geometry, a, b, out, 3, new Float32Array(2));
});

test('a conv3d the addon refuses is logged once with its reason, counted, and computed by the cpu kernel', { skip: skipUnlessNative }, async () => {
  const broken = { ...info(), strideDepth: -1 } as backend_util.Conv3DInfo;
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  const before = nativeFailureCounts().Conv3D ?? 0;
  try {
    for (let i = 0; i < 3; i++) assert.equal(runConv3d(addon, 'forward', broken, new Float32Array(128), new Float32Array(108), 128), null);
  } finally {
    process.stderr.write = write;
  }
  assert.equal((nativeFailureCounts().Conv3D ?? 0) - before, 3);
  const warnings = lines.filter((l) => l.includes('"native.failure"'));
  assert.equal(warnings.length, 1, `one log line for three identical failures: ${lines.join('')}`);
  const logged = JSON.parse(warnings[0]!) as { kernel: string; reason: string; level: string };
  assert.equal(logged.level, 'warn');
  assert.equal(logged.kernel, 'Conv3D');
  assert.match(logged.reason, /geometry entry 12 \(a size or stride\) must be >= 1, got -1/);
  const text = await createMetrics('worker', 'native').registry.metrics();
  assert.match(text, new RegExp(`tracoco_native_failures_total\\{kernel="Conv3D"\\} ${nativeFailureCounts().Conv3D}`));
  // A regular conv on the native backend still runs natively and matches the cpu kernel.
  await tf.setBackend('native');
  const x = tf.randomUniform([1, 4, 4, 4, 2], -1, 1, 'float32', 1);
  const w = tf.randomUniform([3, 3, 3, 2, 2], -1, 1, 'float32', 2);
  const native = await tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, 1, 'same').data();
  await tf.setBackend('cpu');
  const cpu = await tf.conv3d(tf.tensor5d(await x.data(), [1, 4, 4, 4, 2]), tf.tensor5d(await w.data(), [3, 3, 3, 2, 2]), 1, 'same').data();
  for (let i = 0; i < cpu.length; i++) assert.ok(Math.abs(native[i]! - cpu[i]!) < 1e-4);
});
