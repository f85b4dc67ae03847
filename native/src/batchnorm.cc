// Statistics accumulate per thread in double, on values shifted by the first row (so a large
// mean does not cancel the variance), and merge across threads; M can be tens of millions.
#include "batchnorm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "args.h"
#include "parallel.h"

namespace tracoco {
namespace {

// Per-thread, per-channel double partials: `width` sums of `channels` each per thread, allocated
// and zeroed before the parallel region (an allocation failure inside an OpenMP region cannot be
// caught). Each thread's slot starts on its own cache line, so threads do not share lines.
class Partials {
 public:
  Partials(int threads, int64_t channels, int width)
      : channels_(channels), width_(width), stride_(roundUp(static_cast<size_t>(channels) * width, kDoublesPerLine)),
        threads_(threads), data_(static_cast<size_t>(threads) * stride_ + kDoublesPerLine, 0.0) {}
  // Thread t's accumulator: `width` consecutive runs of `channels` sums.
  double* slot(int t) { return aligned() + static_cast<size_t>(t) * stride_; }
  // Sum over threads of partial `which`, channel c.
  double total(int which, int64_t c) {
    double s = 0.0;
    for (int t = 0; t < threads_; ++t) s += slot(t)[which * channels_ + c];
    return s;
  }

 private:
  static constexpr size_t kDoublesPerLine = 64 / sizeof(double);
  static size_t roundUp(size_t n, size_t m) { return (n + m - 1) / m * m; }
  double* aligned() {
    const auto address = reinterpret_cast<uintptr_t>(data_.data());
    return data_.data() + ((64 - address % 64) % 64) / sizeof(double);
  }
  int64_t channels_;
  int width_;
  size_t stride_;
  int threads_;
  std::vector<double> data_;
};

// dy * (y > 0) as the composite computes it (dy * step(y)): a multiply by a 0/1 mask rather than a
// data-dependent select, which compilers turn into mispredicted branches.
inline float reluMask(float y) { return static_cast<float>(y > 0.0f); }

Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  const int64_t rows = intArg(info, 0, "rows");
  const int64_t channels = intArg(info, 1, "channels");
  const Span<float> x = spanArg<float>(info, 2, "x");
  const Span<float> scale = spanArg<float>(info, 3, "scale");
  const Span<float> offset = spanArg<float>(info, 4, "offset");
  const double epsilon = numberArg(info, 5, "epsilon");
  const bool relu = info[6].ToBoolean().Value();
  const Span<float> y = spanArg<float>(info, 7, "y");
  const Span<float> mean = spanArg<float>(info, 8, "mean");
  const Span<float> variance = spanArg<float>(info, 9, "variance");
  require(info, rows >= 1 && channels >= 1 && x.size == rows * channels && y.size == x.size, "batchNormTrain: x and y must be [rows, channels], rows >= 1");
  require(info, scale.size == channels && offset.size == channels && mean.size == channels && variance.size == channels, "batchNormTrain: per-channel arrays must have C elements");

