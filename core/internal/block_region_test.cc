// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/internal/block_region.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/testing/counting_page_source.h>

namespace zonealloc::internal {
namespace {

using testing::HasSubstr;

TEST(BlockRegionTest, CommitsTheInitialSegmentAndGrowsUpToMax) {
  CountingPageSource pages;
  absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 24, 10, 30);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->committed_blocks(), 10u);
  EXPECT_TRUE(region->Contains(region->BlockAt(9)));
  EXPECT_FALSE(region->Contains(region->BlockAt(10)));
  EXPECT_TRUE(region->InReservedRange(region->BlockAt(10)));

  ASSERT_TRUE(region->Grow(20));
  EXPECT_EQ(region->committed_blocks(), 30u);
  EXPECT_TRUE(region->Contains(region->BlockAt(29)));
  // Committed memory is usable.
  static_cast<char*>(region->BlockAt(29))[23] = 1;
  EXPECT_FALSE(region->Grow(1)) << "past max_blocks";
  EXPECT_EQ(region->committed_blocks(), 30u);
}

TEST(BlockRegionTest, ContainsOnlyBlockStarts) {
  absl::StatusOr<BlockRegion> region = BlockRegion::Create(DefaultPageSource(), "t", 48, 4, 4);
  ASSERT_TRUE(region.ok());
  const char* first = static_cast<const char*>(region->BlockAt(0));
  EXPECT_TRUE(region->Contains(first + 48));
  EXPECT_TRUE(region->Contains(first + 3 * 48)) << "the last committed block";
  EXPECT_FALSE(region->Contains(first + 4 * 48)) << "a block start past the committed ones";
  EXPECT_FALSE(region->Contains(first + 8));
  EXPECT_FALSE(region->Contains(first - 48));
  int on_stack = 0;
  EXPECT_FALSE(region->Contains(&on_stack));
}

// Contains() and IndexOf() divide by multiplying; they must agree with
// division for every block size and every offset, multiples or not.
TEST(BlockRegionTest, ExactDivisorAgreesWithDivision) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t block_size = 8 * (1 + rng() % (kMaxBlockSize / 8));
    const ExactDivisor divisor = ExactDivisor::For(block_size);
    const uint64_t max_index = std::min<uint64_t>(kMaxBlocks, kMaxRegionBytes / block_size) - 1;
    for (uint64_t index : {uint64_t{0}, uint64_t{1}, max_index, rng() % (max_index + 1)}) {
      for (uint64_t within : {uint64_t{0}, uint64_t{1}, uint64_t{8}, uint64_t{block_size - 1},
                              rng() % block_size}) {
        const uint64_t offset = index * block_size + within;
        ASSERT_EQ(divisor.Divides(offset), offset % block_size == 0)
            << "block_size " << block_size << " offset " << offset;
        if (within == 0) {
          ASSERT_EQ(divisor.QuotientOrAboveMax(offset), index);
        } else {
          ASSERT_GT(divisor.QuotientOrAboveMax(offset), divisor.max_quotient)
              << "what Contains() relies on";
        }
      }
    }
    // Far outside any region (a pointer below the blocks wraps around).
    const uint64_t wild = rng();
    ASSERT_EQ(divisor.Divides(wild), wild % block_size == 0) << wild;
  }
}

TEST(BlockRegionTest, FailedReserveIsResourceExhaustedNamingTheZone) {
  CountingPageSource pages;
  pages.FailNext(PageCall::kReserve);
  absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "conn", 64, 8, 8);
  ASSERT_EQ(region.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(region.status().message().find("conn"), std::string_view::npos);
}

