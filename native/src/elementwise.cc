// Each op reproduces the tfjs cpu kernel's definition (which evaluates in doubles and stores
// float32), including NaN handling; arithmetic rounds identically because float32 operands are
// exact in double and +,-,*,/ and sqrt round once either way.
#include "elementwise.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "args.h"
#include "parallel.h"
#include "strided_rows.h"

namespace tracoco {
namespace {

enum BinaryOp {
  kAdd = 0, kSub, kMul, kDiv, kMaximum, kMinimum, kSquaredDifference,
  kGreater = 16, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual,
};

struct Add { static float f(float a, float b) { return a + b; } };
struct Sub { static float f(float a, float b) { return a - b; } };
struct Mul { static float f(float a, float b) { return a * b; } };
struct Div { static float f(float a, float b) { return a / b; } };
// Math.max/min: NaN if either operand is NaN.
struct Maximum { static float f(float a, float b) { return (a > b || a != a) ? a : b; } };
struct Minimum { static float f(float a, float b) { return (a < b || a != a) ? a : b; } };
struct SquaredDifference {
  static float f(float a, float b) {
    const double d = static_cast<double>(a) - b;
    return static_cast<float>(d * d);
  }
};
struct Greater { static uint8_t f(float a, float b) { return a > b; } };
struct GreaterEqual { static uint8_t f(float a, float b) { return a >= b; } };
struct Less { static uint8_t f(float a, float b) { return a < b; } };
struct LessEqual { static uint8_t f(float a, float b) { return a <= b; } };
struct Equal { static uint8_t f(float a, float b) { return a == b; } };
struct NotEqual { static uint8_t f(float a, float b) { return a != b; } };

// The innermost loop, specialised on whether each operand advances (stride 1) or repeats (0),
// so each variant vectorises.
template <typename Op, typename Out>
inline void innerLoop(const float* a, int64_t sa, const float* b, int64_t sb, Out* out, int64_t n) {
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = Op::f(a[i], b[i]);
  } else if (sa == 1) {
    const float bv = b[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = Op::f(a[i], bv);
  } else if (sb == 1) {
    const float av = a[0];
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = Op::f(av, b[i]);
  } else {
    const Out v = Op::f(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  }
}

// Broadcast iteration: the output is rows of shape.back() elements (rows split into chunks when
// there are few, so threads still share the work); operand offsets follow the outer strides.
template <typename Op, typename Out>
void broadcastLoop(const std::vector<int64_t>& shape, const std::vector<int64_t>& as, const std::vector<int64_t>& bs,
                   const float* a, const float* b, Out* out) {
  const size_t rank = shape.size();
  const int64_t inner = shape[rank - 1];
  const int64_t sa = as[rank - 1], sb = bs[rank - 1];
  const std::vector<int64_t> outerShape(shape.begin(), shape.end() - 1);
  int64_t rows = 1;
  for (int64_t d : outerShape) rows *= d;
  if (rows == 1) {
    parallelRanges(inner, 1, [&](int64_t begin, int64_t end, int) {
      innerLoop<Op, Out>(a + begin * sa, sa, b + begin * sb, sb, out + begin, end - begin);
    });
    return;
  }
  parallelRanges(rows, inner, [&](int64_t begin, int64_t end, int) {
    StridedRows<2> walk(outerShape, {as.data(), bs.data()});
    walk.seek(begin);
    for (int64_t row = begin; row < end; ++row, walk.next()) {
      innerLoop<Op, Out>(a + walk.offset(0), sa, b + walk.offset(1), sb, out + row * inner, inner);
    }
  });
}

template <typename Op, typename Out>
void runBinary(const Napi::CallbackInfo& info, const std::vector<int64_t>& shape, const std::vector<int64_t>& as,
               const std::vector<int64_t>& bs, const Span<float>& a, const Span<float>& b) {
  const Span<Out> out = spanArg<Out>(info, 6, "out");
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  require(info, out.size == total, "binary: output size does not match the shape");
  if (total == 0) return;
  // Bounds: the furthest element each operand is read at must exist.
  int64_t aLast = 0, bLast = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    aLast += (shape[d] - 1) * as[d];
    bLast += (shape[d] - 1) * bs[d];
  }
  require(info, aLast < a.size && bLast < b.size, "binary: strides reach past an operand");
  broadcastLoop<Op, Out>(shape, as, bs, a.data, b.data, out.data);
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int64_t op = intArg(info, 0, "op");
  const std::vector<int64_t> shape = dimsArg(info, 1, "shape");
  const std::vector<int64_t> as = dimsArg(info, 2, "aStrides");
  const std::vector<int64_t> bs = dimsArg(info, 3, "bStrides");
  const Span<float> a = spanArg<float>(info, 4, "a");
  const Span<float> b = spanArg<float>(info, 5, "b");
  require(info, !shape.empty() && shape.size() <= kMaxRank && as.size() == shape.size() && bs.size() == shape.size(),
          "binary: shape and strides must have the same rank, 1..8");
  const int64_t sa = as.back(), sb = bs.back();
  require(info, (sa == 0 || sa == 1) && (sb == 0 || sb == 1), "binary: innermost strides must be 0 or 1");
  switch (op) {
    case kAdd: runBinary<Add, float>(info, shape, as, bs, a, b); break;
    case kSub: runBinary<Sub, float>(info, shape, as, bs, a, b); break;
    case kMul: runBinary<Mul, float>(info, shape, as, bs, a, b); break;
    case kDiv: runBinary<Div, float>(info, shape, as, bs, a, b); break;
    case kMaximum: runBinary<Maximum, float>(info, shape, as, bs, a, b); break;
    case kMinimum: runBinary<Minimum, float>(info, shape, as, bs, a, b); break;
    case kSquaredDifference: runBinary<SquaredDifference, float>(info, shape, as, bs, a, b); break;
    case kGreater: runBinary<Greater, uint8_t>(info, shape, as, bs, a, b); break;
    case kGreaterEqual: runBinary<GreaterEqual, uint8_t>(info, shape, as, bs, a, b); break;
    case kLess: runBinary<Less, uint8_t>(info, shape, as, bs, a, b); break;
    case kLessEqual: runBinary<LessEqual, uint8_t>(info, shape, as, bs, a, b); break;
    case kEqual: runBinary<Equal, uint8_t>(info, shape, as, bs, a, b); break;
    case kNotEqual: runBinary<NotEqual, uint8_t>(info, shape, as, bs, a, b); break;
    default: throw Napi::RangeError::New(info.Env(), "binary: unknown op");
  }
  return info.Env().Undefined();
}

enum UnaryOp {
  kRelu = 0, kRelu6, kExp, kLog, kLog1p, kNeg, kAbs, kSqrt, kRsqrt, kSquare, kReciprocal, kSigmoid,
  kTanh, kStep, kFloor, kCeil, kSign, kClip,
  kIsNaN = 32,
};

struct Params {
  float p0, p1;
};

// Math.max(0, x) and friends: NaN stays NaN.
struct Relu { static float f(float x, Params) { return x < 0.0f ? 0.0f : x; } };
struct Relu6 { static float f(float x, Params) { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); } };
struct Exp { static float f(float x, Params) { return std::exp(x); } };
struct Log { static float f(float x, Params) { return std::log(x); } };
struct Log1p { static float f(float x, Params) { return std::log1p(x); } };
struct Neg { static float f(float x, Params) { return -x; } };
struct Abs { static float f(float x, Params) { return std::fabs(x); } };
struct Sqrt { static float f(float x, Params) { return std::sqrt(x); } };
struct Rsqrt { static float f(float x, Params) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(x))); } };
struct Square { static float f(float x, Params) { return x * x; } };
struct Reciprocal { static float f(float x, Params) { return 1.0f / x; } };
struct Sigmoid { static float f(float x, Params) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x)))); } };
struct Tanh { static float f(float x, Params) { return std::tanh(x); } };
struct Step { static float f(float x, Params p) { return x != x ? x : (x > 0.0f ? 1.0f : p.p0); } };
struct Floor { static float f(float x, Params) { return std::floor(x); } };
struct Ceil { static float f(float x, Params) { return std::ceil(x); } };
struct Sign { static float f(float x, Params) { return x < 0.0f ? -1.0f : (x > 0.0f ? 1.0f : 0.0f); } };
struct Clip { static float f(float x, Params p) { return x > p.p1 ? p.p1 : (x < p.p0 ? p.p0 : x); } };
struct IsNaN { static uint8_t f(float x, Params) { return x != x; } };