  const float* shift = x.data;  // first row
  const int threads = rangesFor(rows, channels * 2);
  Partials sums(threads, channels, 2);
  parallelRanges(rows, channels * 2, [&](int64_t b, int64_t e, int t) {
    double* s1 = sums.slot(t);
    double* s2 = s1 + channels;
    for (int64_t r = b; r < e; ++r) {
      const float* row = x.data + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) {
        const double d = static_cast<double>(row[c]) - shift[c];
        s1[c] += d;
        s2[c] += d * d;
      }
    }
  });
  // The mean stays in double: in float32 it can be off by more than the spread of the data
  // (mean 3000, std 0.006), and y is computed from x - mean.
  std::vector<double> centre(channels);
  std::vector<float> gain(channels);
  const double m = static_cast<double>(rows);
  for (int64_t c = 0; c < channels; ++c) {
    const double d1 = sums.total(0, c) / m;
    const double var = std::max(0.0, sums.total(1, c) / m - d1 * d1);
    centre[c] = shift[c] + d1;
    mean.data[c] = static_cast<float>(centre[c]);
    variance.data[c] = static_cast<float>(var);
    gain[c] = static_cast<float>(scale.data[c] / std::sqrt(var + epsilon));
  }
  const float* g = gain.data();
  const double* mu = centre.data();
  const float* beta = offset.data;
  parallelRanges(rows, channels, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      const float* in = x.data + r * channels;
      float* out = y.data + r * channels;
      if (relu) {
#pragma omp simd
        for (int64_t c = 0; c < channels; ++c) {
          const float v = static_cast<float>(in[c] - mu[c]) * g[c] + beta[c];
          out[c] = v < 0.0f ? 0.0f : v;
        }
      } else {
#pragma omp simd
        for (int64_t c = 0; c < channels; ++c) out[c] = static_cast<float>(in[c] - mu[c]) * g[c] + beta[c];
      }
    }
  });
  return info.Env().Undefined();
}

Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  const int64_t rows = intArg(info, 0, "rows");
  const int64_t channels = intArg(info, 1, "channels");
  const Span<float> dy = spanArg<float>(info, 2, "dy");
  const Span<float> x = spanArg<float>(info, 3, "x");
  const Span<float> y = spanArg<float>(info, 4, "y");
  const Span<float> scale = spanArg<float>(info, 5, "scale");
  const Span<float> mean = spanArg<float>(info, 6, "mean");
  const Span<float> variance = spanArg<float>(info, 7, "variance");
  const double epsilon = numberArg(info, 8, "epsilon");
  const bool relu = info[9].ToBoolean().Value();
  const Span<float> dx = spanArg<float>(info, 10, "dx");
  const Span<float> dscale = spanArg<float>(info, 11, "dscale");
  const Span<float> doffset = spanArg<float>(info, 12, "doffset");
  const int64_t n = rows * channels;
  require(info, rows >= 1 && channels >= 1 && dy.size == n && x.size == n && y.size == n && dx.size == n, "batchNormTrainGrad: dy, x, y, dx must be [rows, channels], rows >= 1");
  require(info, scale.size == channels && mean.size == channels && variance.size == channels && dscale.size == channels && doffset.size == channels,
          "batchNormTrainGrad: per-channel arrays must have C elements");

  // Pass 1: sum(g) and sum(g * (x - mean)) per channel.
  const float* mu = mean.data;
  const int threads = rangesFor(rows, channels * 3);
  Partials sums(threads, channels, 2);
  parallelRanges(rows, channels * 3, [&](int64_t b, int64_t e, int t) {
    double* sg = sums.slot(t);
    double* sgx = sg + channels;
    for (int64_t r = b; r < e; ++r) {
      const float* dyr = dy.data + r * channels;
      const float* xr = x.data + r * channels;
      const float* yr = y.data + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) {
        const float gv = relu ? dyr[c] * reluMask(yr[c]) : dyr[c];
        sg[c] += gv;
        sgx[c] += static_cast<double>(gv) * (static_cast<double>(xr[c]) - mu[c]);
      }
    }
  });
  // dx = k1*g - k2 - k3*(x - mean), with k1 = scale*rstd, k2 = k1*doffset/M, k3 = k1*rstd*dscale/M.
  std::vector<float> k1(channels), k2(channels), k3(channels);
  const double m = static_cast<double>(rows);
  for (int64_t c = 0; c < channels; ++c) {
    const double rstd = 1.0 / std::sqrt(static_cast<double>(variance.data[c]) + epsilon);
    const double sumG = sums.total(0, c);
    const double sumGXhat = sums.total(1, c) * rstd;
    doffset.data[c] = static_cast<float>(sumG);
    dscale.data[c] = static_cast<float>(sumGXhat);
    const double a = scale.data[c] * rstd;
    k1[c] = static_cast<float>(a);
    k2[c] = static_cast<float>(a * sumG / m);
    k3[c] = static_cast<float>(a * rstd * sumGXhat / m);
  }
  const float *a1 = k1.data(), *a2 = k2.data(), *a3 = k3.data();
  parallelRanges(rows, channels * 4, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      const float* dyr = dy.data + r * channels;
      const float* xr = x.data + r * channels;
      const float* yr = y.data + r * channels;
      float* out = dx.data + r * channels;
#pragma omp simd
      for (int64_t c = 0; c < channels; ++c) {
        const float gv = relu ? dyr[c] * reluMask(yr[c]) : dyr[c];
        out[c] = a1[c] * gv - (a2[c] + a3[c] * static_cast<float>(static_cast<double>(xr[c]) - mu[c]));
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void registerBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrain, "batchNormTrain"));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGrad, "batchNormTrainGrad"));
}

}  // namespace tracoco