TEST(BlockRegionTest, FailedCommitLeavesNothingMapped) {
  CountingPageSource pages;
  pages.FailNext(PageCall::kCommit);
  EXPECT_EQ(BlockRegion::Create(pages, "t", 64, 8, 8).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

// Growth within pages already committed commits nothing; growth past them
// commits only the new pages (PageSource::Commit: each page once).
TEST(BlockRegionTest, GrowWithinCommittedPagesCommitsNothing) {
  CountingPageSource pages;
  absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 64, 9, 4096);
  ASSERT_TRUE(region.ok());
  const int calls_before = pages.calls(PageCall::kCommit);
  // Links, slots and blocks 9-11 all lie in the pages the first 9 took.
  EXPECT_TRUE(region->Grow(3));
  EXPECT_EQ(pages.calls(PageCall::kCommit), calls_before);
  EXPECT_EQ(region->committed_blocks(), 12u);
  // A page more of blocks reaches past the first page of blocks; their
  // links and slots do not.
  EXPECT_TRUE(region->Grow(PageSize() / 64));
  EXPECT_EQ(pages.calls(PageCall::kCommit), calls_before + 1);
}

// A source whose Commit() hands out fresh zeroed pages, as one that maps
// them with MAP_FIXED does.
class ZeroingPageSource final : public PageSource {
 public:
  void* Reserve(size_t bytes, std::string_view tag) override {
    return DefaultPageSource().Reserve(bytes, tag);
  }
  bool Commit(void* addr, size_t bytes) override {
    if (!DefaultPageSource().Commit(addr, bytes)) return false;
    std::memset(addr, 0, bytes);
    return true;
  }
  bool Unmap(void* addr, size_t bytes) override { return DefaultPageSource().Unmap(addr, bytes); }
  void* Map(size_t bytes, size_t alignment, std::string_view tag) override {
    return DefaultPageSource().Map(bytes, alignment, tag);
  }
};

// Growing never commits again a page that holds blocks or links in use.
TEST(BlockRegionTest, GrowingKeepsWhatTheCommittedPagesHold) {
  ZeroingPageSource pages;
  absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 24, 100, 1000);
  ASSERT_TRUE(region.ok());
  for (uint32_t i = 0; i < 100; ++i) {
    std::memset(region->BlockAt(i), 0x5a, 24);
    region->links()[i].store(i + 1);
  }
  for (int step = 0; step < 9; ++step) ASSERT_TRUE(region->Grow(100));
  for (uint32_t i = 0; i < 100; ++i) {
    const auto* bytes = static_cast<const unsigned char*>(region->BlockAt(i));
    EXPECT_EQ(bytes[0], 0x5a) << "block " << i;
    EXPECT_EQ(bytes[23], 0x5a) << "block " << i;
    EXPECT_EQ(region->links()[i].load(), i + 1) << "link " << i;
  }
}

// Grow() commits links, batch slots and blocks; whichever commit fails, it
// returns false and the region keeps its size (pages a half-done Grow()
// committed stay committed, unused).
TEST(BlockRegionTest, FailedGrowChangesNothing) {
  CountingPageSource pages;
  // A page's count of blocks ends a page of each: links (4 bytes each),
  // slots (1 byte per block) and blocks, so each growth needs all three
  // commits.
  const size_t initial = PageSize();
  absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 64, initial, 2 * initial);
  ASSERT_TRUE(region.ok());
  for (int failing = 0; failing < 3; ++failing) {
    SCOPED_TRACE(testing::Message() << "commit " << failing << " fails");
    pages.FailAfter(PageCall::kCommit, failing);
    const int calls_before = pages.calls(PageCall::kCommit);
    EXPECT_FALSE(region->Grow(8));
    EXPECT_EQ(pages.calls(PageCall::kCommit), calls_before + failing + 1) << "stops there";
    EXPECT_EQ(region->committed_blocks(), initial);
  }
  const int calls_before = pages.calls(PageCall::kCommit);
  EXPECT_TRUE(region->Grow(8));
  EXPECT_EQ(pages.calls(PageCall::kCommit), calls_before + 3) << "links, slots, blocks";
  EXPECT_EQ(region->committed_blocks(), initial + 8);
}

