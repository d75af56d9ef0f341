// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/page_source.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"
#include <zonealloc/testing/counting_page_source.h>

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
