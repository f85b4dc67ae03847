/**
 * Property-based fuzzing (fast-check, seeded so a failure repeats): what arrives from the network
 * or the disk is either understood or refused with tracoco's own error naming what is wrong —
 * never another exception (a crash in a subscription or a command), never a hang, never memory
 * beyond the configured limits. Each property runs a bounded number of cases; the counts are
 * reported as test diagnostics.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { TracocoError } from '../../src/shared/errors.js';
import { decodeMessage, encodeMessage, ProtocolRejection } from '../../src/shared/protocol/codec.js';
import { parseChunkFrame, Reassembler, splitFrame, type ReassemblyLimits } from '../../src/shared/protocol/chunking.js';
import { decodeCheckpoint, decodeSafetensors, encodeCheckpoint, encodeSafetensors, stateDictChecksum } from '../../src/shared/checkpoint/index.js';
import { VNet } from '../../src/shared/model/vnet.js';
import { readTorchStateDict } from '../../src/shared/checkpoint/torch-pth.js';
import { readNifti, writeNifti } from '../../src/shared/io/nifti.js';
import { readHdf5Case, writeHdf5Case } from '../../src/shared/io/hdf5.js';
import { validateConfig } from '../../src/shared/config/index.js';
import { initBackend } from '../../src/shared/backend/index.js';
import { spacingAffine } from '../../src/shared/volume.js';
import { goldenDir, tempDir } from '../support/env.js';
import { sampleMessages } from './protocol-samples.js';

const SEED = 20261201;

/** The outcome counts since the last report, reset. */
function report(): string {
  const text = `${outcomes.ok} understood, ${outcomes.refused} refused`;
  outcomes.ok = outcomes.refused = 0;
  return text;
}
const MAX = 1 << 20;

before(async () => {
  await initBackend('cpu');
});

/** A byte string with random flips, truncation, extension or splices. */
function mutated(original: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 16 }),
    })
    .map(({ flips, cut, tail }) => {
      const out = Uint8Array.from(original);
      for (const [at, value] of flips) out[at % out.length] = value;
      const end = cut === undefined ? out.length : cut % (out.length + 1);
      const result = new Uint8Array(end + tail.length);
      result.set(out.subarray(0, end));
      result.set(tail, end);
      return result;
    });
}

/** Outcomes of the properties, for the diagnostics: inputs understood vs refused. */
const outcomes = { ok: 0, refused: 0 };

/** Runs `f`; passes when it succeeds or throws a TracocoError, fails on any other exception. */
function onlyOwnErrors<T>(f: () => T, what: string, allowed: new (...a: never[]) => Error = TracocoError): T | null {
  try {
    const value = f();
    outcomes.ok++;
    return value;
  } catch (err) {
    outcomes.refused++;
    if (err instanceof allowed) return null;
    assert.fail(`${what}: ${(err as Error)?.constructor?.name} escaped: ${(err as Error)?.stack ?? err}`);
  }
}

test('codec: random and mutated frames decode to a valid message or a ProtocolRejection', (t) => {
  const frames = Object.values(sampleMessages()).map((m) => encodeMessage(m));
  const runs = 1500;
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.constantFrom(...frames).chain(mutated)), (bytes) => {
      onlyOwnErrors(() => decodeMessage(bytes, { maxBytes: MAX }), 'decodeMessage', ProtocolRejection);
    }),
    { seed: SEED, numRuns: runs },
  );
  t.diagnostic(`${runs} frames: ${report()}`);
});

test('chunks: mutated chunk streams reassemble or are refused, within the memory limits', (t) => {
  const limits: ReassemblyLimits = { maxMessageBytes: 64 * 1024, maxPendingBytes: 256 * 1024, maxPendingMessages: 8, timeoutMs: 60_000 };
  const message = encodeMessage(sampleMessages().cases);
  const sender = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const runs = 300;
  let completed = 0;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: 3 }), fc.boolean()), { minLength: 1, maxLength: 40 }),
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { maxLength: 4 }),
      fc.nat(),
      (plan, junk, salt) => {
        const reassembler = new Reassembler(limits);
        // Up to 4 messages (sequence numbers), their chunks in the plan's order, some corrupted.
        const streams = [0, 1, 2, 3].map((seq) => splitFrame(message, 400, sender, seq + salt));
        const cursors = [0, 0, 0, 0];
        const frames: Uint8Array[] = [...junk];
        for (const [seq, corrupt] of plan) {
          const stream = streams[seq]!;
          const frame = Uint8Array.from(stream[cursors[seq]!++ % stream.length]!);
          if (corrupt) frame[(salt + seq) % frame.length] ^= 0x5a;
          frames.push(frame);
        }
        for (const frame of frames) {
          const chunk = onlyOwnErrors(() => parseChunkFrame(frame), 'parseChunkFrame', ProtocolRejection);
          if (!chunk) continue;
          const whole = onlyOwnErrors(() => reassembler.accept(chunk), 'Reassembler.accept', ProtocolRejection);
          if (whole) completed++;
          assert.ok(reassembler.pendingBytes <= limits.maxPendingBytes, `${reassembler.pendingBytes} pending bytes`);
          assert.ok(reassembler.pendingMessages <= limits.maxPendingMessages);
        }
      },
    ),
    { seed: SEED, numRuns: runs },
  );
  assert.ok(completed > 0, 'some uncorrupted messages completed');
  t.diagnostic(`${runs} chunk streams, ${completed} messages completed: ${report()}`);
});

