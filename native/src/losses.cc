#include "losses.h"

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "args.h"
#include "parallel.h"

namespace tracoco {
namespace {

constexpr double kDiceSmooth = 1e-5;  // DICE_SMOOTH in supervised.ts

// Softmax of one voxel's C logits into p; returns log p[target] (0 without a target). Two classes
// (the binary loss) take one exp and one log1p: p1 = sigmoid(z1 - z0).
inline float softmaxVoxel(const float* z, int64_t c, int32_t target, float* p) {
  if (c == 2) {
    const float d = z[1] - z[0];
    const float e = std::exp(-std::fabs(d));  // in (0, 1]: no overflow
    const float s = 1.0f / (1.0f + e);
    p[1] = d >= 0.0f ? s : e * s;
    p[0] = d >= 0.0f ? e * s : s;
    const float log1pE = std::log1p(e);
    if (target == 1) return -(std::fmax(-d, 0.0f) + log1pE);
    if (target == 0) return -(std::fmax(d, 0.0f) + log1pE);
    return 0.0f;
  }
  float m = z[0];
  for (int64_t k = 1; k < c; ++k) m = z[k] > m ? z[k] : m;
  float sum = 0.0f;
  for (int64_t k = 0; k < c; ++k) sum += (p[k] = std::exp(z[k] - m));
  const float logSum = std::log(sum);
  for (int64_t k = 0; k < c; ++k) p[k] /= sum;
  return (target >= 0 && target < c) ? z[target] - m - logSum : 0.0f;
}

// Σ -log p[t], Σ p1·g, Σ p1², Σ g over all voxels (g = label is 1), in double.
struct Sums {
  double ce = 0, intersection = 0, prediction = 0, target = 0;
};

Sums lossSums(int64_t voxels, int64_t c, const float* logits, const int32_t* labels) {
  const int parts = rangesFor(voxels, c * 4);
  std::vector<Sums> partial(static_cast<size_t>(parts));
  parallelRanges(voxels, c * 4, [&](int64_t begin, int64_t end, int t) {
    Sums s;
    std::vector<float> p(static_cast<size_t>(c));
    for (int64_t v = begin; v < end; ++v) {
      s.ce -= softmaxVoxel(logits + v * c, c, labels[v], p.data());
      const double p1 = p[1];
      const double g = labels[v] == 1 ? 1.0 : 0.0;
      s.intersection += p1 * g;
      s.prediction += p1 * p1;
      s.target += g;
    }
    partial[static_cast<size_t>(t)] = s;
  });
  Sums total;
  for (const Sums& s : partial) {
    total.ce += s.ce;
    total.intersection += s.intersection;
    total.prediction += s.prediction;
    total.target += s.target;
  }
  return total;
}

// Arguments 0-3 of both entry points: voxels, C, logits [voxels, C], labels [voxels].
struct LossInputs {
  int64_t voxels;
  int64_t c;
  Span<float> logits;
  Span<int32_t> labels;
};

LossInputs lossInputs(const Napi::CallbackInfo& info) {
  const LossInputs in{intArg(info, 0, "voxels"), intArg(info, 1, "C"), spanArg<float>(info, 2, "logits"), spanArg<int32_t>(info, 3, "labels")};
  require(info, in.voxels >= 1 && in.c >= 2, "supervisedLoss: needs at least one voxel and two classes");
  require(info, in.logits.size == in.voxels * in.c, "supervisedLoss: logits must have voxels * C elements");
  require(info, in.labels.size == in.voxels, "supervisedLoss: labels must have one element per voxel");
  return in;
}

Napi::Value SupervisedLoss(const Napi::CallbackInfo& info) {
  const LossInputs in = lossInputs(info);
  const Span<float> out = spanArg<float>(info, 4, "out");
  require(info, out.size == 3, "supervisedLoss: out must have 3 elements");
  const Sums s = lossSums(in.voxels, in.c, in.logits.data, in.labels.data);
  const double ce = s.ce / static_cast<double>(in.voxels);
  const double dice = 1.0 - (2.0 * s.intersection + kDiceSmooth) / (s.prediction + s.target + kDiceSmooth);
  out.data[0] = static_cast<float>(0.5 * (ce + dice));
  out.data[1] = static_cast<float>(ce);
  out.data[2] = static_cast<float>(dice);
  return info.Env().Undefined();
}

// d/dz of dy·[loss, ce, dice] = (dy0/2 + dy1)·dCE + (dy0/2 + dy2)·dDice, with
//   dCE/dz[k]   = (p[k] - [k == t]) / voxels
//   dDice/dz[k] = dDice/dp1 · p1 ([k == 1] - p[k]),  dDice/dp1 = -(2g·den - num·2p1) / den²
Napi::Value SupervisedLossGrad(const Napi::CallbackInfo& info) {
  const LossInputs in = lossInputs(info);
  const int64_t voxels = in.voxels, c = in.c;
  const Span<float> logits = in.logits;
  const Span<int32_t> labels = in.labels;
  const Span<float> dy = spanArg<float>(info, 4, "dy");
  const Span<float> dlogits = spanArg<float>(info, 5, "dlogits");
  require(info, dy.size == 3, "supervisedLossGrad: dy must have 3 elements");
  require(info, dlogits.size == logits.size, "supervisedLossGrad: dlogits must be shaped like logits");
  const Sums s = lossSums(voxels, c, logits.data, labels.data);
  const double den = s.prediction + s.target + kDiceSmooth;
  const double num = 2.0 * s.intersection + kDiceSmooth;
  const double ceScale = (0.5 * dy.data[0] + dy.data[1]) / static_cast<double>(voxels);
  const double diceScale = 0.5 * dy.data[0] + dy.data[2];
  parallelRanges(voxels, c * 4, [&](int64_t begin, int64_t end, int) {
    std::vector<float> p(static_cast<size_t>(c));
    for (int64_t v = begin; v < end; ++v) {
      const int32_t t = labels.data[v];
      softmaxVoxel(logits.data + v * c, c, t, p.data());
      const double p1 = p[1];
      const double g = t == 1 ? 1.0 : 0.0;
      const double dDiceDp1 = -(2.0 * g * den - num * 2.0 * p1) / (den * den);
      const bool hasTarget = t >= 0 && t < c;
      float* d = dlogits.data + v * c;
      for (int64_t k = 0; k < c; ++k) {
        const double dce = hasTarget ? p[k] - (k == t ? 1.0 : 0.0) : 0.0;
        const double ddice = dDiceDp1 * p1 * ((k == 1 ? 1.0 : 0.0) - p[k]);
        d[k] = static_cast<float>(ceScale * dce + diceScale * ddice);
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void registerLosses(Napi::Env env, Napi::Object exports) {
  exports.Set("supervisedLoss", Napi::Function::New(env, SupervisedLoss, "supervisedLoss"));
  exports.Set("supervisedLossGrad", Napi::Function::New(env, SupervisedLossGrad, "supervisedLossGrad"));
}

}  // namespace tracoco
