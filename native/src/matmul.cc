#include "matmul.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstdint>
#include <string>

#include "args.h"

namespace tracoco {
namespace {

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const int64_t batch = intArg(info, 0, "batch");
  const int64_t batchA = intArg(info, 1, "batchA");
  const int64_t batchB = intArg(info, 2, "batchB");
  const int64_t m = intArg(info, 3, "M");
  const int64_t n = intArg(info, 4, "N");
  const int64_t k = intArg(info, 5, "K");
  const bool transA = info[6].ToBoolean().Value();
  const bool transB = info[7].ToBoolean().Value();
  const Span<float> a = spanArg<float>(info, 8, "a");
  const Span<float> b = spanArg<float>(info, 9, "b");
  const Span<float> out = spanArg<float>(info, 10, "out");
  require(info, batch >= 1 && batchA >= 1 && batchB >= 1 && m >= 1 && n >= 1 && k >= 1, "matmul: sizes must be positive");
  require(info, a.size == batchA * m * k && b.size == batchB * k * n && out.size == batch * m * n, "matmul: array sizes do not match");
  const int64_t lda = transA ? m : k;
  const int64_t ldb = transB ? k : n;
  auto one = [&](int64_t i) -> dnnl_status_t {
    const float* ai = a.data + (i % batchA) * m * k;
    const float* bi = b.data + (i % batchB) * k * n;
    return dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', m, n, k, 1.0f, ai, lda, bi, ldb, 0.0f, out.data + i * m * n, n);
  };
  int status = dnnl_success;
  if (batch >= omp_get_max_threads() && batch > 1) {
    // Many (often small) products: one sequential sgemm per item, items spread over threads
    // (oneDNN runs single-threaded inside a parallel region), instead of a fork/join per item.
#pragma omp parallel for schedule(dynamic, 1) reduction(max : status)
    for (int64_t i = 0; i < batch; ++i) {
      const int s = one(i);
      if (s > status) status = s;
    }
  } else {
    for (int64_t i = 0; i < batch && status == dnnl_success; ++i) status = one(i);
  }
  if (status != dnnl_success) throw Napi::Error::New(info.Env(), "oneDNN sgemm failed with status " + std::to_string(status));
  return info.Env().Undefined();
}

}  // namespace

void registerMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
}

}  // namespace tracoco