test('safetensors: mutated checkpoints decode or are refused naming the file', (t) => {
  const original = encodeSafetensors(
    new Map([
      ['a.weight', { shape: [2, 3], dtype: 'float32', data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['a.num_batches_tracked', { shape: [], dtype: 'int64', data: BigInt64Array.of(7n) }],
    ]),
    { format: 'pt' },
  );
  const runs = 1000;
  fc.assert(
    fc.property(mutated(original), (bytes) => {
      onlyOwnErrors(() => decodeSafetensors(bytes, 'model.safetensors'), 'decodeSafetensors');
    }),
    { seed: SEED, numRuns: runs },
  );
  t.diagnostic(`${runs} files: ${report()}`);
});

test('VNet checkpoints: a mutated checkpoint is refused or loads exactly the weights that were written', (t) => {
  const model = VNet.create({ inChannels: 1, classes: 2, filters: 2, normalization: 'batchnorm', dropout: true }, 3);
  const original = encodeCheckpoint(model);
  const expected = stateDictChecksum(model.stateDict());
  model.dispose();
  const runs = 300;
  fc.assert(
    fc.property(mutated(original), (bytes) => {
      const decoded = onlyOwnErrors(() => decodeCheckpoint(bytes, 'model.safetensors'), 'decodeCheckpoint');
      if (!decoded) return;
      assert.equal(stateDictChecksum(decoded.model.stateDict()), expected, 'a checkpoint that loads holds the written weights');
      decoded.model.dispose();
    }),
    { seed: SEED, numRuns: runs },
  );
  t.diagnostic(`${runs} files: ${report()}`);
});

const pth = join(goldenDir, 'vnet4_bn_seed20261126.pth');

test('.pth: mutated PyTorch checkpoints load or are refused naming the file', { skip: existsSync(pth) ? false : `${pth} absent` }, (t) => {
  const original = new Uint8Array(readFileSync(pth));
  const runs = 200;
  fc.assert(
    fc.property(mutated(original), (bytes) => {
      onlyOwnErrors(() => readTorchStateDict(bytes, 'model.pth'), 'readTorchStateDict');
    }),
    { seed: SEED, numRuns: runs },
  );
  t.diagnostic(`${runs} files: ${report()}`);
});

test('NIfTI and HDF5: mutated volumes read or are refused naming the file', async (t) => {
  const tmp = tempDir('tracoco-fuzz-');
  t.after(tmp.cleanup);
  const shape: [number, number, number] = [6, 5, 4];
  const image = Float32Array.from({ length: 120 }, (_, i) => i / 7);
  const niiPath = join(tmp.path, 'v.nii.gz');
  await writeNifti(niiPath, { data: image, shape, spacing: [1, 1, 1], affine: spacingAffine([1, 1, 1]) }, { datatype: 'float32' });
  const rawPath = join(tmp.path, 'v.nii');
  await writeNifti(rawPath, { data: image, shape, spacing: [1, 1, 1], affine: spacingAffine([1, 1, 1]) }, { datatype: 'float32' });
  const h5Path = join(tmp.path, 'v.h5');
  await writeHdf5Case(h5Path, { image, label: new Uint8Array(120), shape });
  const runs = { nii: 150, h5: 40 };
  for (const [path, count] of [[niiPath, runs.nii], [rawPath, runs.nii], [h5Path, runs.h5]] as const) {
    const original = new Uint8Array(readFileSync(path));
    const target = join(tmp.path, `fuzzed-${path.split('/').pop()}`);
    const read = path.endsWith('.h5') ? readHdf5Case : readNifti;
    await fc.assert(
      fc.asyncProperty(mutated(original), async (bytes) => {
        writeFileSync(target, bytes);
        try {
          await read(target);
          outcomes.ok++;
        } catch (err) {
          outcomes.refused++;
          if (!(err instanceof TracocoError)) assert.fail(`${path}: ${(err as Error)?.constructor?.name} escaped: ${(err as Error)?.stack ?? err}`);
          assert.ok(err.message.length > 0);
        }
      }),
      { seed: SEED, numRuns: count },
    );
  }
  t.diagnostic(`${2 * runs.nii} NIfTI files, ${runs.h5} HDF5 files: ${report()}`);
});

test('config: arbitrary documents validate or are refused naming a field', (t) => {
  const runs = 1000;
  const section = fc.dictionary(fc.constantFrom('root', 'labeled', 'patch', 'lr', 'max_iterations', 'filters', 'every', 'scale', 'pairing', 'kl'), fc.anything(), { maxKeys: 4 });
  fc.assert(
    fc.property(fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom('name', 'seed', 'data', 'model', 'train', 'eval', 'checkpoint'), fc.oneof(section, fc.anything()), { maxKeys: 5 })), (doc) => {
      onlyOwnErrors(() => validateConfig(doc, 'fuzz.yaml'), 'validateConfig');
    }),
    { seed: SEED, numRuns: runs },
  );
  t.diagnostic(`${runs} documents: ${report()}`);
});
