/**
 * The UNets across the PyTorch boundary (issue 11), from the golden `.pth` files of every
 * `unet3d_forward` / `unet2d_forward` fixture:
 *  - `import-torch --architecture` reads them; `predict --probabilities` on the fixture's input
 *    (as a volume: unet2d slices along z) reproduces the fixture's eval softmax;
 *  - the checkpoint tracoco writes loads into the published PyTorch networks
 *    (test/support/torch_unets.py) with `load_state_dict(strict=True)` and gives the fixture's logits;
 *  - a checkpoint of one architecture is refused where another is expected.
 * PyTorch is needed for the second part (skipped without it, except in CI).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/shared/backend/index.js';
import { decodeCheckpoint, decodeSafetensors, encodeSafetensors } from '../../src/shared/checkpoint/index.js';
import { readNifti, writeNifti } from '../../src/shared/io/index.js';
import { runImportTorch } from '../../src/cli/commands/import-torch.js';
import { runPredict } from '../../src/cli/commands/predict.js';
import type { StateDict } from '../../src/shared/model/layout.js';
import { goldenDir, repoRoot, tempDir } from '../support/env.js';
import { goldenFilesOfKind, skipUnlessGolden, type ForwardFixture } from '../support/golden.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(repoRoot, 'test', 'support', 'torch_unets.py');
const torchMissing = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0 ? false : `PyTorch is not importable by ${PYTHON}`;
const skipTorch = process.env.CI ? false : torchMissing;

type UNetFixture = ForwardFixture<{ architecture: 'unet3d' | 'unet2d' }>;

const dir = tempDir('tracoco-unet-interop-');
before(async () => {
  await initBackend('cpu');
});
after(() => dir.cleanup());

const fixtures = [...goldenFilesOfKind<UNetFixture>('unet3d_forward'), ...goldenFilesOfKind<UNetFixture>('unet2d_forward')];

/**
 * The fixture's input as a volume [x, y, z] (C order): unet3d NCDHW [1, 1, D, H, W] is [D, H, W];
 * unet2d NCHW [N, 1, H, W] is N axial slices, [H, W, N].
 */
function inputVolume(f: UNetFixture): { data: Float32Array; shape: [number, number, number] } {
  const x = f.inputs.x;
  if (f.model.architecture === 'unet3d') return { data: Float32Array.from(x.data), shape: x.shape.slice(2) as [number, number, number] };
  const [n, , h, w] = x.shape as [number, number, number, number];
  const data = new Float32Array(n * h * w);
  for (let s = 0; s < n; s++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) data[(i * w + j) * n + s] = x.data[(s * h + i) * w + j]!;
  return { data, shape: [h, w, n] };
}

/** The fixture's softmax at volume voxel v (index in C order over [x, y, z]) and class c. */
function expectedSoftmax(f: UNetFixture): (v: number, c: number) => number {
  const { shape, data } = f.expected.logits;
  const classes = shape[1]!;
  const spatial = shape.slice(2).reduce((a, b) => a * b, 1);
  // Position of volume voxel v in the logits' NC... layout.
  const at = (v: number, c: number): number => {
    if (f.model.architecture === 'unet3d') return c * spatial + v;
    const [n, , h, w] = shape as [number, number, number, number];
    const s = v % n;
    const ij = Math.floor(v / n);
    return ((s * classes + c) * h + Math.floor(ij / w)) * w + (ij % w);
  };
  return (v, c) => {
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, data[at(v, k)]!);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(data[at(v, k)]! - max);
    return Math.exp(data[at(v, c)]! - max) / sum;
  };
}

for (const { file, doc: f } of fixtures) {
  const name = file.split('/').pop()!.replace('.json', '');
  const arch = f.model.architecture;
  const pth = join(goldenDir, f.checkpoint);
  const checkpoint = join(dir.path, `${name}.safetensors`);

  test(`${name}: import-torch --architecture ${arch}, then predict --probabilities gives the fixture's eval softmax`, { skip: skipUnlessGolden }, async () => {
    const report = await runImportTorch({ input: pth, output: checkpoint, architecture: arch });
    assert.equal(report.architecture, arch);
    const volume = inputVolume(f);
    const input = join(dir.path, `${name}-x.nii.gz`);
    await writeNifti(input, { data: volume.data, shape: volume.shape, spacing: [1, 1, 1], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] });
    const output = join(dir.path, `${name}-p.nii.gz`);
    // One window covering the whole volume, no normalisation: exactly the fixture's forward.
    await runPredict({ checkpoint, input, output, probabilities: true, patch: volume.shape, strideXy: 16, strideZ: 16, normalize: 'none', batch: 1, backend: 'cpu' });
    const probs = await readNifti(output);
    const classes = f.expected.logits.shape[1]!;
    assert.deepEqual(probs.shape, [...volume.shape, classes]);
    const expected = expectedSoftmax(f);
    let worst = 0;
    for (let v = 0; v < volume.data.length; v++) for (let c = 0; c < classes; c++) worst = Math.max(worst, Math.abs(probs.data[v * classes + c]! - expected(v, c)));
    assert.ok(worst <= 1e-4, `max |softmax − fixture| = ${worst}`);
  });

  test(`${name}: the tracoco checkpoint loads strictly into the published PyTorch ${arch} with the fixture's logits`, { skip: skipUnlessGolden || skipTorch }, () => {
    assert.equal(torchMissing, false, 'PyTorch is required in CI');
    const x: StateDict = new Map([['x', { shape: f.inputs.x.shape, dtype: 'float32', data: Float32Array.from(f.inputs.x.data) }]]);
    const inputs = join(dir.path, `${name}-inputs.safetensors`);
    writeFileSync(inputs, encodeSafetensors(x));
    const output = join(dir.path, `${name}-torch.safetensors`);
    const r = spawnSync(PYTHON, [SCRIPT, 'forward', '--checkpoint', checkpoint, '--input', inputs, '--output', output], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { missing: string[]; unexpected: string[]; architecture: string };
    assert.deepEqual([report.missing, report.unexpected, report.architecture], [[], [], arch]);
    const logits = decodeSafetensors(readFileSync(output), output).tensors.get('logits')!;
    assert.deepEqual(logits.shape, f.expected.logits.shape);
    let worst = 0;
    (logits.data as Float32Array).forEach((v, i) => (worst = Math.max(worst, Math.abs(v - f.expected.logits.data[i]!))));
    assert.ok(worst <= f.tolerance.abs, `max |PyTorch(tracoco checkpoint) − fixture| = ${worst}`);
  });

  test(`${name}: a ${arch} checkpoint is refused where another architecture is expected`, { skip: skipUnlessGolden }, () => {
    const bytes = readFileSync(checkpoint);
    assert.throws(() => decodeCheckpoint(bytes, checkpoint, 'vnet'), (err: Error) => err.message.includes(checkpoint) && err.message.includes(`a ${arch} checkpoint where a vnet is expected`));
    decodeCheckpoint(bytes, checkpoint, arch).model.dispose();
  });
}

test('import-torch refuses a state_dict of another architecture than --architecture, naming the file', { skip: skipUnlessGolden }, async () => {
  const pth = join(goldenDir, 'unet3d_fs4_seed20261126.pth');
  await assert.rejects(runImportTorch({ input: pth, output: join(dir.path, 'x.safetensors'), architecture: 'unet2d' }), /unet3d_fs4_seed20261126\.pth.*--architecture unet2d, but the file holds a unet3d state_dict/);
});
