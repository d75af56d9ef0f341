// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/zone_service.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/system_profile.h>
#include <zonealloc/testing/counting_page_source.h>
#include <zonealloc/unsynchronized_zone.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_sizing.h>

namespace zonealloc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ZoneServiceTest, ChargesInitialSegmentsAndRefundsThemWhenZonesDie) {
  auto service = *ZoneService::Create({.name = "net", .permanent_budget_bytes = 1 << 20});
  EXPECT_EQ(service->budget_bytes(), 1u << 20);
  auto a = *service->CreateZone({.name = "conn", .block_size = 252, .initial_blocks = 100});
  auto b = *service->CreateZone({.name = "req", .block_size = 60, .initial_blocks = 10});
  EXPECT_EQ(service->permanent_bytes(), 100u * (256 + 5) + 10u * (64 + 5)) << "blocks, links and batch slots";
  a.reset();
  EXPECT_EQ(service->permanent_bytes(), 10u * (64 + 5));
  b.reset();
  EXPECT_EQ(service->permanent_bytes(), 0u);
}

// Extensions are permanent while the zone lives, and go back to the budget
// with it.
TEST(ZoneServiceTest, DestroyingAnExtendedZoneRefundsItsExtensions) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto zone = *service->CreateZone(
      {.name = "grows", .block_size = 64, .initial_blocks = 16, .cpu_cache = CpuCacheMode::kOff});
  std::vector<void*> blocks;
  for (int i = 0; i < 200; ++i) {
    blocks.push_back(zone->Allocate());
    ASSERT_NE(blocks.back(), nullptr);
  }
  const ZoneStats stats = zone->Stats();
  ASSERT_GT(stats.extensions, 0u);
  EXPECT_EQ(service->permanent_bytes(), stats.capacity_blocks * (64 + 5));
  EXPECT_GT(stats.capacity_blocks, 16u);
  for (void* block : blocks) zone->Free(block);
  EXPECT_EQ(service->permanent_bytes(), stats.capacity_blocks * (64 + 5))
      << "an extension is never undone while the zone lives";
  zone.reset();
  EXPECT_EQ(service->permanent_bytes(), 0u);
}

// A refused unmap is not a release: the region stays mapped and its bytes
// charged, for a Zone and an UnsynchronizedZone alike.
TEST(ZoneServiceTest, ARegionThePageSourceCannotUnmapStaysCharged) {
  internal::CountingPageSource pages;
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto zone = *service->CreateZone(
      {.name = "kept", .block_size = 64, .initial_blocks = 16, .page_source = &pages});
  auto solo = *UnsynchronizedZone::Create(
      {.name = "solo", .block_size = 64, .initial_blocks = 16, .page_source = &pages}, *service);
  const uint64_t each = 16 * (64 + 5);
  ASSERT_EQ(service->permanent_bytes(), 2 * each);
  for (int i = 0; i < 2; ++i) {
    pages.FailNext(internal::PageCall::kUnmap);  // the region's, the first Unmap
    ::testing::internal::CaptureStderr();
    if (i == 0) {
      zone.reset();
    } else {
      solo.reset();
    }
    const std::string report = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(report, HasSubstr(absl::StrFormat(
                            "zone '%s': the page source refused to unmap its region; it stays "
                            "mapped, and its %d permanent bytes charged to service 's'",
                            i == 0 ? "kept" : "solo", each)));
    EXPECT_EQ(service->permanent_bytes(), 2 * each) << "nothing refunded";
  }
  // (Left mapped for the rest of this program: a few pages.)
  EXPECT_EQ(pages.outstanding_mappings(), 2) << "the two regions, and no retry";
}

TEST(ZoneServiceTest, ABudgetOfZeroIsSizedFromTheMachine) {
  auto service = *ZoneService::Create({.name = "sized"});
  EXPECT_EQ(service->budget_bytes(), DefaultPermanentBudgetBytes(SystemProfile::Current()));
  EXPECT_GT(service->budget_bytes(), 0u);
}

// An UnsynchronizedZone pays from the budget but is one thread's business:
// the service's listings leave it out.
TEST(ZoneServiceTest, UnsynchronizedZonesAreChargedButNotListed) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto listed = *service->CreateZone({.name = "listed", .block_size = 64, .initial_blocks = 4});
  const uint64_t before = service->permanent_bytes();
  auto solo = *UnsynchronizedZone::Create({.name = "solo", .block_size = 64, .initial_blocks = 100},
                                          *service);
  EXPECT_GT(service->permanent_bytes(), before + 100u * 64);
  const ServiceSnapshot snapshot = service->Snapshot();
  ASSERT_EQ(snapshot.zones.size(), 1u);
  EXPECT_EQ(snapshot.zones[0].name, "listed");
  EXPECT_EQ(snapshot.permanent_bytes, service->permanent_bytes());
  EXPECT_THAT(service->DumpText(), HasSubstr("listed"));
  EXPECT_THAT(service->DumpText(), Not(HasSubstr("solo")));
  solo.reset();
  EXPECT_EQ(service->permanent_bytes(), before);
}

TEST(ZoneServiceTest, BudgetSmallerThanTheInitialZonesIsInvalidArgument) {
  auto service = *ZoneService::Create({.name = "tiny", .permanent_budget_bytes = 1000});
  auto zone = service->CreateZone({.name = "big", .block_size = 60, .initial_blocks = 100});
  ASSERT_EQ(zone.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zone.status().message(), HasSubstr("zone 'big'"));
  EXPECT_THAT(zone.status().message(), HasSubstr("6900 bytes"));
  EXPECT_THAT(zone.status().message(), HasSubstr("service 'tiny'"));
  EXPECT_EQ(service->permanent_bytes(), 0u);
}

