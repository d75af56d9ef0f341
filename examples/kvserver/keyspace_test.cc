// SPDX-License-Identifier: Apache-2.0
#include "keyspace.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "memory_source.h"

namespace kvserver {
namespace {

std::unique_ptr<MemorySource> NewMemory(Backend backend) {
  absl::StatusOr<std::unique_ptr<MemorySource>> memory =
      MemorySource::Create(backend, {.fixed_bytes = {64, 1024, sizeof(Keyspace::Node)}});
  EXPECT_TRUE(memory.ok()) << memory.status();
  return *std::move(memory);
}

std::string Value(Keyspace& keyspace, std::string_view key, int64_t now_ms) {
  std::string value = "<absent>";
  keyspace.Read(key, now_ms, [&value](std::string_view v) { value = std::string(v); });
  return value;
}

class KeyspaceTest : public testing::TestWithParam<Backend> {};

TEST_P(KeyspaceTest, SetsReadsReplacesAndDeletes) {
  std::unique_ptr<MemorySource> memory = NewMemory(GetParam());
  Keyspace keyspace(*memory);
  EXPECT_EQ(keyspace.Set("k", "v1", kNoExpiry, 0), Keyspace::Result::kOk);
  EXPECT_EQ(Value(keyspace, "k", 0), "v1");
  // A value past the largest payload class comes from malloc.
  const std::string big(10000, 'x');
  EXPECT_EQ(keyspace.Set("k", big, kNoExpiry, 0), Keyspace::Result::kOk);
  EXPECT_EQ(Value(keyspace, "k", 0), big);
  EXPECT_EQ(keyspace.Size(), 1u);
  EXPECT_TRUE(keyspace.Delete("k", 0));
  EXPECT_FALSE(keyspace.Exists("k", 0));
  EXPECT_FALSE(keyspace.Delete("k", 0));
  EXPECT_EQ(memory->InUseBlocks(), 0u);
}

TEST_P(KeyspaceTest, ExpiredKeysAreDeletedWhenTouched) {
  std::unique_ptr<MemorySource> memory = NewMemory(GetParam());
  Keyspace keyspace(*memory);
  ASSERT_EQ(keyspace.Set("k", "v", /*expire_at_ms=*/100, /*now_ms=*/0), Keyspace::Result::kOk);
  EXPECT_TRUE(keyspace.Exists("k", 99));
  EXPECT_EQ(keyspace.Size(), 1u);  // lazy: still counted until touched
  EXPECT_FALSE(keyspace.Exists("k", 100));
  EXPECT_EQ(keyspace.Size(), 0u);
  EXPECT_EQ(memory->InUseBlocks(), 0u);
}

TEST_P(KeyspaceTest, IncrCountsFromZeroAndRefusesNonIntegers) {
  std::unique_ptr<MemorySource> memory = NewMemory(GetParam());
  Keyspace keyspace(*memory);
  int64_t value = 0;
  EXPECT_EQ(keyspace.Incr("n", 0, &value), Keyspace::Result::kOk);
  EXPECT_EQ(value, 1);
  EXPECT_EQ(keyspace.Incr("n", 0, &value), Keyspace::Result::kOk);
  EXPECT_EQ(Value(keyspace, "n", 0), "2");
  ASSERT_EQ(keyspace.Set("s", "abc", kNoExpiry, 0), Keyspace::Result::kOk);
  EXPECT_EQ(keyspace.Incr("s", 0, &value), Keyspace::Result::kNotInteger);
  ASSERT_EQ(keyspace.Set("m", "9223372036854775807", kNoExpiry, 0), Keyspace::Result::kOk);
  EXPECT_EQ(keyspace.Incr("m", 0, &value), Keyspace::Result::kOverflow);
}

TEST_P(KeyspaceTest, KeysSetOnOneThreadAreSeenOnAnother) {
  std::unique_ptr<MemorySource> memory = NewMemory(GetParam());
  Keyspace keyspace(*memory);
  constexpr int kKeys = 20000;  // many per stripe: the bucket arrays grow
  std::thread writer([&] {
    for (int i = 0; i < kKeys; ++i) {
      ASSERT_EQ(keyspace.Set(absl::StrCat("key", i), absl::StrCat(i), kNoExpiry, 0),
                Keyspace::Result::kOk);
    }
  });
  writer.join();
  std::thread reader([&] {
    for (int i = 0; i < kKeys; ++i) EXPECT_EQ(Value(keyspace, absl::StrCat("key", i), 0), absl::StrCat(i));
  });
  reader.join();
  EXPECT_EQ(keyspace.Size(), static_cast<size_t>(kKeys));
  keyspace.FlushAll();
  EXPECT_EQ(keyspace.Size(), 0u);
  EXPECT_EQ(memory->InUseBlocks(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyspaceTest, testing::Values(Backend::kZone, Backend::kMalloc),
                         [](const testing::TestParamInfo<Backend>& info) {
                           return std::string(BackendName(info.param));
                         });

}  // namespace
}  // namespace kvserver
