/**
 * Named presets (`--config la|pancreas|phantom`): partial configs over the schema defaults.
 * `la` is the reference Left Atrium setting; `pancreas` the reference Pancreas-CT one; `phantom`
 * a schedule small enough for the synthetic demo to train in minutes on two CPU cores.
 */
import type { ConfigInput } from './schema.js';

export const presets: Record<string, ConfigInput> = {
  la: { name: 'la' },
  pancreas: {
    name: 'pancreas',
    data: { root: './data/pancreas', labeled: 12, patch: [96, 96, 96], rot_flip: false, brightness: null },
    train: { lr: 0.025, spatial_weight: 1.0 },
    eval: { patch: [96, 96, 96], stride_xy: 16, stride_z: 16 },
  },
  // Two labelled phantoms, 32^3 patches, a 4-filter VNet and 400 iterations: minutes on two CPU
  // cores. With two labels an epoch is one iteration, so the ramp spans the first half of the run;
  // the consistency weight is the reference's few-label setting (0.3). No Dropout3d: at 4
  // channels p = 0.5 zeroes most features of a pass, so the pseudo-labels (train-mode passes, as
  // in the reference) would be noise.
  phantom: {
    name: 'phantom',
    data: { root: './data/phantom', labeled: 2, patch: [32, 32, 32] },
    model: { filters: 4, dropout: false },
    train: { max_iterations: 400, rampup_length: 200, unsup_weight: 0.3 },
    eval: { every: 100, split: 'test', patch: [32, 32, 32], stride_xy: 16, stride_z: 16, batch: 4 },
    checkpoint: { every: 100 },
  },
};

export function presetNames(): string[] {
  return Object.keys(presets);
}
