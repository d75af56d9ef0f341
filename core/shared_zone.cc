// SPDX-License-Identifier: Apache-2.0
#include <zonealloc/shared_zone.h>

#include <algorithm>
#include <cstring>

#include <zonealloc/internal/checks.h>

namespace zonealloc {
namespace {

// Copies `n` 32-bit words between a block and an array, a word at a time: a
// fixed-size memcpy compiles to one move, where a variable-size one is a
// call into libc that costs more than these short lists.
void CopyWords(const uint32_t* from, char* to, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) std::memcpy(to + i * sizeof(uint32_t), &from[i], sizeof(uint32_t));
}
void CopyWords(const char* from, uint32_t* to, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) std::memcpy(&to[i], from + i * sizeof(uint32_t), sizeof(uint32_t));
}

}  // namespace

SharedZone::SharedZone(const internal::BlockRegion& region, uint32_t batch_blocks,
                       bool use_batches)
    : region_(region),
      batch_blocks_(batch_blocks),
      node_entries_(static_cast<uint32_t>(region.block_size() / sizeof(uint32_t) - 1)),
      use_batches_(use_batches),
      free_list_(region.links()),
      batches_(region.links()) {}

uint32_t SharedZone::PopBatch(void** out) {
  const uint32_t head = batches_.Pop();
  return head == kNoIndex ? 0 : ReadBatch(head, out);
}

uint32_t SharedZone::Take(void** out, uint32_t max, bool* refilled_empty) {
  uint32_t n = 0;
  while (use_batches_ && max - n >= batch_blocks_) {
    const uint32_t taken = PopBatch(out + n);
    if (taken == 0) break;
    n += taken;
  }
  while (n < max) {
    const uint32_t index = free_list_.Pop();
    if (index == kNoIndex) break;
    out[n++] = region_.BlockAt(index);
  }
  if (use_batches_ && n < max) {  // still short: break up a batch
    void* batch[kMaxBatchBlocks];
    const uint32_t taken = PopBatch(batch);
    const uint32_t used = std::min(taken, max - n);
    std::copy(batch, batch + used, out + n);
    n += used;
    *refilled_empty = Push(batch + used, taken - used);
  }
  if (n > 0) CountOut(n);
  return n;
}

bool SharedZone::Put(void* const* blocks, size_t n) {
  if (n == 0) return false;
  CountOut(-static_cast<int64_t>(n));
  return Push(blocks, n);
}

bool SharedZone::AddFresh(void* const* blocks, size_t n) { return Push(blocks, n); }

bool SharedZone::Push(void* const* blocks, size_t n) {
  std::atomic<uint32_t>* links = region_.links();
  bool was_empty = false;
  for (size_t start = 0; start < n; start += batch_blocks_) {
    const size_t count = std::min<size_t>(batch_blocks_, n - start);
    const uint32_t first = region_.IndexOf(blocks[start]);
    if (use_batches_ && count == batch_blocks_) {
      WriteBatch(blocks + start);
      was_empty |= batches_.Push(first);
      continue;
    }
    uint32_t previous = first;
    for (size_t k = 1; k < count; ++k) {
      const uint32_t index = region_.IndexOf(blocks[start + k]);
      // relaxed: published by the release CAS of the push below.
      links[previous].store(index, std::memory_order_relaxed);
      previous = index;
    }
    was_empty |= free_list_.PushChain(first, previous);
  }
  return was_empty;
}

// A batch lists its blocks inside some of them: a few "node" blocks, each
// holding [next node's index][up to node_entries_ indices], then the next
// node. Reading a batch then misses on one cache line per node instead of
// one per block (a chain through the links would), which matters because
// the reader usually runs on another CPU than the writer. The blocks are
// free and the shared zone's, so writing into them races with nothing; the
// push's release and the pop's acquire order the contents. Blocks on the
// stacks are free for a memory checker (ASan: poisoned; memcheck: no access;
// the caller marks them before Put()), so the writer and the reader open a
// node around their access only (internal/memcheck_hooks.h).
void SharedZone::WriteBatch(void* const* batch) {
  uint32_t words[kMaxBatchBlocks + 1];
  void* node = batch[0];
  uint32_t placed = 1;
  while (true) {
    const uint32_t entries = std::min(node_entries_, batch_blocks_ - placed);
    for (uint32_t k = 0; k < entries; ++k) words[1 + k] = region_.IndexOf(batch[placed + k]);
    placed += entries;
    void* next = placed < batch_blocks_ ? batch[placed++] : nullptr;
    words[0] = next != nullptr ? region_.IndexOf(next) : kNoIndex;
    internal::UnpoisonBlock(node, region_.block_size());
    CopyWords(words, static_cast<char*>(node), 1 + entries);
    internal::PoisonFreeBlock(node, region_.block_size());
    if (next == nullptr) return;
    node = next;
  }
}

uint32_t SharedZone::ReadBatch(uint32_t head, void** out) const {
  uint32_t words[kMaxBatchBlocks + 1];
  uint32_t n = 0;
  for (uint32_t node = head; node != kNoIndex; node = words[0]) {
    out[n++] = region_.BlockAt(node);
    const uint32_t entries = std::min(node_entries_, batch_blocks_ - n);
    const void* block = region_.BlockAt(node);
    internal::UnpoisonBlock(block, region_.block_size());
    CopyWords(static_cast<const char*>(block), words, 1 + entries);
    internal::PoisonFreeBlock(block, region_.block_size());
    for (uint32_t k = 0; k < entries; ++k) out[n++] = region_.BlockAt(words[1 + k]);
  }
  return n;
}

}  // namespace zonealloc
