// Reductions over the middle axis of a [outer, size, inner] view, and softmax over rows.
#pragma once
#include <napi.h>

namespace tracoco {

// reduce(op, outer, size, inner, x, out): op 0 sum, 1 mean, 2 max, 3 min (Float32Array out),
// 4 argmax, 5 argmin (Int32Array out); out has outer * inner elements.
// softmax(rows, cols, x, out): softmax of each contiguous row.
void registerReduce(Napi::Env env, Napi::Object exports);

}  // namespace tracoco
