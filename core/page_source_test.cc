// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/page_source.h>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/testing/counting_page_source.h>
#include <zonealloc/testing/replaces_libc.h>

// This program's munmap, where no sanitizer's runtime intercepts it (see
// replaces_libc.h): the system call itself, unless a test has asked to
// refuse a call. glibc's own calls (and so malloc's) do not come through here.
#if ZONEALLOC_TEST_REPLACES_LIBC
namespace {
// The ordinal of the next call to refuse with ENOMEM (1 = the next one), 0
// for none, and the calls seen since it was set.
int refuse_munmap_call = 0;
struct MunmapCall {
  void* addr;
  size_t bytes;
};
std::vector<MunmapCall>* munmap_calls = nullptr;
// Runs on the refused call, after the calls before it went through.
void (*on_refused_munmap)() = nullptr;
}  // namespace

extern "C" int munmap(void* addr, size_t bytes) noexcept {
  if (refuse_munmap_call > 0) {
    if (munmap_calls != nullptr) munmap_calls->push_back({addr, bytes});
    if (--refuse_munmap_call == 0) {
      if (on_refused_munmap != nullptr) on_refused_munmap();
      errno = ENOMEM;
      return -1;
    }
  }
  return static_cast<int>(syscall(SYS_munmap, addr, bytes));
}
#endif  // ZONEALLOC_TEST_REPLACES_LIBC

namespace zonealloc {
namespace {

using internal::CountingPageSource;
using internal::PageCall;

TEST(PageSourceTest, MapReturnsZeroedWritableMemory) {
  PageSource& pages = DefaultPageSource();
  auto* p = static_cast<unsigned char*>(pages.Map(2 * PageSize(), PageSize(), "zonealloc-test"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % PageSize(), 0u);
  EXPECT_EQ(p[0] | p[2 * PageSize() - 1], 0);
  std::memset(p, 0xAB, 2 * PageSize());
  EXPECT_TRUE(pages.Unmap(p, 2 * PageSize()));
}

TEST(PageSourceTest, MapHonoursAnAlignmentAboveThePage) {
  PageSource& pages = DefaultPageSource();
  constexpr size_t kAlignment = size_t{1} << 21;
  auto* p = static_cast<char*>(pages.Map(3 * PageSize(), kAlignment, "zonealloc-test"));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kAlignment, 0u);
  p[3 * PageSize() - 1] = 1;
  EXPECT_TRUE(pages.Unmap(p, 3 * PageSize()));
}

#if ZONEALLOC_TEST_REPLACES_LIBC
// Whether [p, p + bytes) is mapped: msync fails with ENOMEM where it is not.
bool Mapped(void* p, size_t bytes) { return msync(p, bytes, MS_ASYNC) == 0; }

// Once Map has trimmed the head of its over-sized mapping, those addresses
// are free for anyone to map. A refused tail trim must then give back only
// what is left, not the whole first mapping.
TEST(PageSourceTest, ARefusedTrimGivesBackOnlyWhatMapStillHolds) {
  constexpr size_t kAlignment = size_t{1} << 22;
  PageSource& pages = DefaultPageSource();
  static void* neighbour;  // another thread's mapping, where the head was
  neighbour = nullptr;
  std::vector<void*> aligned;  // kept mapped, so each attempt lands elsewhere
  std::vector<MunmapCall> calls;
  for (int attempt = 0; attempt < 8 && neighbour == nullptr; ++attempt) {
    calls.clear();
    munmap_calls = &calls;
    refuse_munmap_call = 2;  // the head trim goes through; the tail trim is refused
    on_refused_munmap = [] {
      void* const head = munmap_calls->front().addr;
      void* p = mmap(head, PageSize(), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p == head) {
        neighbour = p;
      } else if (p != MAP_FAILED) {  // a kernel before 4.17 took it as a hint
        munmap(p, PageSize());
      }
    };
    errno = 0;
    void* p = pages.Map(PageSize(), kAlignment, "zonealloc-test");
    const int map_errno = errno;
    refuse_munmap_call = 0;
    munmap_calls = nullptr;
    on_refused_munmap = nullptr;
    if (p != nullptr) {  // mmap's address happened to be aligned: no head to trim
      aligned.push_back(p);
      continue;
    }
    EXPECT_EQ(map_errno, ENOMEM) << "the refusal's errno";
  }
  for (void* p : aligned) EXPECT_TRUE(pages.Unmap(p, PageSize()));
  if (neighbour == nullptr) GTEST_SKIP() << "mmap's addresses were all aligned: no head to trim";
  EXPECT_TRUE(Mapped(neighbour, PageSize())) << "Map unmapped another mapping";
  static_cast<char*>(neighbour)[0] = 1;
  EXPECT_EQ(munmap(neighbour, PageSize()), 0);
}
#endif

// The /proc/self/maps line of the mapping that holds p.
std::string MapsLineOf(const void* p) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    uintptr_t begin = 0;
    uintptr_t end = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &begin, &end) == 2 &&
        begin <= reinterpret_cast<uintptr_t>(p) && reinterpret_cast<uintptr_t>(p) < end) {
      return line;
    }
  }
  return "";
}