TEST(ZoneServiceTest, SnapshotListsEveryZoneWithItsStats) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto conn = *service->CreateZone({.name = "conn", .block_size = 64, .initial_blocks = 4});
  auto req = *service->CreateZone({.name = "req", .block_size = 128, .initial_blocks = 8});
  void* block = conn->Allocate();
  const ServiceSnapshot snapshot = service->Snapshot();
  EXPECT_EQ(snapshot.name, "s");
  ASSERT_EQ(snapshot.zones.size(), 2u);
  EXPECT_EQ(snapshot.zones[0].name, "conn");
  EXPECT_EQ(snapshot.zones[0].in_use_blocks, 1u);
  EXPECT_EQ(snapshot.zones[1].name, "req");
  EXPECT_EQ(snapshot.zones[1].capacity_blocks, 8u);
  EXPECT_EQ(snapshot.permanent_bytes, 4u * 69 + 8u * 133);
  conn->Free(block);
}

TEST(ZoneServiceTest, DumpTextEscapesNamesSoEachZoneIsOneRow) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto zone = *service->CreateZone({.name = "two\nlines", .block_size = 64, .initial_blocks = 2});
  const std::string text = service->DumpText();
  EXPECT_THAT(text, HasSubstr("two\\nlines"));
  EXPECT_THAT(text, Not(HasSubstr("two\nlines")));
}

TEST(ZoneServiceTest, DumpTextShowsRefusedExtensionsAndFailedAllocationsApart) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto zone = *service->CreateZone({.name = "capped", .block_size = 64, .initial_blocks = 2,
                                    .max_blocks = 2, .max_overflow_blocks = 1,
                                    .cpu_cache_blocks = 0});
  void* a = zone->Allocate();
  void* b = zone->Allocate();
  void* c = zone->Allocate();  // overflow
  EXPECT_EQ(zone->Allocate(), nullptr);
  const std::string text = service->DumpText();
  EXPECT_THAT(text, HasSubstr("ext_refused"));
  EXPECT_THAT(text, HasSubstr(" failed "));
  const ZoneStats stats = zone->Stats();
  EXPECT_EQ(stats.allocation_failures, 1u);
  EXPECT_EQ(stats.peak_in_use_blocks, 3u);
  zone->Free(a);
  zone->Free(b);
  zone->Free(c);
}

TEST(ZoneServiceTest, DumpTextShowsTheBoundOnAllCpuCachesTogether) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto zone = *service->CreateZone(
      {.name = "cached", .block_size = 64, .initial_blocks = 256, .cpu_cache = CpuCacheMode::kFallback});
  zone->Free(zone->Allocate());
  const ZoneStats stats = zone->Stats();
  ASSERT_GT(stats.cpu_cache_bound_blocks, 0u);
  EXPECT_THAT(service->DumpText(),
              HasSubstr(absl::StrFormat("# cached: fallback CPU caches, %d blocks cached (at most %d together)",
                                        stats.cached_blocks, stats.cpu_cache_bound_blocks)));
}

TEST(ZoneServiceTest, DumpTextHasARowPerZoneWithItsTag) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto conn = *service->CreateZone({.name = "conn", .block_size = 64, .initial_blocks = 2});
  std::vector<void*> blocks;
  for (int i = 0; i < 3; ++i) blocks.push_back(conn->Allocate());  // one overflows
  const std::string text = service->DumpText();
  EXPECT_THAT(text, HasSubstr("service 's'"));
  EXPECT_THAT(text, HasSubstr("conn"));
  EXPECT_THAT(text, HasSubstr("zonealloc-overflow:conn"));
  EXPECT_THAT(text, HasSubstr("ovf_use"));
  if (conn->cpu_cache_mode() != CpuCacheMode::kOff) {
    EXPECT_THAT(text, HasSubstr("CPU caches"));
    EXPECT_THAT(text, HasSubstr("refills"));
  }
  for (void* block : blocks) conn->Free(block);
}

TEST(ZoneServiceTest, DefaultServiceBacksZoneCreate) {
  const uint64_t before = ZoneService::Default().permanent_bytes();
  auto zone = *Zone::Create({.name = "default-zone", .block_size = 64, .initial_blocks = 10});
  EXPECT_EQ(ZoneService::Default().permanent_bytes(), before + 10 * 69);
  EXPECT_GT(ZoneService::Default().budget_bytes(), 0u);
}

TEST(ZoneServiceTest, DestroyingAServiceWithLiveZonesAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
        auto zone = *service->CreateZone({.name = "orphan", .block_size = 64, .initial_blocks = 2});
        service.reset();
      },
      "ZoneService 's' destroyed while zone 'orphan' still lives");
}

TEST(ZoneServiceTest, DestroyingAServiceWithALiveUnsynchronizedZoneAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
        auto zone = *UnsynchronizedZone::Create({.block_size = 64, .initial_blocks = 2}, *service);
        service.reset();
      },
      "ZoneService 's' destroyed while 1 UnsynchronizedZones still live");
}

TEST(ParseByteCountTest, AcceptsPlainNumbersAndBinarySuffixes) {
  EXPECT_EQ(*ParseByteCount("268435456"), 268435456u);
  EXPECT_EQ(*ParseByteCount("256M"), 256u << 20);
  EXPECT_EQ(*ParseByteCount("1g"), 1u << 30);
  EXPECT_EQ(*ParseByteCount("4K"), 4096u);
}

TEST(ParseByteCountTest, RejectsAnythingElseNamingTheValue) {
  for (const char* bad : {"", "M", "12X", "-5", "1.5G", " 1G", "99999999999999999999",
                          "99999999999T"}) {
    const absl::StatusOr<uint64_t> parsed = ParseByteCount(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr(std::string("'") + bad + "'"));
  }
}

}  // namespace
}  // namespace zonealloc
