// Data movement: transpose, box copies (slice, pad, concat), fill.
#pragma once
#include <napi.h>

namespace tracoco {

// transpose(shape, perm, x, out): out = x permuted (out dim i = x dim perm[i]).
// copyBox(srcShape, srcStart, dstShape, dstStart, size, src, dst): copies the box of `size`
//   starting at srcStart in src to dstStart in dst (all row-major, same rank).
// fill(out, value).
void registerLayout(Napi::Env env, Napi::Object exports);

}  // namespace tracoco
