// Fused training-mode BatchNorm(+ReLU) forward and backward over channels-last data [rows, C]
// (rows = N*D*H*W), the contract of tracoco's TracocoBatchNormTrain / TracocoBatchNormTrainGrad.
#pragma once
#include <napi.h>

namespace tracoco {

// batchNormTrain(rows, C, x, scale, offset, epsilon, relu, y, mean, variance)
// batchNormTrainGrad(rows, C, dy, x, y, scale, mean, variance, epsilon, relu, dx, dscale, doffset)
void registerBatchNorm(Napi::Env env, Napi::Object exports);

}  // namespace tracoco
