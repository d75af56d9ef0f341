// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/page_source.h>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <zonealloc/internal/stderr_report.h>

namespace zonealloc {
namespace {

// Faults pages in as if written (Linux 5.14); older headers lack the name.
#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;
#endif

// Names [addr, addr + bytes) in /proc/<pid>/maps. Best effort: kernels
// without CONFIG_ANON_VMA_NAME refuse (EINVAL), and the mapping stays
// unnamed; the mapping succeeded, so errno stays as it was. The name is
// built on the stack: a zone maps overflow slabs under its slow-path lock,
// where the heap is not to be called (see core/zone_no_heap_test.cc).
void NameMapping(void* addr, size_t bytes, std::string_view tag) {
#if defined(PR_SET_VMA) && defined(PR_SET_VMA_ANON_NAME)
  char name[80];  // the kernel's limit, with its terminating NUL
  const size_t length = std::min(tag.size(), sizeof(name) - 1);
  for (size_t i = 0; i < length; ++i) {
    const char c = tag[i];
    // The kernel accepts printable characters other than these.
    const bool refused =
        c <= ' ' || c > '~' || c == '[' || c == ']' || c == '\\' || c == '$' || c == '`';
    name[i] = refused ? '_' : c;
  }
  name[length] = '\0';
  const int saved_errno = errno;
  prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, reinterpret_cast<unsigned long>(addr), bytes,
        reinterpret_cast<unsigned long>(name));
  errno = saved_errno;
#else
  (void)addr, (void)bytes, (void)tag;
#endif
}

// Reservations are PROT_NONE and MAP_NORESERVE: they cost address space
// only, and no commit charge until Commit() makes pages writable.
class MmapPageSource final : public PageSource {
 public:
  void* Reserve(size_t bytes, std::string_view tag) override {
    void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    NameMapping(p, bytes, tag);
    return p;
  }

  bool Commit(void* addr, size_t bytes) override {
    return mprotect(addr, bytes, PROT_READ | PROT_WRITE) == 0;
  }

  bool Prefault(void* addr, size_t bytes) override {
    return madvise(addr, bytes, kPopulateWrite) == 0;
  }

  // Page alignment is one mmap. A larger alignment over-maps by `alignment`
  // and trims both ends, the head first. A trim splits the mapping, so the
  // system may refuse it (see Unmap); then what is left of the raw mapping
  // goes back (only that: once the head is trimmed, another thread may map
  // its addresses), which needs no split unless the kernel merged it with
  // neighbours on both sides, and Map fails with the refusal's errno.
  void* Map(size_t bytes, size_t alignment, std::string_view tag) override {
    if (alignment <= PageSize()) return MapExactly(bytes, tag);
    const size_t padded = bytes + alignment;
    void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const auto start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + alignment - 1) & ~(alignment - 1);
    const uintptr_t tail = aligned + bytes;
    const uintptr_t end = start + padded;
    if (aligned > start && munmap(raw, aligned - start) != 0) {
      return GiveBackUntrimmed(start, end, tag);
    }
    if (end > tail && munmap(reinterpret_cast<void*>(tail), end - tail) != 0) {
      return GiveBackUntrimmed(aligned, end, tag);
    }
    NameMapping(reinterpret_cast<void*>(aligned), bytes, tag);
    return reinterpret_cast<void*>(aligned);
  }

  bool Unmap(void* addr, size_t bytes) override { return munmap(addr, bytes) == 0; }

 private:
  // Unmaps [begin, end), what is left of a mapping whose trim the system
  // refused, and returns nullptr with errno still the refusal's.
  static void* GiveBackUntrimmed(uintptr_t begin, uintptr_t end, std::string_view tag) {
    const int refusal = errno;
    if (munmap(reinterpret_cast<void*>(begin), end - begin) != 0) {
      internal::ReportToStderr("zonealloc: Map('%.*s') cannot unmap %zu bytes at %p: %s\n",
                               static_cast<int>(tag.size()), tag.data(),
                               static_cast<size_t>(end - begin), reinterpret_cast<void*>(begin),
                               std::strerror(errno));
    }
    errno = refusal;
    return nullptr;
  }

  static void* MapExactly(size_t bytes, std::string_view tag) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    NameMapping(p, bytes, tag);
    return p;
  }
};

}  // namespace

PageSource& DefaultPageSource() {
  static MmapPageSource* const source = new MmapPageSource();
  return *source;
}

size_t PageSize() {
  static const size_t page_size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page_size;
}

}  // namespace zonealloc
