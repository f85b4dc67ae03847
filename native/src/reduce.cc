// Semantics follow the tfjs cpu kernels: sums accumulate in double; max/min propagate NaN;
// argmax/argmin return the first extreme index, and a NaN first element wins (later NaNs are
// ignored) because tfjs compares with a strict `>` starting from the first element.
#include "reduce.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "args.h"
#include "parallel.h"

namespace tracoco {
namespace {

enum ReduceOp { kSum = 0, kMean, kMax, kMin, kArgMax, kArgMin };

struct SumReducer {
  using Acc = double;
  using Out = float;
  static Acc init() { return 0.0; }
  static void add(Acc& acc, float v, int64_t) { acc += v; }
  static void merge(Acc& acc, const Acc& later) { acc += later; }
  static Out finish(const Acc& acc, int64_t) { return static_cast<float>(acc); }
};

struct MeanReducer : SumReducer {
  static Out finish(const Acc& acc, int64_t size) { return static_cast<float>(acc / static_cast<double>(size)); }
};

struct MaxReducer {
  using Acc = float;
  using Out = float;
  static Acc init() { return -std::numeric_limits<float>::infinity(); }
  static void add(Acc& acc, float v, int64_t) {
    if (v > acc || v != v) acc = (acc != acc) ? acc : v;
  }
  static void merge(Acc& acc, const Acc& later) { add(acc, later, 0); }
  static Out finish(const Acc& acc, int64_t) { return acc; }
};

struct MinReducer {
  using Acc = float;
  using Out = float;
  static Acc init() { return std::numeric_limits<float>::infinity(); }
  static void add(Acc& acc, float v, int64_t) {
    if (v < acc || v != v) acc = (acc != acc) ? acc : v;
  }
  static void merge(Acc& acc, const Acc& later) { add(acc, later, 0); }
  static Out finish(const Acc& acc, int64_t) { return acc; }
};

// Index of the first extreme element; `index == -1` means no element seen yet. The first element
// of a reduction is taken unconditionally (even NaN), as tfjs does.
template <bool Max>
struct ArgReducer {
  struct Acc {
    float value;
    int64_t index;
  };
  using Out = int32_t;
  static Acc init() { return Acc{0.0f, -1}; }
  static bool better(float v, float current) { return Max ? v > current : v < current; }
  static void add(Acc& acc, float v, int64_t index) {
    if (acc.index < 0) {
      // A chunk that starts mid-row must not let a NaN start block later values.
      if (index == 0 || v == v) acc = Acc{v, index};
    } else if (better(v, acc.value)) {
      acc = Acc{v, index};
    }
  }
  static void merge(Acc& acc, const Acc& later) {
    if (later.index < 0) return;
    if (acc.index < 0 || better(later.value, acc.value)) acc = later;
  }
  static Out finish(const Acc& acc, int64_t) { return static_cast<int32_t>(acc.index < 0 ? 0 : acc.index); }
};

// out[o*inner + i] = reduce over r of x[(o*size + r)*inner + i].
template <typename R>
void reduceMiddle(const float* x, int64_t outer, int64_t size, int64_t inner, typename R::Out* out) {
  using Acc = typename R::Acc;
  // Enough independent outputs: each thread owns whole outer slices.
  if (outer >= 4 * omp_get_max_threads() || size * inner < kMinParallelWork || size == 1) {
    parallelRanges(outer, size * inner, [&](int64_t ob, int64_t oe, int) {
      std::vector<Acc> acc(inner);
      for (int64_t o = ob; o < oe; ++o) {
        for (int64_t i = 0; i < inner; ++i) acc[i] = R::init();
        const float* base = x + o * size * inner;
        for (int64_t r = 0; r < size; ++r) {
          const float* row = base + r * inner;
          for (int64_t i = 0; i < inner; ++i) R::add(acc[i], row[i], r);
        }
        for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = R::finish(acc[i], size);
      }
    });
    return;
  }
  // Few long reductions: threads split the reduced axis, then partials merge in order.
  for (int64_t o = 0; o < outer; ++o) {
    const float* base = x + o * size * inner;
    const int slices = rangesFor(size, inner);
    std::vector<Acc> partial(static_cast<size_t>(slices) * inner, R::init());
    parallelRanges(size, inner, [&](int64_t rb, int64_t re, int t) {
      Acc* acc = partial.data() + static_cast<size_t>(t) * inner;
      for (int64_t r = rb; r < re; ++r) {
        const float* row = base + r * inner;
        for (int64_t i = 0; i < inner; ++i) R::add(acc[i], row[i], r);
      }
    });
    for (int64_t i = 0; i < inner; ++i) {
      Acc acc = partial[i];
      for (int t = 1; t < slices; ++t) R::merge(acc, partial[static_cast<size_t>(t) * inner + i]);
      out[o * inner + i] = R::finish(acc, size);
    }
  }
}

// Specialisation of the common contiguous sum (inner == 1) so the double accumulation vectorises.
void sumRows(const float* x, int64_t rows, int64_t size, float* out, bool mean) {
  parallelRanges(rows, size, [&](int64_t b, int64_t e, int) {
    for (int64_t o = b; o < e; ++o) {
      const float* row = x + o * size;
      double acc = 0.0;
#pragma omp simd reduction(+ : acc)
      for (int64_t r = 0; r < size; ++r) acc += row[r];
      out[o] = static_cast<float>(mean ? acc / static_cast<double>(size) : acc);
    }
  });
}

template <typename R>
void runReduce(const Napi::CallbackInfo& info, int64_t outer, int64_t size, int64_t inner, const Span<float>& x) {
  const Span<typename R::Out> out = spanArg<typename R::Out>(info, 5, "out");
  require(info, out.size == outer * inner, "reduce: output size must be outer * inner");
  reduceMiddle<R>(x.data, outer, size, inner, out.data);
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  const int64_t op = intArg(info, 0, "op");
  const int64_t outer = intArg(info, 1, "outer");
  const int64_t size = intArg(info, 2, "size");
  const int64_t inner = intArg(info, 3, "inner");
  const Span<float> x = spanArg<float>(info, 4, "x");
  require(info, outer >= 0 && size >= 1 && inner >= 0 && x.size == outer * size * inner, "reduce: x must have outer * size * inner elements, size >= 1");
  if ((op == kSum || op == kMean) && inner == 1 && outer >= omp_get_max_threads()) {
    const Span<float> out = spanArg<float>(info, 5, "out");
    require(info, out.size == outer, "reduce: output size must be outer * inner");
    sumRows(x.data, outer, size, out.data, op == kMean);
    return info.Env().Undefined();
  }
  switch (op) {
    case kSum: runReduce<SumReducer>(info, outer, size, inner, x); break;
    case kMean: runReduce<MeanReducer>(info, outer, size, inner, x); break;
    case kMax: runReduce<MaxReducer>(info, outer, size, inner, x); break;
    case kMin: runReduce<MinReducer>(info, outer, size, inner, x); break;
    case kArgMax: runReduce<ArgReducer<true>>(info, outer, size, inner, x); break;
    case kArgMin: runReduce<ArgReducer<false>>(info, outer, size, inner, x); break;
    default: throw Napi::RangeError::New(info.Env(), "reduce: unknown op");
  }
  return info.Env().Undefined();
}

// As tfjs: subtract the row max, exponentiate, divide by the (double) sum.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const int64_t rows = intArg(info, 0, "rows");
  const int64_t cols = intArg(info, 1, "cols");
  const Span<float> x = spanArg<float>(info, 2, "x");
  const Span<float> out = spanArg<float>(info, 3, "out");
  require(info, rows >= 0 && cols >= 1 && x.size == rows * cols && out.size == x.size, "softmax: x and out must have rows * cols elements");
  parallelRanges(rows, cols * 4, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      const float* in = x.data + r * cols;
      float* o = out.data + r * cols;
      float m = in[0];
      for (int64_t c = 0; c < cols; ++c) MaxReducer::add(m, in[c], c);
      double sum = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        o[c] = std::exp(in[c] - m);
        sum += o[c];
      }
      const float s = static_cast<float>(sum);
      for (int64_t c = 0; c < cols; ++c) o[c] = o[c] / s;
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void registerReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, Reduce, "reduce"));
  exports.Set("softmax", Napi::Function::New(env, Softmax, "softmax"));
}

}  // namespace tracoco
