/**
 * The one validated configuration of a training run. Field names are snake_case as in the YAML
 * files and the reference code; every default is the reference's Left Atrium setting (GUIDE §5).
 * Unknown fields are errors, so a typo never silently falls back to a default.
 */
import { ARCHITECTURES, POST_PROCESSING, PSEUDO_LABEL_SOURCES } from '../names.js';
import { z } from 'zod';

const shape3 = z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]);

export const dataSchema = z
  .object({
    /** Dataset root in any layout of GUIDE §4 (MSD dataset.json, reference HDF5 with case lists). */
    root: z.string().default('./data/la'),
    /** Labelled cases: the first N ids of the train split (the reference's labeled_num), or the N of `labeled_ids`. */
    labeled: z.number().int().positive().default(16),
    /**
     * Which ids of the train split are labelled, in place of the first `labeled` (null): as many
     * as `labeled`, which picks a preset's row. The unlabelled ones are then the rest in order.
     */
    labeled_ids: z.array(z.string().min(1)).nullable().default(null),
    /** Unlabelled cases: the next N ids of the train split; null = all the rest. */
    unlabeled: z.number().int().nonnegative().nullable().default(null),
    classes: z.number().int().min(2).default(2),
    /** Training patch (x, y, z); a 2D network (unet2d) crops [x, y, 1] from its resized axial slices. */
    patch: shape3.default([112, 112, 80]),
    /**
     * 2D networks only (GUIDE §5b, ACDC 256×256): each sampled axial slice is resized to this
     * (x, y) before augmentation and cropping (image bilinear, label nearest).
     */
    slice_size: z.tuple([z.number().int().positive(), z.number().int().positive()]).default([256, 256]),
    /** Random rot90 (x-y plane) + flip (axis x or y), LA only in the reference. */
    rot_flip: z.boolean().default(true),
    /** Brightness factor range U(a, b), clipped to [0, 1]; null disables it. */
    brightness: z.tuple([z.number().positive(), z.number().positive()]).nullable().default([0.75, 1.25]),
    /** Translation-pair sampler: `reference` (s before f, as the published LA code), `symmetric`, or `offset` (published Pancreas). */
    translation: z.enum(['reference', 'symmetric', 'offset']).default('reference'),
    /** Minimum overlap volume fraction for the symmetric sampler. */
    min_overlap: z.number().gt(0).max(1).default(0.5),
    /** `offset` sampler: s starts this many voxels before f on each axis, clipped at 0 (Pancreas: 48). */
    translation_offset: z.number().int().nonnegative().default(48),
    /**
     * Resampling factor per axis applied at load (image trilinear, label nearest), so a real dataset
     * trains on a CPU at reduced resolution; evaluation resamples the probabilities back to the
     * stored grid and scores against the stored labels (GUIDE §4).
     */
    scale: z.number().gt(0).max(4).default(1),
  })
  .strict()
  .superRefine((data, ctx) => {
    const ids = data.labeled_ids;
    if (ids === null) return;
    if (ids.length !== data.labeled) {
      ctx.addIssue({ code: 'custom', path: ['labeled_ids'], message: `lists ${ids.length} ids but data.labeled is ${data.labeled}: set both` });
    }
    const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
    if (repeated !== undefined) ctx.addIssue({ code: 'custom', path: ['labeled_ids'], message: `lists '${repeated}' twice` });
  });

export const modelSchema = z
  .object({
    /** vnet (LA, Pancreas), unet3d (BraTS19), unet2d (ACDC, on slices): GUIDE §5, §5b. */
    architecture: z.enum(ARCHITECTURES).default('vnet'),
    in_channels: z.number().int().positive().default(1),
    /** First level's channels; the next levels double it (unet3d 16 = feature_scale 4, unet2d 16 = the published 16…256). */
    filters: z.number().int().positive().default(16),
    /** The VNet's normalisation; unet3d has InstanceNorm and unet2d BatchNorm, as published. */
    normalization: z.enum(['batchnorm', 'groupnorm', 'instancenorm', 'none']).default('batchnorm'),
    /** The published dropout while training: VNet Dropout3d(0.5), unet3d element-wise 0.3, unet2d 0.05…0.5 per encoder level. */
    dropout: z.boolean().default(true),
  })
  .strict();

