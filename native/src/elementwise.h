// Elementwise float32 kernels: binary ops with broadcasting, unary ops.
#pragma once
#include <napi.h>

namespace tracoco {

// binary(op, shape, aStrides, bStrides, a, b, out): out[i] = op(a[.], b[.]) over `shape` (collapsed
// broadcast dims, innermost strides 0 or 1); arithmetic ops write a Float32Array, comparisons a
// Uint8Array (tfjs bool).
// unary(op, x, out, p0, p1): out[i] = op(x[i]) with op parameters p0, p1 (Step alpha, clip bounds).
// cast(kind, x, out): dtype conversions between float32, int32 and bool (see elementwise.cc).
void registerElementwise(Napi::Env env, Napi::Object exports);

}  // namespace tracoco
