/**
 * Network checkpoints (GUIDE §3): one `.safetensors` file holding the state_dict in PyTorch layout
 * and names (BN buffers included, `num_batches_tracked` as I64) and the architecture in
 * `__metadata__` — for a VNet `n_filters`, `n_classes`, `n_channels`, `normalization`,
 * `has_dropout`, `format: "pt"` (no `architecture` key, as VNet checkpoints always were); for the
 * UNets `architecture` and their hyper-parameters — plus any extra string entries of the caller
 * (e.g. the training step). So `safetensors.torch.load_file` + the PyTorch network's
 * `load_state_dict(strict=True)` reads it.
 * `tracoco_sha256` holds a SHA-256 of the tensors (names and bytes, in name order): a truncated or
 * corrupted checkpoint is refused instead of becoming a silently wrong model. Files from other
 * tools carry no checksum and are read as they are.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileError, TracocoError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { StateDict } from '../model/layout.js';
import { architectureOf, isArchitecture, networkFromStateDict, specOf, type Architecture, type NetworkSpec, type SegmentationNetwork } from '../model/network.js';
import { UNet2D, UNET2D_DROPOUT } from '../model/unet2d.js';
import { UNet3D } from '../model/unet3d.js';
import { NORMALIZATIONS, type Normalization, type VNetConfig } from '../model/vnet.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

/** Metadata keys that describe the architecture; extra metadata may not reuse them. */
export const ARCHITECTURE_KEYS = ['architecture', 'n_filters', 'n_classes', 'n_channels', 'normalization', 'has_dropout', 'channels', 'dropout', 'format'] as const;

/** Metadata key of the tensors' checksum. */
export const CHECKSUM_KEY = 'tracoco_sha256';

/** SHA-256 (hex) over every tensor's name and bytes, names in sorted order. */
export function stateDictChecksum(sd: StateDict): string {
  const hash = createHash('sha256');
  for (const key of [...sd.keys()].sort()) {
    const { data } = sd.get(key)!;
    hash.update(key);
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

export function architectureMetadata(spec: NetworkSpec): Record<string, string> {
  const common = { n_classes: String(spec.classes), n_channels: String(spec.inChannels), format: 'pt' };
  switch (spec.architecture) {
    case 'vnet':
      return { n_filters: String(spec.filters), ...common, normalization: spec.normalization, has_dropout: String(spec.dropout) };
    case 'unet3d':
      return { architecture: 'unet3d', n_filters: String(spec.filters), ...common, has_dropout: String(spec.dropout) };
    case 'unet2d':
      return { architecture: 'unet2d', channels: spec.channels.join(','), ...common, dropout: spec.dropout.join(',') };
  }
}

/** The checkpoint bytes of `model` (e.g. for an object store); `extraMetadata` adds string entries. */
export function encodeCheckpoint(model: SegmentationNetwork, extraMetadata: Record<string, string> = {}): Uint8Array {
  for (const key of Object.keys(extraMetadata)) {
    if ((ARCHITECTURE_KEYS as readonly string[]).includes(key) || key === CHECKSUM_KEY) {
      throw new TracocoError(`extra checkpoint metadata may not override the architecture key '${key}'`, { field: key });
    }
  }
  const sd = model.stateDict();
  return encodeSafetensors(sd, { ...architectureMetadata(specOf(model)), ...extraMetadata, [CHECKSUM_KEY]: stateDictChecksum(sd) });
}

export interface DecodedCheckpoint {
  model: SegmentationNetwork;
  /** Every `__metadata__` entry, architecture and extra ones. */
  metadata: Record<string, string>;
}

/**
 * Rebuilds the network of a checkpoint from its bytes; `source` names the file in errors. With
 * `expected`, a checkpoint of another architecture is refused.
 */
export function decodeCheckpoint(bytes: Uint8Array, source: string, expected?: Architecture): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const stored = metadata[CHECKSUM_KEY];
  if (stored !== undefined && stored !== stateDictChecksum(tensors)) {
    throw new TracocoError('checkpoint checksum mismatch: the file is corrupted (its tensors differ from the ones written)', { file: source, field: CHECKSUM_KEY });
  }
  const spec = networkSpecFor(tensors, metadata, source);
  if (expected && spec.architecture !== expected) {
    throw new TracocoError(`a ${spec.architecture} checkpoint where a ${expected} is expected (model.architecture)`, { file: source, field: 'architecture' });
  }
  return { model: networkFromStateDict(spec, tensors, source), metadata };
}

/** Writes `model` to `path` atomically (temp file + rename). */
export async function saveCheckpoint(path: string, model: SegmentationNetwork, extraMetadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(model, extraMetadata));
}

