// SPDX-License-Identifier: Apache-2.0
#include "io_buffer.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace kvserver {

IoBuffer::IoBuffer(MemorySource& memory) : memory_(memory) { ResetToChunk(); }

IoBuffer::~IoBuffer() { Release(); }

void IoBuffer::Release() {
  if (data_ == nullptr) return;
  if (storage_ == Storage::kZoneChunk) {
    memory_.Free(FixedKind::kIoBuffer, data_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
  capacity_ = 0;
}

void IoBuffer::ResetToChunk() {
  Release();
  begin_ = end_ = 0;
  capacity_ = kChunkBytes;
  data_ = static_cast<char*>(memory_.Allocate(FixedKind::kIoBuffer));
  storage_ = Storage::kZoneChunk;
  if (data_ != nullptr) return;
  data_ = static_cast<char*>(std::malloc(kChunkBytes));
  storage_ = Storage::kMalloc;
  if (data_ == nullptr) throw std::bad_alloc();
}

void IoBuffer::MakeRoom(size_t n) {
  const size_t used = end_ - begin_;
  if (capacity_ - used >= n) {
    // Moving the unconsumed bytes to the front makes room: no growth.
    std::memmove(data_, data_ + begin_, used);
    begin_ = 0;
    end_ = used;
    return;
  }
  const size_t new_capacity = std::max(capacity_ * 2, used + n);
  char* bigger = static_cast<char*>(std::malloc(new_capacity));
  if (bigger == nullptr) throw std::bad_alloc();
  std::memcpy(bigger, data_ + begin_, used);
  Release();
  data_ = bigger;
  capacity_ = new_capacity;
  storage_ = Storage::kMalloc;
  begin_ = 0;
  end_ = used;
}

}  // namespace kvserver
