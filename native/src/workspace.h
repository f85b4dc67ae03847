// Grow-only scratch buffers reused across kernel calls (kernels run one at a time on the JS main
// thread), so reorders and oneDNN scratchpads do not page-fault fresh memory on every call.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace tracoco {

class Workspace {
 public:
  static constexpr int kSlots = 4;

  // A 64-byte aligned buffer of at least `bytes` for `slot`; contents are unspecified.
  void* get(int slot, size_t bytes) {
    Buffer& b = slots_[slot];
    if (bytes > b.size) {
      const size_t rounded = ((bytes + 4095) / 4096) * 4096;
      void* p = std::aligned_alloc(64, rounded);
      if (p == nullptr) throw std::bad_alloc();
      b.data.reset(p);
      b.size = rounded;
    }
    return b.data.get();
  }

  void release() {
    for (Buffer& b : slots_) {
      b.data.reset();
      b.size = 0;
    }
  }

 private:
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  struct Buffer {
    std::unique_ptr<void, FreeDeleter> data;
    size_t size = 0;
  };
  Buffer slots_[kSlots];
};

Workspace& workspace();

}  // namespace tracoco