/** Reads a checkpoint with its metadata. */
export async function readCheckpoint(path: string): Promise<DecodedCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw fileError(path, 'cannot read checkpoint', err);
  }
  return decodeCheckpoint(bytes, path);
}

/** Reads the network of a checkpoint (architecture from its metadata, else from its keys). */
export async function loadCheckpoint(path: string): Promise<SegmentationNetwork> {
  return (await readCheckpoint(path)).model;
}

/**
 * The network of a checkpoint: `architecture` in the metadata, else read off the key names; its
 * hyper-parameters from the metadata, else from the weights' shapes.
 */
export function networkSpecFor(sd: StateDict, metadata: Record<string, string>, source: string): NetworkSpec {
  const architecture = metadata.architecture ?? architectureOf(sd, source);
  if (!isArchitecture(architecture)) throw new TracocoError(`unknown architecture '${architecture}'`, { file: source, field: 'architecture' });
  switch (architecture) {
    case 'vnet':
      return { architecture, ...vnetConfigFor(sd, metadata, source) };
    case 'unet3d': {
      const inferred = UNet3D.inferConfig(sd, source);
      return { architecture, ...inferred, filters: positiveInt(metadata, 'n_filters', inferred.filters, source), dropout: booleanEntry(metadata, 'has_dropout', true, source) };
    }
    case 'unet2d': {
      const inferred = UNet2D.inferConfig(sd, source);
      const dropout = metadata.dropout === undefined ? [...UNET2D_DROPOUT] : metadata.dropout.split(',').map(Number);
      return { architecture, ...inferred, dropout };
    }
  }
}

/**
 * The architecture of a VNet checkpoint: metadata entries win; absent ones are inferred from the
 * weights (a safetensors written by other tools may carry no metadata). Dropout defaults to the
 * reference's `has_dropout=True`; it only matters in training.
 */
export function vnetConfigFor(sd: StateDict, metadata: Record<string, string>, source: string): VNetConfig {
  const inferred = inferVNetConfig(sd, source);
  const normalization = metadata.normalization ?? inferred.normalization;
  if (!(NORMALIZATIONS as readonly string[]).includes(normalization)) {
    throw new TracocoError(`unknown normalization '${normalization}' (expected ${NORMALIZATIONS.join(', ')})`, { file: source, field: 'normalization' });
  }
  return {
    filters: positiveInt(metadata, 'n_filters', inferred.filters, source),
    classes: positiveInt(metadata, 'n_classes', inferred.classes, source),
    inChannels: positiveInt(metadata, 'n_channels', inferred.inChannels, source),
    normalization: normalization as Normalization,
    dropout: booleanEntry(metadata, 'has_dropout', inferred.dropout, source),
  };
}

function positiveInt(metadata: Record<string, string>, key: string, fallback: number, source: string): number {
  const text = metadata[key];
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0) throw new TracocoError(`metadata must be a positive integer, got '${text}'`, { file: source, field: key });
  return v;
}

function booleanEntry(metadata: Record<string, string>, key: string, fallback: boolean, source: string): boolean {
  const text = metadata[key];
  if (text === undefined) return fallback;
  if (text !== 'true' && text !== 'false') throw new TracocoError(`metadata must be 'true' or 'false', got '${text}'`, { file: source, field: key });
  return text === 'true';
}

/**
 * Reads the architecture off a VNet state_dict: filters and input channels from
 * `block_one.conv.0.weight`, classes from `out_conv.weight`, the norm from which keys exist.
 */
export function inferVNetConfig(sd: StateDict, source: string): VNetConfig {
  const first = sd.get('block_one.conv.0.weight');
  const out = sd.get('out_conv.weight');
  if (!first || first.shape.length !== 5) throw new TracocoError("not a VNet state_dict: no 5D 'block_one.conv.0.weight'", { file: source });
  if (!out || out.shape.length !== 5) throw new TracocoError("not a VNet state_dict: no 5D 'out_conv.weight'", { file: source });
  let normalization: Normalization;
  if (sd.has('block_one.conv.1.running_mean')) normalization = 'batchnorm';
  else if (sd.has('block_one.conv.1.weight')) normalization = 'groupnorm';
  else if (sd.has('block_two.conv.2.weight')) normalization = 'none';
  else normalization = 'instancenorm';
  return { filters: first.shape[0]!, inChannels: first.shape[1]!, classes: out.shape[0]!, normalization, dropout: true };
}
