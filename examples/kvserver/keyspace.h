// SPDX-License-Identifier: Apache-2.0
// Keyspace is the server's one database: string keys to string values,
// shared by every connection on every thread.
//
// Why lock striping: connections land on any event loop, and a key set on
// one must be read on all. The table is split into kStripes independent
// chained hash tables, each behind its own mutex and picked by the key's
// hash, so threads contend only when they touch the same stripe at once
// (StripeMutex: a std::mutex, see there).
// Nothing else is shared: the entry count is per stripe.
//
// Memory: each entry is one Node (a fixed-size block, FixedKind::kNode) and
// one payload block holding key and value bytes side by side (a payload
// class, or malloc above the largest). Bucket arrays are malloc'd: they
// are few and of varying size.
//
// Expiry is lazy: a key past its deadline is deleted when a command touches
// it (GET, SET, EXISTS, DEL, INCR, MGET). Nothing scans for expired keys, so
// DBSIZE counts expired keys no command has touched yet, and their memory
// stays in use until then or FLUSHALL.
//
// Lock order: one stripe's mutex at a time; MemorySource's zones take their
// own locks below it (zone.h, "Lock order").

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_KEYSPACE_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_KEYSPACE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "memory_source.h"
#include "stripe_mutex.h"

namespace kvserver {

// No deadline (Keyspace::Set's expire_at_ms).
inline constexpr int64_t kNoExpiry = INT64_MAX;

class Keyspace {
 public:
  static constexpr size_t kStripes = 256;

  // One entry; its payload holds the key then the value.
  struct Node {
    Node* next;
    uint64_t hash;
    int64_t expire_at_ms;  // kNoExpiry: none
    char* payload;
    uint32_t key_bytes;
    uint32_t value_bytes;
    std::string_view key() const { return {payload, key_bytes}; }
    std::string_view value() const { return {payload + key_bytes, value_bytes}; }
  };

  enum class Result { kOk, kOutOfMemory, kNotInteger, kOverflow };

  explicit Keyspace(MemorySource& memory) : memory_(memory) {}
  ~Keyspace() { FlushAll(); }  // frees every node, payload and bucket array
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  // Sets key to value with the deadline (kNoExpiry for none). kOutOfMemory
  // when a zone is past its caps; the old value, if any, is kept then.
  Result Set(std::string_view key, std::string_view value, int64_t expire_at_ms, int64_t now_ms);

  // Calls read(value) under the stripe's lock if key is live; false if not.
  bool Read(std::string_view key, int64_t now_ms, absl::FunctionRef<void(std::string_view)> read);

  bool Delete(std::string_view key, int64_t now_ms);
  bool Exists(std::string_view key, int64_t now_ms);

  // Adds 1 to the integer value of key (0 if absent) and stores the result
  // in *value; keeps the key's deadline as Redis does.
  Result Incr(std::string_view key, int64_t now_ms, int64_t* value);

  void FlushAll();
  // Entries, expired ones no command has touched included (see above).
  size_t Size() const;

 private:
  struct alignas(64) Stripe {
    mutable StripeMutex mu;
    Node** buckets ABSL_GUARDED_BY(mu) = nullptr;
    size_t bucket_count ABSL_GUARDED_BY(mu) = 0;  // a power of two, or 0
    size_t size ABSL_GUARDED_BY(mu) = 0;
  };

  static uint64_t Hash(std::string_view key);
  Stripe& StripeFor(uint64_t hash) { return stripes_[hash >> 56 & (kStripes - 1)]; }

  // The link that points at key's live node, or at the chain's end (nullptr)
  // when there is none. An expired node met on the way is deleted.
  Node** FindLocked(Stripe& s, std::string_view key, uint64_t hash, int64_t now_ms)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  // A new node at the head of hash's chain; false (nothing changed) when
  // the node zone is past its caps.
  // REQUIRES: s.bucket_count > 0 (GrowIfNeededLocked succeeded).
  bool InsertLocked(Stripe& s, uint64_t hash, char* payload, size_t key_bytes, size_t value_bytes,
                    int64_t expire_at_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  // Puts `payload` (key then a value of value_bytes) in `node`, or in a new
  // node when node is nullptr; a new expiry only when expire_at_ms is set.
  // The payload it replaces goes to *old (nullptr if none) for the caller to
  // free after the lock. kOutOfMemory, with payload freed, when no node.
  // REQUIRES: s.bucket_count > 0 (GrowIfNeededLocked succeeded).
  Result StoreLocked(Stripe& s, Node* node, uint64_t hash, size_t key_bytes, char* payload,
                     size_t value_bytes, std::optional<int64_t> expire_at_ms, Node* old)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  void UnlinkLocked(Stripe& s, Node** link) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  // False if the bucket array could not grow (it then stays as it is).
  bool GrowIfNeededLocked(Stripe& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu);
  // A payload block holding key then value, or nullptr.
  char* NewPayload(std::string_view key, std::string_view value);
  void FreeNode(Node* node);

  MemorySource& memory_;
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_KEYSPACE_H_
