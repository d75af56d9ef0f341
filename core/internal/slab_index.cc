// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/slab_index.h>

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <zonealloc/internal/checks.h>
#include <zonealloc/internal/stderr_report.h>

namespace zonealloc::internal {

SlabIndex::~SlabIndex() {
  const void* array = ranges_;
  if (!Unmap()) {
    ReportToStderr("zonealloc: cannot unmap an overflow slab index at %p: %s\n", array,
                   std::strerror(errno));
  }
}

bool SlabIndex::Unmap() {
  if (ranges_ == nullptr) return true;
  if (munmap(ranges_, max_ranges_ * sizeof(Range)) != 0) return false;
  ranges_ = nullptr;
  return true;
}

bool SlabIndex::Reserve() {
  if (size_ == max_ranges_) {
    errno = ENOMEM;
    return false;
  }
  if (ranges_ != nullptr) return true;
  void* memory = mmap(nullptr, max_ranges_ * sizeof(Range), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) return false;
  ranges_ = static_cast<Range*>(memory);
  return true;
}

SlabIndex::Range* SlabIndex::UpperBound(uintptr_t address) const {
  return std::upper_bound(ranges_, ranges_ + size_, address,
                          [](uintptr_t a, const Range& range) { return a < range.begin; });
}

void SlabIndex::Insert(Range range) {
  if (ranges_ == nullptr || size_ == max_ranges_) Crash("SlabIndex::Insert() without Reserve()");
  Range* at = UpperBound(range.begin);
  std::copy_backward(at, ranges_ + size_, ranges_ + size_ + 1);
  *at = range;
  ++size_;
}

void SlabIndex::Erase(uintptr_t begin) {
  Range* after = size_ == 0 ? nullptr : UpperBound(begin);
  if (after == nullptr || after == ranges_ || after[-1].begin != begin) {
    Crash("SlabIndex::Erase() of a range it does not hold");
  }
  std::copy(after, ranges_ + size_, after - 1);
  --size_;
  ReleaseIfEmpty();
}

void SlabIndex::ReleaseIfEmpty() {
  if (size_ > 0) return;
  const int saved_errno = errno;
  Unmap();  // a refusal keeps the array, as documented
  errno = saved_errno;
}

const SlabIndex::Range* SlabIndex::Find(uintptr_t address) const {
  if (size_ == 0) return nullptr;
  const Range* after = UpperBound(address);
  if (after == ranges_) return nullptr;
  const Range* range = after - 1;  // the last one beginning at or below address
  return address - range->begin < range->bytes ? range : nullptr;
}

}  // namespace zonealloc::internal