template <typename Op, typename Out>
void runUnary(const Span<float>& x, Out* out, Params p) {
  parallelRanges(x.size, 1, [&](int64_t begin, int64_t end, int) {
    const float* in = x.data;
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) out[i] = Op::f(in[i], p);
  });
}

template <typename Op>
void unaryFloat(const Napi::CallbackInfo& info, const Span<float>& x, Params p) {
  const Span<float> out = spanArg<float>(info, 2, "out");
  require(info, out.size == x.size, "unary: output size differs from input size");
  runUnary<Op, float>(x, out.data, p);
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  const int64_t op = intArg(info, 0, "op");
  const Span<float> x = spanArg<float>(info, 1, "x");
  const Params p{static_cast<float>(numberArg(info, 3, "p0")), static_cast<float>(numberArg(info, 4, "p1"))};
  switch (op) {
    case kRelu: unaryFloat<Relu>(info, x, p); break;
    case kRelu6: unaryFloat<Relu6>(info, x, p); break;
    case kExp: unaryFloat<Exp>(info, x, p); break;
    case kLog: unaryFloat<Log>(info, x, p); break;
    case kLog1p: unaryFloat<Log1p>(info, x, p); break;
    case kNeg: unaryFloat<Neg>(info, x, p); break;
    case kAbs: unaryFloat<Abs>(info, x, p); break;
    case kSqrt: unaryFloat<Sqrt>(info, x, p); break;
    case kRsqrt: unaryFloat<Rsqrt>(info, x, p); break;
    case kSquare: unaryFloat<Square>(info, x, p); break;
    case kReciprocal: unaryFloat<Reciprocal>(info, x, p); break;
    case kSigmoid: unaryFloat<Sigmoid>(info, x, p); break;
    case kTanh: unaryFloat<Tanh>(info, x, p); break;
    case kStep: unaryFloat<Step>(info, x, p); break;
    case kFloor: unaryFloat<Floor>(info, x, p); break;
    case kCeil: unaryFloat<Ceil>(info, x, p); break;
    case kSign: unaryFloat<Sign>(info, x, p); break;
    case kClip: unaryFloat<Clip>(info, x, p); break;
    case kIsNaN: {
      const Span<uint8_t> out = spanArg<uint8_t>(info, 2, "out");
      require(info, out.size == x.size, "unary: output size differs from input size");
      runUnary<IsNaN, uint8_t>(x, out.data, p);
      break;
    }
    default: throw Napi::RangeError::New(info.Env(), "unary: unknown op");
  }
  return info.Env().Undefined();
}