export const trainSchema = z
  .object({
    /** Volumes per step: half labelled, half unlabelled. */
    batch_size: z.number().int().min(2).multipleOf(2).default(4),
    max_iterations: z.number().int().positive().default(9000),
    lr: z.number().positive().default(0.05),
    lr_power: z.number().nonnegative().default(0.9),
    momentum: z.number().min(0).max(1).default(0.9),
    weight_decay: z.number().nonnegative().default(1e-4),
    /** Additive input noise U(-a, a) on every gradient forward. */
    input_noise: z.number().nonnegative().default(0.2),
    /** Clamp the noisy input to [0, 1] (the published Pancreas and BraTS code). */
    input_noise_clamp: z.boolean().default(false),
    /** CRC thresholds: γ (confident positive) and β (confident negative). */
    threshold: z.number().gt(0).lt(1).default(0.65),
    neg_threshold: z.number().gt(0).lt(1).default(0.1),
    /** ℓ_tra = spatial_weight × Σ KL + entropy_weight × negative entropy. */
    spatial_weight: z.number().nonnegative().default(0.3),
    entropy_weight: z.number().nonnegative().default(0.1),
    /** Final consistency weight (0.3 for the reference's 8-label setting). */
    unsup_weight: z.number().nonnegative().default(1.0),
    rampup: z.enum(['sigmoid', 'linear']).default('sigmoid'),
    /** Ramp length and start in epochs (× iterations per epoch). */
    rampup_length: z.number().nonnegative().default(40),
    rampup_start: z.number().nonnegative().default(0),
    /** Translation view pairing: `intra` (the same model's s-crop, the published code) or `cross` (the peer's). */
    pairing: z.enum(['cross', 'intra']).default('intra'),
    /**
     * KL form: `reference` (the published code's computation) or `class` (KL over classes, whose
     * entropy regulariser sharpens predictions instead of flattening them).
     */
    kl: z.enum(['class', 'reference']).default('reference'),
    /** 3D CutMix of model 2's unlabelled input and pseudo-labels. */
    cutmix: z.boolean().default(true),
    /** CutMix both models' unlabelled inputs and pseudo-labels (the published ACDC code), not only model 2's. */
    cutmix_both: z.boolean().default(false),
    /**
     * Keep only each class's largest connected component (26-connected) of the peer's pseudo-labels,
     * other voxels' probabilities zeroed (the published ACDC filter, GUIDE §5b).
     */
    pseudo_label_lcc: z.boolean().default(false),
    /** Unsupervised term (CRC + multi-class Dice of the prediction vs the argmax pseudo-label) / 2 (ACDC). */
    pseudo_dice: z.boolean().default(false),
    /**
     * CRC's negative term (GUIDE §5b): `least-likely` (the LA code: NLL of 1 − q against the least
     * likely class × min p) or `reference` (the published ACDC code: mean over (voxel, class) of
     * log(1 − q_c) × w_c × min p, w_c = −2 for the pseudo-label's class, −1 for the others).
     * The two differ for every C, 2 included: there `reference` is min p × (−2 log(1 − q_y) −
     * log(1 − q_other)) / 2, `least-likely` min p × −log(1 − q_other), what 2-class runs have
     * always computed. `true` (the former boolean) means `least-likely`; false: plain CE on
     * argmax pseudo-labels instead of CRC (ablation).
     */
    crc: z
      .union([z.boolean(), z.enum(['least-likely', 'reference'])], { error: "expected 'least-likely', 'reference', true or false" })
      .default('least-likely')
      .transform((v) => (v === true ? ('least-likely' as const) : v)),
    /** false: drop the translation term (ablation). */
    translation_loss: z.boolean().default(true),
    /**
     * Where the unsupervised terms' targets come from: `peer` (the method: the other model's
     * probabilities) or `ground-truth` (a diagnostic upper bound: the unlabelled cases' own labels,
     * one-hot, replace them, so CRC and CutMix train on perfect pseudo-labels). `ground-truth`
     * needs every unlabelled case to have a label (a phantom's do) and is never a method to report.
     */
    pseudo_labels: z.enum(PSEUDO_LABEL_SOURCES).default('peer'),
    /** false: supervised-only baseline on the labelled half (no pseudo-labels, no translation term). */
    semi_supervised: z.boolean().default(true),
    /**
     * Data shards (null: one per worker pair at the start). Each step trains on batch_size ×
     * initial pairs volumes split evenly over the shards; a pair trains on shards/pairs of them.
     * Fixing it makes runs with different pair counts see the same data.
     */
    shards: z.number().int().positive().nullable().default(null),
    /** Exchange quantisation: uint16 probabilities (≤ 2 bytes/voxel/class) or exact float32. */
    exchange_dtype: z.enum(['uint16', 'float32']).default('uint16'),
  })
  .strict();

export const evalSchema = z
  .object({
    /** Evaluate every N iterations (0: only at the end); ignored when `every_epochs` is set. */
    every: z.number().int().nonnegative().default(1000),
    /** Evaluate every N epochs instead (the `la` preset: 25, as published); null: use `every`. */
    every_epochs: z.number().int().positive().nullable().default(null),
    /** Periodic evaluations start after this iteration (the `la` preset: 800); the final one always runs. */
    start: z.number().int().nonnegative().default(0),
    /** Split evaluated during training: `eval` when the dataset has one, else `test`. */
    split: z.enum(['eval', 'test']).default('eval'),
    patch: shape3.default([112, 112, 80]),
    stride_xy: z.number().int().positive().default(18),
    stride_z: z.number().int().positive().default(4),
    /**
     * Post-processing before scoring, per foreground class (names.ts POST_PROCESSING); `true` (the
     * former boolean) means `small-components`, `false` means `none`.
     */
    post_process: z
      .union([z.boolean(), z.enum(POST_PROCESSING)], { error: `expected ${POST_PROCESSING.map((m) => `'${m}'`).join(', ')}, true or false` })
      .default('none')
      .transform((v) => (v === true ? ('small-components' as const) : v === false ? ('none' as const) : v)),
    /** Windows per forward in sliding-window inference. */
    batch: z.number().int().positive().default(1),
    /** Evaluate at most N cases (null: all). */
    max_cases: z.number().int().positive().nullable().default(null),
    /** Write a PNG of the middle slices per evaluated case to <out>/eval/. */
    slices: z.boolean().default(true),
  })
  .strict();

export const checkpointSchema = z
  .object({
    /** Save model1/model2 + run state every N iterations (and at the end). */
    every: z.number().int().positive().default(500),
  })
  .strict();

export const configSchema = z
  .object({
    name: z.string().default('la'),
    seed: z.number().int().nonnegative().default(1337),
    data: dataSchema.prefault({}),
    model: modelSchema.prefault({}),
    train: trainSchema.prefault({}),
    eval: evalSchema.prefault({}),
    checkpoint: checkpointSchema.prefault({}),
  })
  .strict();

export type TracocoConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
