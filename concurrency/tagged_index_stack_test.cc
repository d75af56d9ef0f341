// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/concurrency/tagged_index_stack.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <semaphore>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include <zonealloc/testing/test_threads.h>

namespace zonealloc {
namespace {

TEST(TaggedIndexTest, PacksIndexAndTagIntoOneWord) {
  const TaggedIndex head(7, 0xABCD1234u);
  EXPECT_EQ(head.index(), 7u);
  EXPECT_EQ(head.tag(), 0xABCD1234u);
  EXPECT_EQ(TaggedIndex::FromWord(head.word()), head);
  EXPECT_TRUE(TaggedIndex().empty());
  EXPECT_FALSE(head.empty());
}

TEST(TaggedIndexTest, NextBumpsTheTagAndWrapsAround) {
  EXPECT_EQ(TaggedIndex(1, 5).Next(2), TaggedIndex(2, 6));
  EXPECT_EQ(TaggedIndex(1, UINT32_MAX).Next(3), TaggedIndex(3, 0));
}

// A stack over `n` indices, none of them pushed yet.
struct StackFixture {
  explicit StackFixture(uint32_t n) : links(n) {}
  std::vector<std::atomic<uint32_t>> links;
};

TEST(TaggedIndexStackTest, PopsInLastInFirstOutOrder) {
  StackFixture f(4);
  TaggedIndexStack<> stack(f.links.data());
  EXPECT_TRUE(stack.Empty());
  EXPECT_EQ(stack.Pop(), kNoIndex);
  EXPECT_TRUE(stack.Push(0)) << "pushed onto an empty stack";
  EXPECT_FALSE(stack.Push(1));
  stack.Push(2);
  EXPECT_FALSE(stack.Empty());
  EXPECT_EQ(stack.Pop(), 2u);
  EXPECT_EQ(stack.Pop(), 1u);
  EXPECT_EQ(stack.Pop(), 0u);
  EXPECT_EQ(stack.Pop(), kNoIndex);
}

TEST(TaggedIndexStackTest, EverySuccessfulUpdateChangesTheTag) {
  StackFixture f(2);
  TaggedIndexStack<> stack(f.links.data());
  const uint32_t tag0 = stack.tag();
  stack.Push(0);
  stack.Push(1);
  stack.Pop();
  stack.PopAll();
  EXPECT_EQ(stack.tag(), tag0 + 4);
  stack.Pop();  // empty: no update, no new tag
  EXPECT_EQ(stack.tag(), tag0 + 4);
}

TEST(TaggedIndexStackTest, PushChainPublishesAPrelinkedChainAtOnce) {
  StackFixture f(6);
  TaggedIndexStack<> stack(f.links.data());
  stack.Push(5);
  // Chain 0 -> 1 -> 2; PushChain links 2 to the old head itself.
  f.links[0] = 1;
  f.links[1] = 2;
  const uint32_t tag_before = stack.tag();
  stack.PushChain(0, 2);
  EXPECT_EQ(stack.tag(), tag_before + 1);
  for (uint32_t expected : {0u, 1u, 2u, 5u}) EXPECT_EQ(stack.Pop(), expected);
  EXPECT_TRUE(stack.Empty());
}

TEST(TaggedIndexStackTest, PopAllDetachesTheWholeChain) {
  StackFixture f(3);
  TaggedIndexStack<> stack(f.links.data());
  for (uint32_t i = 0; i < 3; ++i) stack.Push(i);
  std::vector<uint32_t> chain;
  for (uint32_t i = stack.PopAll(); i != kNoIndex; i = f.links[i].load()) chain.push_back(i);
  EXPECT_EQ(chain, (std::vector<uint32_t>{2, 1, 0}));
  EXPECT_TRUE(stack.Empty());
  EXPECT_EQ(stack.PopAll(), kNoIndex);
}

// Pauses one chosen thread's pop between its read of the head and its CAS.
struct PauseOnePopper {
  void BeforePopCas(uint32_t index, uint32_t next) {
    if (std::this_thread::get_id() != paused_thread) return;
    seen_index = index;
    seen_next = next;
    paused_thread = {};  // pause once; the retry runs through
    paused.release();
    resume.acquire();
  }
  std::thread::id paused_thread;
  uint32_t seen_index = kNoIndex;
  uint32_t seen_next = kNoIndex;
  std::binary_semaphore paused{0};
  std::binary_semaphore resume{0};
};

// What the forced A-B-C interleaving of tagged_index_stack.h left behind.
struct AbaOutcome {
  uint32_t thread1_got = kNoIndex;      // what the paused popper returned
  std::vector<uint32_t> left_on_stack;  // the free list afterwards, top first
};

// Runs the ABA interleaving of tagged_index_stack.h's comment on a stack
// A -> B -> C: thread 1's pop reads {A, next B} and pauses; thread 2 (the
// caller) pops A, pops B and keeps it, pushes A back; thread 1 resumes and
// tries its stale CAS. B stays in use by thread 2 throughout.
template <StackTag kTag>
AbaOutcome RunForcedAba() {
  constexpr uint32_t A = 0, B = 1, C = 2;
  StackFixture f(3);
  TaggedIndexStack<PauseOnePopper, kTag> stack(f.links.data());
  stack.Push(C);
  stack.Push(B);
  stack.Push(A);  // A -> B -> C

  std::binary_semaphore go{0};
  AbaOutcome outcome;
  std::thread thread1([&] {
    go.acquire();
    outcome.thread1_got = stack.Pop();  // reads {A, next B}, then pauses
  });
  stack.hooks().paused_thread = thread1.get_id();
  go.release();

  stack.hooks().paused.acquire();
  EXPECT_EQ(stack.hooks().seen_index, A);
  EXPECT_EQ(stack.hooks().seen_next, B);
  // Thread 2 (this one): pop A, pop B and keep it, push A back: A -> C.
  EXPECT_EQ(stack.Pop(), A);
  EXPECT_EQ(stack.Pop(), B);
  stack.Push(A);
  stack.hooks().resume.release();
  thread1.join();

  // At most one more pop than there are indices: a corrupted list may loop.
  for (int i = 0; i <= 3; ++i) {
    const uint32_t index = stack.Pop();
    if (index == kNoIndex) break;
    outcome.left_on_stack.push_back(index);
  }
  return outcome;
}

TEST(TaggedIndexStackTest, TagDefeatsTheAbaInterleaving) {
  const AbaOutcome outcome = RunForcedAba<StackTag::kVersioned>();
  // Thread 1's stale CAS must have failed and its retry popped A properly.
  EXPECT_EQ(outcome.thread1_got, 0u /*A*/);
  // B is in use and must not be on the free list: only C is left.
  EXPECT_EQ(outcome.left_on_stack, (std::vector<uint32_t>{2 /*C*/}));
}

// The same interleaving against the stack with the tag left unchanged: the
// test above must be able to fail. Thread 1's stale CAS succeeds and puts B,
// a block thread 2 still holds, back on top of the free list.
TEST(TaggedIndexStackTest, WithoutTheTagTheAbaInterleavingCorruptsTheList) {
  const AbaOutcome outcome = RunForcedAba<StackTag::kUnversionedForTesting>();
  EXPECT_EQ(outcome.thread1_got, 0u /*A*/);
  EXPECT_EQ(outcome.left_on_stack, (std::vector<uint32_t>{1 /*B*/, 2 /*C*/}))
      << "expected the untagged stack to hand out B, which is in use";
}

// Many threads pop and push at random; each index is claimed on pop and
// released before push, so a duplicate hand-out or a lost index shows.
TEST(TaggedIndexStackTest, ManyThreadsNeverLoseOrDuplicateAnIndex) {
  constexpr uint32_t kIndices = 256;
  const int kThreads = internal::TestThreads(4);
  constexpr int kRoundsPerThread = 20000;
  StackFixture f(kIndices);
  TaggedIndexStack<> stack(f.links.data());
  for (uint32_t i = 0; i < kIndices; ++i) stack.Push(i);
  std::vector<std::atomic<int>> owner(kIndices);
  std::atomic<int> duplicates{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uint32_t held[8];
      uint64_t rng = 0x9E3779B97F4A7C15ull * (t + 1);
      for (int round = 0; round < kRoundsPerThread; ++round) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        const int want = 1 + static_cast<int>(rng % 8);
        int got = 0;
        while (got < want) {
          const uint32_t i = stack.Pop();
          if (i == kNoIndex) break;
          if (owner[i].exchange(t + 1) != 0) duplicates.fetch_add(1);
          held[got++] = i;
        }
        if (round % 2 == 1 && got >= 2) {
          for (int k = 0; k < got; ++k) owner[held[k]].store(0);
          // Link held[0..got) into a chain and publish it with one CAS.
          for (int k = 0; k + 1 < got; ++k) f.links[held[k]].store(held[k + 1]);
          stack.PushChain(held[0], held[got - 1]);
        } else {
          for (int k = 0; k < got; ++k) {
            owner[held[k]].store(0);
            stack.Push(held[k]);
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(duplicates.load(), 0);
  std::vector<bool> seen(kIndices, false);
  uint32_t count = 0;
  for (uint32_t i = stack.PopAll(); i != kNoIndex; i = f.links[i].load()) {
    ASSERT_LT(i, kIndices);
    ASSERT_FALSE(seen[i]) << "index " << i << " is on the stack twice";
    seen[i] = true;
    ++count;
  }
  EXPECT_EQ(count, kIndices);
}

}  // namespace
}  // namespace zonealloc
