// The binary supervised loss (GUIDE §5: 0.5 × (CE + Dice on class 1)) over channels-last logits
// [voxels, C] in one pass, and its logits gradient in two: the contract of tracoco's
// TracocoSupervisedLoss / TracocoSupervisedLossGrad (src/shared/losses/supervised.ts).
#pragma once
#include <napi.h>

namespace tracoco {

// supervisedLoss(voxels, C, logits, labels: Int32Array, out: Float32Array(3) = [loss, ce, dice])
// supervisedLossGrad(voxels, C, logits, labels, dy: Float32Array(3), dlogits)
//   labels outside [0, C) have no target (no CE term, no gradient from it), as tfjs's oneHot.
void registerLosses(Napi::Env env, Napi::Object exports);

}  // namespace tracoco
