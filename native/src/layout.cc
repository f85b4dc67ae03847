#include "layout.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "args.h"
#include "parallel.h"
#include "strided_rows.h"

namespace tracoco {
namespace {

std::vector<int64_t> rowMajorStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  return strides;
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

// Copies rows of `inner` elements; the destination is written in row order, the source read at
// `srcStride` steps (1 = contiguous).
inline void copyRow(const float* src, int64_t srcStride, float* dst, int64_t inner) {
  if (srcStride == 1) {
    std::memcpy(dst, src, static_cast<size_t>(inner) * sizeof(float));
  } else {
    for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * srcStride];
  }
}

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const std::vector<int64_t> shape = dimsArg(info, 0, "shape");
  const std::vector<int64_t> perm = dimsArg(info, 1, "perm");
  const Span<float> x = spanArg<float>(info, 2, "x");
  const Span<float> out = spanArg<float>(info, 3, "out");
  const size_t rank = shape.size();
  require(info, rank >= 1 && rank <= kMaxRank && perm.size() == rank, "transpose: rank 1..8 with a matching perm");
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    require(info, p >= 0 && static_cast<size_t>(p) < rank && !seen[p], "transpose: perm must be a permutation");
    seen[p] = true;
  }
  const int64_t total = product(shape);
  require(info, x.size == total && out.size == total, "transpose: x and out must match the shape");
  if (total == 0) return info.Env().Undefined();
  const std::vector<int64_t> inStrides = rowMajorStrides(shape);
  std::vector<int64_t> outShape(rank), srcStrides(rank);
  for (size_t d = 0; d < rank; ++d) {
    outShape[d] = shape[perm[d]];
    srcStrides[d] = inStrides[perm[d]];
  }
  const int64_t inner = outShape[rank - 1];
  const int64_t innerStride = srcStrides[rank - 1];
  const std::vector<int64_t> outer(outShape.begin(), outShape.end() - 1);
  const int64_t rows = product(outer);
  parallelRanges(rows, inner, [&](int64_t begin, int64_t end, int) {
    StridedRows<1> walk(outer, {srcStrides.data()});
    walk.seek(begin);
    for (int64_t row = begin; row < end; ++row, walk.next()) {
      copyRow(x.data + walk.offset(0), innerStride, out.data + row * inner, inner);
    }
  });
  return info.Env().Undefined();
}

Napi::Value CopyBox(const Napi::CallbackInfo& info) {
  const std::vector<int64_t> srcShape = dimsArg(info, 0, "srcShape");
  const std::vector<int64_t> srcStart = dimsArg(info, 1, "srcStart");
  const std::vector<int64_t> dstShape = dimsArg(info, 2, "dstShape");
  const std::vector<int64_t> dstStart = dimsArg(info, 3, "dstStart");
  const std::vector<int64_t> size = dimsArg(info, 4, "size");
  const Span<float> src = spanArg<float>(info, 5, "src");
  const Span<float> dst = spanArg<float>(info, 6, "dst");
  const size_t rank = size.size();
  require(info, rank >= 1 && rank <= kMaxRank && srcShape.size() == rank && dstShape.size() == rank && srcStart.size() == rank && dstStart.size() == rank,
          "copyBox: all shapes and starts must have the same rank, 1..8");
  for (size_t d = 0; d < rank; ++d) {
    require(info, size[d] >= 0 && srcStart[d] >= 0 && dstStart[d] >= 0 && srcStart[d] + size[d] <= srcShape[d] && dstStart[d] + size[d] <= dstShape[d],
            "copyBox: the box must fit inside both tensors");
  }
  require(info, src.size == product(srcShape) && dst.size == product(dstShape), "copyBox: src and dst must match their shapes");
  const int64_t total = product(size);
  if (total == 0) return info.Env().Undefined();
  const std::vector<int64_t> ss = rowMajorStrides(srcShape), ds = rowMajorStrides(dstShape);
  int64_t srcBase = 0, dstBase = 0;
  for (size_t d = 0; d < rank; ++d) {
    srcBase += srcStart[d] * ss[d];
    dstBase += dstStart[d] * ds[d];
  }
  const int64_t inner = size[rank - 1];
  const std::vector<int64_t> outer(size.begin(), size.end() - 1);
  const int64_t rows = product(outer);
  parallelRanges(rows, inner, [&](int64_t begin, int64_t end, int) {
    StridedRows<2> walk(outer, {ss.data(), ds.data()});
    walk.seek(begin);
    for (int64_t row = begin; row < end; ++row, walk.next()) {
      copyRow(src.data + srcBase + walk.offset(0), 1, dst.data + dstBase + walk.offset(1), inner);
    }
  });
  return info.Env().Undefined();
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  const Span<float> out = spanArg<float>(info, 0, "out");
  const float value = static_cast<float>(numberArg(info, 1, "value"));
  parallelRanges(out.size, 1, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) out.data[i] = value;
  });
  return info.Env().Undefined();
}

}  // namespace

void registerLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose, "transpose"));
  exports.Set("copyBox", Napi::Function::New(env, CopyBox, "copyBox"));
  exports.Set("fill", Napi::Function::New(env, Fill, "fill"));
}

}  // namespace tracoco