// The pages of the blocks, from the one holding the first block's start to
// the one holding the last block's end: 104-byte blocks straddle pages.
TEST(BlockRegionTest, PrefaultAsksForThePagesOfTheBlocks) {
  CountingPageSource pages;
  const size_t page = PageSize();
  absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 104, 200, 400);
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(pages.calls(PageCall::kPrefault), 0) << "Create() prefaults nothing";
  ASSERT_TRUE(region->Grow(200));
  EXPECT_EQ(pages.calls(PageCall::kPrefault), 0) << "nor does Grow()";
  region->Prefault(200, 100);
  const auto first = reinterpret_cast<uintptr_t>(region->BlockAt(200)) / page * page;
  const auto end = reinterpret_cast<uintptr_t>(region->BlockAt(299)) + 104;
  EXPECT_EQ(pages.last_prefault_addr(), reinterpret_cast<void*>(first));
  EXPECT_EQ(pages.last_prefault_bytes(), (end - first + page - 1) / page * page);
  pages.FailNext(PageCall::kPrefault);
  EXPECT_FALSE(region->Prefault(0, 1)) << "the source's answer";
}

TEST(BlockRegionTest, DestructionUnmapsTheReservation) {
  CountingPageSource pages;
  {
    absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 64, 8, 8);
    ASSERT_TRUE(region.ok());
    BlockRegion moved = *std::move(region);
    EXPECT_EQ(pages.outstanding_mappings(), 1);
  }
  EXPECT_EQ(pages.outstanding_mappings(), 0);
}

TEST(BlockRegionTest, UnmapGivesTheReservationBackOnceAndSaysWhenRefused) {
  CountingPageSource pages;
  absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 64, 8, 8);
  ASSERT_TRUE(region.ok());
  pages.FailNext(PageCall::kUnmap);
  errno = 0;
  EXPECT_FALSE(region->Unmap());
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(pages.outstanding_mappings(), 1);
  EXPECT_TRUE(region->Unmap());
  EXPECT_EQ(pages.outstanding_mappings(), 0);
  EXPECT_TRUE(region->Unmap()) << "nothing left to unmap";
  EXPECT_EQ(pages.calls(PageCall::kUnmap), 2) << "the destructor has nothing to do";
}

TEST(BlockRegionTest, AnAbandonedReservationStaysMapped) {
  CountingPageSource pages;
  void* reservation;
  {
    absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 64, 8, 8);
    ASSERT_TRUE(region.ok());
    reservation = region->links();
    region->Abandon();
  }
  EXPECT_EQ(pages.calls(PageCall::kUnmap), 0);
  EXPECT_EQ(pages.outstanding_mappings(), 1);
  EXPECT_TRUE(pages.Unmap(reservation, 3 * PageSize()));
}

TEST(BlockRegionTest, DestructionReportsAReservationItCannotUnmap) {
  CountingPageSource pages;
  void* reservation;
  testing::internal::CaptureStderr();
  {
    // Three pages: the link array, the batch slots and the blocks, a page each.
    absl::StatusOr<BlockRegion> region = BlockRegion::Create(pages, "t", 64, 8, 8);
    ASSERT_TRUE(region.ok());
    reservation = region->links();
    pages.FailNext(PageCall::kUnmap);
  }
  const std::string report = testing::internal::GetCapturedStderr();
  char expected[128];
  std::snprintf(expected, sizeof(expected), "zonealloc: a zone's %zu-byte reservation at %p",
                3 * PageSize(), reservation);
  EXPECT_THAT(report, HasSubstr(expected));
  EXPECT_THAT(report, HasSubstr(std::strerror(ENOMEM)));
  // It is indeed still mapped; give it back for the region.
  EXPECT_EQ(pages.outstanding_mappings(), 1);
  EXPECT_TRUE(pages.Unmap(reservation, 3 * PageSize()));
}

}  // namespace
}  // namespace zonealloc::internal
