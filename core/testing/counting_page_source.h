// SPDX-License-Identifier: Apache-2.0
// CountingPageSource wraps another PageSource for tests: it counts every call
// and the bytes outstanding, and fails chosen calls on demand.
// A test helper, so never installed (see zone_testing.h).
//
//   CountingPageSource pages;
//   pages.FailNext(PageCall::kMap);   // the next Map() returns nullptr
//   pages.FailNext(PageCall::kUnmap); // the next Unmap() refuses, as at vm.max_map_count
//   pages.FailNext(PageCall::kPrefault);  // declines, EINVAL, as Linux before 5.14
//   ... create zones with ZoneOptions{.page_source = &pages} ...
//   EXPECT_EQ(pages.outstanding_mappings(), 0);

#ifndef ZONEALLOC_CORE_TESTING_COUNTING_PAGE_SOURCE_H_
#define ZONEALLOC_CORE_TESTING_COUNTING_PAGE_SOURCE_H_

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <functional>
#include <utility>

#include <zonealloc/page_source.h>

namespace zonealloc::internal {

enum class PageCall { kReserve, kCommit, kMap, kUnmap, kPrefault };

class CountingPageSource final : public PageSource {
 public:
  explicit CountingPageSource(PageSource& inner = DefaultPageSource()) : inner_(inner) {}

  // Makes the next `count` calls of `call` fail. A failed Unmap() leaves the
  // range mapped and outstanding and sets errno to ENOMEM, as Linux does at
  // vm.max_map_count.
  // Either replaces what FailNext() or FailAfter() set before.
  void FailNext(PageCall call, int count = 1) {
    Slot(call).pass_first.store(0);
    Slot(call).fail_next.store(count);
  }
  // Runs `hook(addr, bytes)` at the start of every Prefault() call, on the
  // calling thread (nullptr: nothing). Set it while no call can run.
  void OnPrefault(std::function<void(void* addr, size_t bytes)> hook) {
    on_prefault_ = std::move(hook);
  }
  // The errno a failed Prefault() sets from now on: EINVAL ("cannot", as
  // Linux before 5.14) unless changed, or e.g. ENOMEM ("not now"); a
  // negative value leaves errno as it was, as a source that breaks the
  // contract does.
  void SetPrefaultError(int error) { prefault_error_.store(error); }
  // Lets the next `successes` calls of `call` through, then fails one: for
  // an operation that makes several such calls, the one that fails.
  void FailAfter(PageCall call, int successes) {
    Slot(call).pass_first.store(successes);
    Slot(call).fail_next.store(1);
  }

  int calls(PageCall call) const { return Slot(call).calls.load(); }
  // Reserve() + Map() successes minus Unmap() successes.
  int outstanding_mappings() const { return outstanding_.load(); }

  void* Reserve(size_t bytes, std::string_view tag) override {
    if (ShouldFail(PageCall::kReserve)) return nullptr;
    void* p = inner_.Reserve(bytes, tag);
    if (p != nullptr) outstanding_.fetch_add(1);
    return p;
  }
  // A failed Commit() sets errno to ENOMEM, as mprotect() past the commit
  // limit does.
  bool Commit(void* addr, size_t bytes) override {
    if (ShouldFail(PageCall::kCommit)) {
      errno = ENOMEM;
      return false;
    }
    return inner_.Commit(addr, bytes);
  }
  bool Prefault(void* addr, size_t bytes) override {
    if (on_prefault_) on_prefault_(addr, bytes);
    if (ShouldFail(PageCall::kPrefault)) {
      if (const int error = prefault_error_.load(); error >= 0) errno = error;
      return false;
    }
    last_prefault_addr_.store(addr);
    last_prefault_bytes_.store(bytes);
    return inner_.Prefault(addr, bytes);
  }
  // The range of the last Prefault() call that was not failed on demand.
  void* last_prefault_addr() const { return last_prefault_addr_.load(); }
  size_t last_prefault_bytes() const { return last_prefault_bytes_.load(); }

  void* Map(size_t bytes, size_t alignment, std::string_view tag) override {
    if (ShouldFail(PageCall::kMap)) return nullptr;
    void* p = inner_.Map(bytes, alignment, tag);
    if (p != nullptr) outstanding_.fetch_add(1);
    return p;
  }
  bool Unmap(void* addr, size_t bytes) override {
    if (ShouldFail(PageCall::kUnmap)) {
      errno = ENOMEM;
      return false;
    }
    if (!inner_.Unmap(addr, bytes)) return false;
    outstanding_.fetch_sub(1);
    return true;
  }

 private:
  struct CallSlot {
    std::atomic<int> calls{0};
    std::atomic<int> fail_next{0};
    std::atomic<int> pass_first{0};
  };
  CallSlot& Slot(PageCall call) { return slots_[static_cast<int>(call)]; }
  const CallSlot& Slot(PageCall call) const { return slots_[static_cast<int>(call)]; }

  bool ShouldFail(PageCall call) {
    CallSlot& slot = Slot(call);
    slot.calls.fetch_add(1);
    if (TakeOne(slot.pass_first)) return false;
    return TakeOne(slot.fail_next);
  }

  // Decrements `count` if it is positive; whether it was.
  static bool TakeOne(std::atomic<int>& count) {
    int left = count.load();
    while (left > 0 && !count.compare_exchange_weak(left, left - 1)) {
    }
    return left > 0;
  }

  PageSource& inner_;
  std::array<CallSlot, 5> slots_;
  std::atomic<int> outstanding_{0};
  std::atomic<void*> last_prefault_addr_{nullptr};
  std::atomic<size_t> last_prefault_bytes_{0};
  std::atomic<int> prefault_error_{EINVAL};
  std::function<void(void*, size_t)> on_prefault_;
};

}  // namespace zonealloc::internal

#endif  // ZONEALLOC_CORE_TESTING_COUNTING_PAGE_SOURCE_H_
