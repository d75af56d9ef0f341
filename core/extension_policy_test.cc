// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/extension_policy.h>

#include "gtest/gtest.h"

namespace zonealloc {
namespace {

TEST(ExtensionPolicyTest, ExtendsOnlyAfterRepeatedOverflowThatIsStillInUse) {
  ExtensionPolicy policy(/*extend_after_overflow_allocations=*/2);
  policy.Observe(/*not_full_epoch=*/0);
  EXPECT_FALSE(policy.ShouldExtend()) << "no overflow yet";
  policy.OnOverflowAllocated();
  EXPECT_FALSE(policy.ShouldExtend()) << "overflow used only once";
  policy.OnOverflowAllocated();
  EXPECT_TRUE(policy.ShouldExtend()) << "twice, both still in use";
}

TEST(ExtensionPolicyTest, AFreedOverflowBlockMeansDemandIsNotSustained) {
  ExtensionPolicy policy(2);
  policy.Observe(0);
  policy.OnOverflowAllocated();
  policy.OnOverflowAllocated();
  policy.OnOverflowFreed();
  EXPECT_FALSE(policy.ShouldExtend());
  policy.OnOverflowAllocated();
  EXPECT_FALSE(policy.ShouldExtend()) << "the episode already saw a free";
}

TEST(ExtensionPolicyTest, BecomingNotFullStartsANewEpisode) {
  ExtensionPolicy policy(2);
  policy.Observe(0);
  policy.OnOverflowAllocated();
  policy.OnOverflowFreed();
  policy.Observe(1);  // the zone had free blocks in between
  EXPECT_EQ(policy.episode_overflow_allocations(), 0u);
  policy.OnOverflowAllocated();
  policy.OnOverflowAllocated();
  EXPECT_TRUE(policy.ShouldExtend());
  policy.Observe(1);  // same epoch: same episode
  EXPECT_TRUE(policy.ShouldExtend());
}

// Threads read the epoch before they wait for the slow-path lock, so one may
// bring an epoch older than the episode's: it must not wipe the episode.
TEST(ExtensionPolicyTest, AnOlderEpochLeavesTheEpisodeAlone) {
  ExtensionPolicy policy(2);
  policy.Observe(5);
  policy.OnOverflowAllocated();
  policy.Observe(4);  // read before the epoch moved to 5
  policy.OnOverflowAllocated();
  EXPECT_TRUE(policy.ShouldExtend()) << "both overflows count in epoch 5's episode";
}

TEST(ExtensionPolicyTest, ExtendingEndsTheEpisode) {
  ExtensionPolicy policy(1);
  policy.Observe(0);
  policy.OnOverflowAllocated();
  ASSERT_TRUE(policy.ShouldExtend());
  policy.OnExtended();
  EXPECT_FALSE(policy.ShouldExtend());
}

}  // namespace
}  // namespace zonealloc