// cast(kind, x, out): 0 bool->float32, 1 int32->float32, 2 float32->int32 (JavaScript ToInt32:
// truncate, NaN/Infinity -> 0, wrap modulo 2^32, as Int32Array.from does), 3 float32->bool (x != 0,
// NaN -> true).
inline int32_t toInt32(float v) {
  if (!std::isfinite(v)) return 0;
  const double t = std::trunc(static_cast<double>(v));
  if (t >= -2147483648.0 && t <= 2147483647.0) return static_cast<int32_t>(t);
  const double m = std::fmod(t, 4294967296.0);
  const double u = m < 0 ? m + 4294967296.0 : m;
  return static_cast<int32_t>(static_cast<uint32_t>(u));
}

template <typename In, typename Out, typename F>
void castLoop(const Napi::CallbackInfo& info, F convert) {
  const Span<In> x = spanArg<In>(info, 1, "x");
  const Span<Out> out = spanArg<Out>(info, 2, "out");
  require(info, out.size == x.size, "cast: output size differs from input size");
  parallelRanges(x.size, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) out.data[i] = convert(x.data[i]);
  });
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  switch (intArg(info, 0, "kind")) {
    case 0: castLoop<uint8_t, float>(info, [](uint8_t v) { return static_cast<float>(v); }); break;
    case 1: castLoop<int32_t, float>(info, [](int32_t v) { return static_cast<float>(v); }); break;
    case 2: castLoop<float, int32_t>(info, toInt32); break;
    case 3: castLoop<float, uint8_t>(info, [](float v) { return static_cast<uint8_t>(v != 0.0f); }); break;
    default: throw Napi::RangeError::New(info.Env(), "cast: unknown kind");
  }
  return info.Env().Undefined();
}

}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary, "binary"));
  exports.Set("unary", Napi::Function::New(env, Unary, "unary"));
  exports.Set("cast", Napi::Function::New(env, Cast, "cast"));
}

}  // namespace tracoco
