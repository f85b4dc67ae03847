/**
 * Named presets (`--config la|pancreas|brats|acdc|phantom|la-cpu`): partial configs over the schema
 * defaults. `la`, `pancreas` and `brats` follow the published scripts, whose schedule depends on the number of
 * labelled cases: a preset's `rows` are picked by the run's `data.labeled` (GUIDE §5). `la-cpu` is
 * the published LA method at a resolution and width two CPU cores train in under an hour; `phantom`
 * is the demo's synthetic setting.
 */
import type { ConfigInput } from './schema.js';

/** Settings of the published script for one labelled-case count. */
export interface PresetRow {
  labeled: number;
  config: ConfigInput;
}

export interface Preset {
  base: ConfigInput;
  /** Published rows by `data.labeled`; the nearest count applies (ties: the smaller). */
  rows?: PresetRow[];
}

/** LA: 8 labels → unsup_weight 0.3 / 9000 iterations, 16 → 1.0 / 9000, 32 → 1.0 / 12000. */
const LA_ROWS: PresetRow[] = [
  { labeled: 8, config: { train: { unsup_weight: 0.3, max_iterations: 9000 } } },
  { labeled: 16, config: { train: { unsup_weight: 1.0, max_iterations: 9000 } } },
  { labeled: 32, config: { train: { unsup_weight: 1.0, max_iterations: 12000 } } },
];

