// Thread-parallel loops over index ranges (OpenMP). The JS side calls every kernel from its main
// thread, so one OpenMP team serves all kernels; tiny ranges run inline to avoid fork/join cost.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace tracoco {

// Elements below which a loop body is not worth a fork/join (~ a few microseconds).
constexpr int64_t kMinParallelWork = 1 << 15;

// Number of threads worth using for `work` units when each thread should get >= `minPerThread`.
inline int threadsFor(int64_t work, int64_t minPerThread = kMinParallelWork) {
  const int64_t wanted = std::max<int64_t>(1, work / std::max<int64_t>(1, minPerThread));
  return static_cast<int>(std::min<int64_t>(omp_get_max_threads(), wanted));
}

// Calls body(begin, end, thread) on contiguous slices of [0, n), one per thread. `cost` is the
// work per index (elements touched), used to decide whether threads pay off. Slice starts are
// multiples of 16 (for long ranges) so vector loops start aligned with each other.
template <typename Body>
void parallelRanges(int64_t n, int64_t cost, Body&& body) {
  const int threads = threadsFor(n * std::max<int64_t>(1, cost));
  if (threads <= 1 || n < 2) {
    body(int64_t{0}, n, 0);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int count = omp_get_num_threads();
    // Align slice starts to 16 indices only when slices are long enough for it not to matter.
    const int64_t mask = n >= int64_t{64} * count ? ~int64_t{15} : ~int64_t{0};
    auto edge = [&](int i) -> int64_t {
      if (i >= count) return n;
      return std::min((n * i / count) & mask, n);
    };
    const int64_t begin = edge(t);
    const int64_t end = edge(t + 1);
    if (begin < end) body(begin, end, t);
  }
}

// How many slices parallelRanges would use for n indices of the given cost (to size per-thread
// partial results before the call).
inline int rangesFor(int64_t n, int64_t cost) {
  const int threads = threadsFor(n * std::max<int64_t>(1, cost));
  return (threads <= 1 || n < 2) ? 1 : threads;
}

}  // namespace tracoco
