// SPDX-License-Identifier: Apache-2.0
// IoBuffer is a connection's read or write buffer: bytes appended at the
// tail and consumed from the head.
//
// It starts as one chunk of kChunkBytes from the MemorySource's I/O-buffer
// zone (the common case: requests and replies of a few hundred bytes,
// pipelined). A request or reply that does not fit grows it into a malloc
// block of twice the size, until it is empty again, when it shrinks back to a
// zone chunk (ShrinkIfEmpty). When the zone is past its caps, the chunk
// comes from malloc instead: a buffer never fails to exist.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_IO_BUFFER_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_IO_BUFFER_H_

#include <cstddef>
#include <cstring>
#include <string_view>

#include "memory_source.h"

namespace kvserver {

class IoBuffer {
 public:
  static constexpr size_t kChunkBytes = 16 * 1024;

  explicit IoBuffer(MemorySource& memory);
  ~IoBuffer();
  IoBuffer(const IoBuffer&) = delete;
  IoBuffer& operator=(const IoBuffer&) = delete;

  // The bytes not yet consumed.
  std::string_view readable() const { return {data_ + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  size_t capacity() const { return capacity_; }
  void Consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  // Room for at least `n` more bytes at the tail (compacting or growing);
  // write them, then Commit() how many were written.
  char* PrepareAppend(size_t n) {
    if (capacity_ - end_ < n) MakeRoom(n);
    return data_ + end_;
  }
  size_t tail_room() const { return capacity_ - end_; }
  void Commit(size_t n) { end_ += n; }

  void Append(std::string_view bytes) {
    std::memcpy(PrepareAppend(bytes.size()), bytes.data(), bytes.size());
    end_ += bytes.size();
  }

  // An empty buffer that grew past one chunk goes back to a zone chunk.
  void ShrinkIfEmpty() {
    if (empty() && capacity_ > kChunkBytes) ResetToChunk();
  }

 private:
  // Where data_ came from, so the destructor frees it the right way.
  enum class Storage { kZoneChunk, kMalloc };

  void MakeRoom(size_t n);
  void ResetToChunk();
  void Release();

  MemorySource& memory_;
  char* data_ = nullptr;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
  Storage storage_ = Storage::kMalloc;
};

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_IO_BUFFER_H_
