// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/object_zone.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/testing/ring_handoff.h>
#include <zonealloc/testing/zone_testing.h>
#include <zonealloc/zone_service.h>

namespace zonealloc {
namespace {

struct Connection {
  static inline std::atomic<int> live{0};
  Connection(int fd, std::string peer) : fd(fd), peer(std::move(peer)) { ++live; }
  ~Connection() { --live; }
  int fd;
  std::string peer;
};

// Counts its destructor runs.
struct Counted {
  static inline int destroyed = 0;
  ~Counted() { ++destroyed; }
};

template <typename T>
ObjectZone<T> MakeObjectZone(ZoneOptions options = {}) {
  absl::StatusOr<ObjectZone<T>> zone = ObjectZone<T>::Create(options);
  EXPECT_TRUE(zone.ok()) << zone.status();
  return *std::move(zone);
}

TEST(ObjectZoneTest, NewConstructsInABlockAndDeleteDestroysAndFrees) {
  ObjectZone<Connection> conns = MakeObjectZone<Connection>({.name = "conn"});
  EXPECT_GE(conns.zone().block_size(), sizeof(Connection));
  Connection* c = conns.New(7, "peer-a");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(conns.zone().Owns(c));
  EXPECT_EQ(c->fd, 7);
  EXPECT_EQ(c->peer, "peer-a");
  EXPECT_EQ(Connection::live, 1);
  EXPECT_EQ(conns.zone().Stats().in_use_blocks, 1u);

  conns.Delete(c);
  EXPECT_EQ(Connection::live, 0);
  EXPECT_EQ(conns.zone().Stats().in_use_blocks, 0u);
  conns.Delete(nullptr);  // does nothing
}

TEST(ObjectZoneTest, BlocksHaveTheTypesAlignment) {
  struct alignas(128) CacheLines {
    int64_t counters[20];
  };
  ObjectZone<CacheLines> zone = MakeObjectZone<CacheLines>({.name = "lines", .initial_blocks = 8});
  std::vector<CacheLines*> objects;
  for (int i = 0; i < 20; ++i) {  // past the 8 permanent blocks: overflow too
    objects.push_back(zone.New());
    ASSERT_NE(objects.back(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(objects.back()) % 128, 0u);
  }
  EXPECT_GT(zone.zone().Stats().overflow_allocations, 0u);
  for (CacheLines* object : objects) zone.Delete(object);
}

TEST(ObjectZoneTest, ABlockSizeSmallerThanTheTypeIsInvalid) {
  absl::StatusOr<ObjectZone<Connection>> zone =
      ObjectZone<Connection>::Create({.name = "tiny", .block_size = 8});
  EXPECT_EQ(zone.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zone.status().message(), testing::HasSubstr("got 8"));
  EXPECT_THAT(zone.status().message(), testing::HasSubstr("tiny"));

  // Bigger is allowed: room for a trailing buffer, say.
  absl::StatusOr<ObjectZone<Connection>> roomy =
      ObjectZone<Connection>::Create({.name = "roomy", .block_size = 4 * sizeof(Connection)});
  ASSERT_TRUE(roomy.ok()) << roomy.status();
  EXPECT_GE(roomy->zone().block_size(), 4 * sizeof(Connection));
}

TEST(ObjectZoneTest, CreateChargesTheGivenService) {
  auto service = ZoneService::Create({.name = "objects", .permanent_budget_bytes = 1 << 20});
  ASSERT_TRUE(service.ok()) << service.status();
  {
    absl::StatusOr<ObjectZone<Connection>> zone =
        ObjectZone<Connection>::Create(**service, {.name = "conn", .initial_blocks = 64});
    ASSERT_TRUE(zone.ok()) << zone.status();
    EXPECT_GT((*service)->permanent_bytes(), 64 * sizeof(Connection));
    EXPECT_EQ((*service)->Snapshot().zones.size(), 1u);
  }
  EXPECT_EQ((*service)->permanent_bytes(), 0u);
  // Past the service's budget: CreateZone's error.
  EXPECT_FALSE(
      ObjectZone<Connection>::Create(**service, {.name = "huge", .initial_blocks = 1 << 20}).ok());
}

TEST(ObjectZoneTest, UniquePtrDeletesIntoTheZone) {
  ObjectZone<Connection> conns = MakeObjectZone<Connection>({.name = "conn"});
  {
    ObjectZone<Connection>::UniquePtr c = conns.MakeUnique(3, "peer-b");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->fd, 3);
    ObjectZone<Connection>::UniquePtr empty;  // default-constructible
    empty = std::move(c);
    EXPECT_EQ(conns.zone().Stats().in_use_blocks, 1u);
  }
  EXPECT_EQ(Connection::live, 0);
  EXPECT_EQ(conns.zone().Stats().in_use_blocks, 0u);

  // A deleter taken from the zone, with a unique_ptr made elsewhere.
  std::unique_ptr<Connection, ObjectZone<Connection>::Deleter> owned(conns.New(4, "peer-c"),
                                                                    conns.deleter());
  owned.reset();
  EXPECT_EQ(conns.zone().Stats().in_use_blocks, 0u);
}

TEST(ObjectZoneTest, AThrowingConstructorGivesTheBlockBack) {
  struct Throws {
    explicit Throws(bool fail) {
      if (fail) throw std::runtime_error("constructor failed");
    }
  };
  ObjectZone<Throws> zone = MakeObjectZone<Throws>({.name = "throws"});
  EXPECT_THROW(zone.New(true), std::runtime_error);
  EXPECT_EQ(zone.zone().Stats().in_use_blocks, 0u);
  EXPECT_THROW(zone.MakeUnique(true), std::runtime_error);
  EXPECT_EQ(zone.zone().Stats().in_use_blocks, 0u);
  Throws* fine = zone.New(false);
  EXPECT_EQ(zone.zone().Stats().in_use_blocks, 1u);
  zone.Delete(fine);
}

TEST(ObjectZoneTest, NewReturnsNullptrPastEveryCap) {
  internal::ScopedPinToCurrentCpu pin;  // a migration could strand a cached block
  ObjectZone<Connection> conns = MakeObjectZone<Connection>(
      {.name = "capped", .initial_blocks = 16, .max_blocks = 16, .max_overflow_blocks = 1});
  std::vector<ObjectZone<Connection>::UniquePtr> held;
  while (held.size() < 1000) {
    ObjectZone<Connection>::UniquePtr c = conns.MakeUnique(1, "x");
    if (c == nullptr) break;
    held.push_back(std::move(c));
  }
  EXPECT_EQ(held.size(), 17u);  // 16 permanent blocks and 1 overflow block
  EXPECT_EQ(Connection::live, static_cast<int>(held.size()));
  held.clear();
  EXPECT_EQ(Connection::live, 0);
}

TEST(ObjectZoneTest, ObjectsAndDeletersSurviveAMove) {
  ObjectZone<Connection> first = MakeObjectZone<Connection>({.name = "moved"});
  ObjectZone<Connection>::UniquePtr c = first.MakeUnique(5, "peer-d");
  ObjectZone<Connection> second = std::move(first);
  EXPECT_EQ(second.zone().Stats().in_use_blocks, 1u);
  c.reset();  // its deleter points at the Zone, which did not move
  EXPECT_EQ(second.zone().Stats().in_use_blocks, 0u);
}

TEST(ObjectZoneTest, DestroyingItWithLiveObjectsSkipsTheirDestructorsAndReportsThem) {
  testing::internal::CaptureStderr();
  {
    ObjectZone<Counted> zone = MakeObjectZone<Counted>({.name = "leaky"});
    ASSERT_NE(zone.New(), nullptr);
  }
  const std::string report = testing::internal::GetCapturedStderr();
  EXPECT_THAT(report, testing::HasSubstr("'leaky' destroyed with 1 blocks in use")) << report;
  EXPECT_EQ(Counted::destroyed, 0);
}

// Millions of objects in all (a quarter under sanitizers): made on one thread,
// deleted through their unique_ptrs on the next.
TEST(ObjectZoneTest, ObjectsMadeOnOneThreadAreDeletedOnAnother) {
  using internal::kRingNodesPerFill;
  using internal::kRingThreads;
  struct Node {
    int thread;
    int64_t payload[3];
  };
  ObjectZone<Node> nodes = MakeObjectZone<Node>({.name = "ring", .initial_blocks = 1024});
  std::vector<std::vector<ObjectZone<Node>::UniquePtr>> slots(2 * kRingThreads);

  internal::RunRingHandoff(
      kRingThreads, internal::kRingRounds, slots,
      [&nodes](int t, std::vector<ObjectZone<Node>::UniquePtr>& slot) {
        slot.reserve(kRingNodesPerFill);
        for (size_t i = 0; i < kRingNodesPerFill; ++i) {
          slot.push_back(nodes.MakeUnique(Node{t, {1, 2, 3}}));
          ASSERT_NE(slot.back(), nullptr);
        }
      },
      [](int t, std::vector<ObjectZone<Node>::UniquePtr>& slot) {
        const int from = (t + 1) % kRingThreads;
        EXPECT_EQ(slot.size(), kRingNodesPerFill);
        for (const auto& node : slot) {
          if (node->thread != from) {
            ADD_FAILURE() << "node of thread " << node->thread << " in thread " << from << "'s slot";
            break;
          }
        }
        slot.clear();
      });

  const ZoneStats stats = nodes.zone().Stats();
  EXPECT_EQ(stats.in_use_blocks, 0u);
  EXPECT_GE(stats.capacity_blocks + stats.overflow_allocations, kRingThreads * kRingNodesPerFill);
}

}  // namespace
}  // namespace zonealloc