// Whether this kernel names anonymous mappings (CONFIG_ANON_VMA_NAME), and
// this build asks it to.
bool KernelNamesMappings() {
#if defined(PR_SET_VMA) && defined(PR_SET_VMA_ANON_NAME)
  void* probe = mmap(nullptr, PageSize(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (probe == MAP_FAILED) return false;
  const bool named = prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, reinterpret_cast<unsigned long>(probe),
                           PageSize(), reinterpret_cast<unsigned long>("probe")) == 0;
  munmap(probe, PageSize());
  return named;
#else
  return false;
#endif
}

TEST(PageSourceTest, MapNamesTheMappingWithItsTagWhereTheKernelAllows) {
  if (!KernelNamesMappings()) GTEST_SKIP() << "this kernel does not name anonymous mappings";
  PageSource& pages = DefaultPageSource();
  void* p = pages.Map(PageSize(), PageSize(), "zonealloc-overflow:a b[c]$");
  ASSERT_NE(p, nullptr);
  // Characters the kernel refuses in a name become '_'.
  EXPECT_NE(MapsLineOf(p).find("[anon:zonealloc-overflow:a_b_c__]"), std::string::npos)
      << MapsLineOf(p);
  EXPECT_TRUE(pages.Unmap(p, PageSize()));

  // A name is cut at the kernel's 79 characters.
  const std::string long_tag = "zonealloc-overflow:" + std::string(100, 'x');
  p = pages.Map(PageSize(), PageSize(), long_tag);
  ASSERT_NE(p, nullptr);
  EXPECT_NE(MapsLineOf(p).find("[anon:" + long_tag.substr(0, 79) + "]"), std::string::npos)
      << MapsLineOf(p);
  EXPECT_TRUE(pages.Unmap(p, PageSize()));
}

TEST(PageSourceTest, UnmapSaysWhenTheSystemRefuses) {
  PageSource& pages = DefaultPageSource();
  auto* p = static_cast<char*>(pages.Map(PageSize(), PageSize(), "zonealloc-test"));
  ASSERT_NE(p, nullptr);
  errno = 0;
  EXPECT_FALSE(pages.Unmap(p + 8, PageSize())) << "not page aligned";
  EXPECT_EQ(errno, EINVAL);
  p[0] = 1;  // still mapped
  EXPECT_TRUE(pages.Unmap(p, PageSize()));
}

// Pages of [p, p + bytes) that are resident now.
size_t ResidentPages(void* p, size_t bytes) {
  std::vector<unsigned char> resident(bytes / PageSize());
  EXPECT_EQ(mincore(p, bytes, resident.data()), 0) << std::strerror(errno);
  return static_cast<size_t>(std::count_if(resident.begin(), resident.end(),
                                           [](unsigned char page) { return page & 1; }));
}

TEST(PageSourceTest, PrefaultMakesCommittedPagesResident) {
  PageSource& pages = DefaultPageSource();
  const size_t bytes = 16 * PageSize();
  void* p = pages.Reserve(bytes, "zonealloc-test");
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(pages.Commit(p, bytes));
  EXPECT_EQ(ResidentPages(p, bytes), 0u) << "committed, not yet touched";
  errno = 0;
  if (!pages.Prefault(p, bytes)) {
    EXPECT_EQ(errno, EINVAL) << "only a kernel without MADV_POPULATE_WRITE may decline";
    EXPECT_TRUE(pages.Unmap(p, bytes));
    GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux 5.14)";
  }
  EXPECT_EQ(ResidentPages(p, bytes), 16u);
  EXPECT_EQ(static_cast<char*>(p)[bytes - 1], 0) << "prefaulted pages read as zero";
  EXPECT_TRUE(pages.Unmap(p, bytes));
}

TEST(PageSourceTest, PrefaultOfAReservedPageIsRefused) {
  PageSource& pages = DefaultPageSource();
  void* p = pages.Reserve(PageSize(), "zonealloc-test");
  ASSERT_NE(p, nullptr);
  EXPECT_FALSE(pages.Prefault(p, PageSize())) << "PROT_NONE: not committed";
  EXPECT_TRUE(pages.Unmap(p, PageSize()));
}

// A source that implements only what it must declines prefaults.
TEST(PageSourceTest, TheDefaultPrefaultDeclines) {
  class MinimalSource final : public PageSource {
   public:
    void* Reserve(size_t, std::string_view) override { return nullptr; }
    bool Commit(void*, size_t) override { return false; }
    void* Map(size_t, size_t, std::string_view) override { return nullptr; }
    bool Unmap(void*, size_t) override { return false; }
  } source;
  char page[64];
  errno = 0;
  EXPECT_FALSE(source.Prefault(page, sizeof(page)));
  EXPECT_EQ(errno, ENOSYS) << "cannot, so a zone stops asking";
}

TEST(CountingPageSourceTest, ARefusedUnmapLeavesTheMappingOutstanding) {
  CountingPageSource pages;
  void* p = pages.Map(PageSize(), PageSize(), "zonealloc-test");
  ASSERT_NE(p, nullptr);
  pages.FailNext(PageCall::kUnmap);
  errno = 0;
  EXPECT_FALSE(pages.Unmap(p, PageSize()));
  EXPECT_EQ(errno, ENOMEM) << "as Linux at vm.max_map_count";
  EXPECT_EQ(pages.outstanding_mappings(), 1);
  EXPECT_TRUE(pages.Unmap(p, PageSize()));
  EXPECT_EQ(pages.outstanding_mappings(), 0);
  EXPECT_EQ(pages.calls(PageCall::kUnmap), 2);
}

}  // namespace
}  // namespace zonealloc
