// Walks the rows of an N-d index space (all dims but the innermost) and keeps, for K operands,
// the element offset of each row's first element. Threads seek to their first row once and then
// step, instead of decomposing every row index.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace tracoco {

constexpr int kMaxRank = 8;

template <int K>
class StridedRows {
 public:
  // shape: the outer dims (innermost excluded); strides[k][d]: operand k's stride along dim d.
  StridedRows(const std::vector<int64_t>& shape, const std::array<const int64_t*, K>& strides)
      : rank_(static_cast<int>(shape.size())), shape_(shape.data()), strides_(strides) {}

  void seek(int64_t row) {
    offsets_.fill(0);
    for (int d = rank_ - 1; d >= 0; --d) {
      index_[d] = row % shape_[d];
      row /= shape_[d];
      for (int k = 0; k < K; ++k) offsets_[k] += index_[d] * strides_[k][d];
    }
  }

  void next() {
    for (int d = rank_ - 1; d >= 0; --d) {
      for (int k = 0; k < K; ++k) offsets_[k] += strides_[k][d];
      if (++index_[d] < shape_[d]) return;
      for (int k = 0; k < K; ++k) offsets_[k] -= strides_[k][d] * shape_[d];
      index_[d] = 0;
    }
  }

  int64_t offset(int k) const { return offsets_[k]; }

 private:
  int rank_;
  const int64_t* shape_;
  std::array<const int64_t*, K> strides_;
  std::array<int64_t, kMaxRank> index_{};
  std::array<int64_t, K> offsets_{};
};

}  // namespace tracoco