export const presets: Record<string, Preset> = {
  // The published LA evaluation: every 25 epochs once past iteration 800, both models.
  la: { base: { name: 'la', eval: { every_epochs: 25, start: 800 } }, rows: LA_ROWS },
  pancreas: {
    base: {
      name: 'pancreas',
      data: { root: './data/pancreas', labeled: 12, patch: [96, 96, 96], rot_flip: false, brightness: null, translation: 'offset', translation_offset: 48 },
      train: { lr: 0.025, spatial_weight: 1.0, input_noise: 0.05, input_noise_clamp: true },
      // The published Pancreas script scores the final checkpoint only.
      eval: { every: 0, patch: [96, 96, 96], stride_xy: 16, stride_z: 16 },
    },
    rows: [
      { labeled: 6, config: { train: { unsup_weight: 0.3, max_iterations: 10000 } } },
      { labeled: 12, config: { train: { unsup_weight: 1.0, max_iterations: 10000 } } },
      { labeled: 24, config: { train: { unsup_weight: 1.0, max_iterations: 15000 } } },
    ],
  },
  // BraTS19 (GUIDE §5b): the 3D UNet (feature_scale 4 = 16 first-level channels, InstanceNorm,
  // dropout 0.3) on `ROOT/<case>.h5`, 96³ patches, input noise U(−0.05, 0.05) clamped to [0, 1],
  // entropy weight 0.05, 30000 iterations for every published label count, unsup_weight 1;
  // rotation/flip and brightness as LA; 96³ evaluation windows at stride 64.
  brats: {
    base: {
      name: 'brats',
      data: { root: './data/brats', labeled: 50, patch: [96, 96, 96] },
      model: { architecture: 'unet3d', filters: 16, dropout: true },
      train: { lr: 0.05, entropy_weight: 0.05, input_noise: 0.05, input_noise_clamp: true, unsup_weight: 1.0, max_iterations: 30000 },
      eval: { patch: [96, 96, 96], stride_xy: 64, stride_z: 64 },
    },
    rows: [25, 50, 100].map((labeled) => ({ labeled, config: { train: { unsup_weight: 1.0, max_iterations: 30000 } } })),
  },
  // ACDC (GUIDE §5b): the 2D UNet (16…256 channels, BatchNorm, encoder dropout 0.05…0.5, 4
  // classes) on axial slices resized to 256×256 and used whole (patch 256×256×1: f and s are the
  // same crop, the reference's un-padded branch), batch 24 = 12 labelled + 12 unlabelled slices,
  // lr 0.065, spatial weight 0.1, entropy weight 0.01, input noise U(−0.05, 0.05) unclamped, 50000
  // iterations for 3, 7 and 14 labelled patients. Brightness U(0.5, 1.5) clipped is the reference's
  // colour-jitter brightness; its contrast, sharpness and blur are not reproduced. Evaluation
  // predicts each slice of 256×256×1 windows.
  acdc: {
    base: {
      name: 'acdc',
      data: { root: './data/acdc', labeled: 7, classes: 4, patch: [256, 256, 1], slice_size: [256, 256], brightness: [0.5, 1.5] },
      model: { architecture: 'unet2d', filters: 16, dropout: true },
      // The ACDC step: CutMix on both models, largest component per class on the pseudo-labels,
      // (CRC + pseudo-label Dice) / 2 with the published multi-class CRC.
      train: {
        batch_size: 24, lr: 0.065, spatial_weight: 0.1, entropy_weight: 0.01, input_noise: 0.05, max_iterations: 50000,
        cutmix_both: true, pseudo_label_lcc: true, pseudo_dice: true, crc: 'reference',
      },
      eval: { patch: [256, 256, 1], stride_xy: 64, stride_z: 1 },
    },
    rows: [3, 7, 14].map((labeled) => ({ labeled, config: { train: { max_iterations: 50000 } } })),
  },
  // The published LA method (same losses, sampler, augmentation, optimiser, ramp in epochs and
  // evaluation every 25 epochs) at 0.4× resolution, VNet-8 and 600 iterations: one TraCoCo run
  // with 8 labels takes about half an hour on two CPU cores. Patch and windows are the published
  // 112×112×80 scaled by 0.4 and rounded to multiples of 16, strides scaled alike; evaluations
  // start past iteration 200 (the published 800 of 9000 would leave one).
  'la-cpu': {
    base: {
      name: 'la-cpu',
      data: { root: './data/la', labeled: 8, scale: 0.4, patch: [48, 48, 32] },
      model: { filters: 8 },
      train: { max_iterations: 600 },
      eval: { every_epochs: 25, start: 200, patch: [48, 48, 32], stride_xy: 7, stride_z: 2, batch: 4 },
      checkpoint: { every: 50 },
    },
    rows: [
      { labeled: 8, config: { train: { unsup_weight: 0.3 } } },
      { labeled: 16, config: { train: { unsup_weight: 1.0 } } },
      { labeled: 32, config: { train: { unsup_weight: 1.0, max_iterations: 800 } } },
    ],
  },
  // The demo's setting: two labelled phantoms, 32³ patches, an 8-filter VNet and 300 iterations
  // (TraCoCo takes about 5.5 minutes of a 2-core machine, its two workers in threads of their own).
  // With two labels an epoch is one iteration, so the ramp spans the first half of the run. The
  // consistency weight is the published 16-label row's (1.0): at the 8-label row's 0.3 even perfect
  // pseudo-labels closed less than half the supervised→ceiling gap in this budget (README).
  // Instance normalisation: at batch 4, BatchNorm's running statistics (updated by every noisy,
  // CutMixed train-mode pass, as in the reference) swung the evaluation Dice of one checkpoint to the
  // next by up to 0.6 and moved a model 0.13 over the last 90 of 360 iterations at almost zero
  // learning rate; instance norm has no running statistics, so evaluation computes what training
  // computed. No Dropout3d: at these widths p = 0.5 zeroes most features of a pass, so the
  // pseudo-labels would be noise. 8 filters, not 4: from some initial weights a 4-filter model marks
  // the organ by all-zero last-block features, so its organ probability is the output bias alone
  // and carries no confidence (README), and its supervised→ceiling gap stayed within one run's noise.
  phantom: {
    base: {
      name: 'phantom',
      data: { root: './data/phantom', labeled: 2, patch: [32, 32, 32] },
      model: { filters: 8, normalization: 'instancenorm', dropout: false },
      train: { max_iterations: 300, rampup_length: 150, unsup_weight: 1.0 },
      eval: { every: 75, split: 'test', patch: [32, 32, 32], stride_xy: 16, stride_z: 16, batch: 4 },
      checkpoint: { every: 75 },
    },
  },
};

export function presetNames(): string[] {
  return Object.keys(presets);
}

/** The row of `preset` for `labeled` cases: the nearest published count (ties: the smaller); null without rows. */
export function presetRow(preset: Preset, labeled: number): PresetRow | null {
  const rows = preset.rows ?? [];
  let best: PresetRow | null = null;
  for (const row of rows) {
    const d = Math.abs(row.labeled - labeled);
    if (!best || d < Math.abs(best.labeled - labeled) || (d === Math.abs(best.labeled - labeled) && row.labeled < best.labeled)) best = row;
  }
  return best;
}
