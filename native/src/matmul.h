// Batched float32 matrix multiply (tfjs BatchMatMul) through oneDNN's sgemm.
#pragma once
#include <napi.h>

namespace tracoco {

// matmul(batch, batchA, batchB, M, N, K, transposeA, transposeB, a, b, out):
// out[i] = op(a[i % batchA]) x op(b[i % batchB]), op = transpose when asked; row-major
// a [batchA, M, K] (or [batchA, K, M]), b [batchB, K, N] (or [batchB, N, K]), out [batch, M, N].
void registerMatmul(Napi::Env env, Napi::Object exports);

}  // namespace tracoco
