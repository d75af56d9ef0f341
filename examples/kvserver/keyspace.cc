// SPDX-License-Identifier: Apache-2.0
#include "keyspace.h"

#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/hash/hash.h"
#include "absl/strings/numbers.h"
#include "resp_parser.h"

namespace kvserver {
namespace {

constexpr size_t kInitialBuckets = 16;

bool Expired(const Keyspace::Node& node, int64_t now_ms) { return node.expire_at_ms <= now_ms; }

}  // namespace

uint64_t Keyspace::Hash(std::string_view key) { return absl::Hash<std::string_view>{}(key); }

char* Keyspace::NewPayload(std::string_view key, std::string_view value) {
  char* payload = static_cast<char*>(memory_.AllocatePayload(key.size() + value.size()));
  if (payload == nullptr) return nullptr;
  std::memcpy(payload, key.data(), key.size());
  if (!value.empty()) std::memcpy(payload + key.size(), value.data(), value.size());
  return payload;
}

void Keyspace::FreeNode(Node* node) {
  memory_.FreePayload(node->payload, size_t{node->key_bytes} + node->value_bytes);
  memory_.Free(FixedKind::kNode, node);
}

Keyspace::Node** Keyspace::FindLocked(Stripe& s, std::string_view key, uint64_t hash,
                                      int64_t now_ms) {
  if (s.bucket_count == 0) return nullptr;
  Node** link = &s.buckets[hash & (s.bucket_count - 1)];
  while (*link != nullptr) {
    Node* node = *link;
    if (node->hash == hash && node->key() == key) {
      if (!Expired(*node, now_ms)) return link;
      UnlinkLocked(s, link);  // lazy expiry
      return link;            // now the link past it: not found
    }
    link = &node->next;
  }
  return link;
}

void Keyspace::UnlinkLocked(Stripe& s, Node** link) {
  Node* node = *link;
  *link = node->next;
  --s.size;
  FreeNode(node);
}

bool Keyspace::InsertLocked(Stripe& s, uint64_t hash, char* payload, size_t key_bytes,
                            size_t value_bytes, int64_t expire_at_ms) {
  Node* node = static_cast<Node*>(memory_.Allocate(FixedKind::kNode));
  if (node == nullptr) return false;
  Node*& head = s.buckets[hash & (s.bucket_count - 1)];
  *node = Node{.next = head,
               .hash = hash,
               .expire_at_ms = expire_at_ms,
               .payload = payload,
               .key_bytes = static_cast<uint32_t>(key_bytes),
               .value_bytes = static_cast<uint32_t>(value_bytes)};
  head = node;
  ++s.size;
  return true;
}

bool Keyspace::GrowIfNeededLocked(Stripe& s) {
  if (s.size < s.bucket_count) return true;
  const size_t count = s.bucket_count == 0 ? kInitialBuckets : s.bucket_count * 2;
  Node** buckets = static_cast<Node**>(std::calloc(count, sizeof(Node*)));
  if (buckets == nullptr) return s.bucket_count != 0;  // a longer chain, still correct
  for (size_t i = 0; i < s.bucket_count; ++i) {
    for (Node* node = s.buckets[i]; node != nullptr;) {
      Node* next = node->next;
      Node*& head = buckets[node->hash & (count - 1)];
      node->next = head;
      head = node;
      node = next;
    }
  }
  std::free(s.buckets);
  s.buckets = buckets;
  s.bucket_count = count;
  return true;
}

Keyspace::Result Keyspace::Set(std::string_view key, std::string_view value, int64_t expire_at_ms,
                               int64_t now_ms) {
  // The payload is built before taking the lock: the copy is the long part.
  char* payload = NewPayload(key, value);
  if (payload == nullptr) return Result::kOutOfMemory;
  const uint64_t hash = Hash(key);
  Stripe& s = StripeFor(hash);
  Node old{};
  Result result;
  {
    StripeLock lock(&s.mu);
    if (!GrowIfNeededLocked(s)) {
      memory_.FreePayload(payload, key.size() + value.size());
      return Result::kOutOfMemory;
    }
    Node** link = FindLocked(s, key, hash, now_ms);
    result = StoreLocked(s, *link, hash, key.size(), payload, value.size(), expire_at_ms, &old);
  }
  if (old.payload != nullptr) memory_.FreePayload(old.payload, size_t{old.key_bytes} + old.value_bytes);
  return result;
}

Keyspace::Result Keyspace::StoreLocked(Stripe& s, Node* node, uint64_t hash, size_t key_bytes,
                                       char* payload, size_t value_bytes,
                                       std::optional<int64_t> expire_at_ms, Node* old) {
  if (node == nullptr) {
    if (InsertLocked(s, hash, payload, key_bytes, value_bytes, expire_at_ms.value_or(kNoExpiry))) {
      return Result::kOk;
    }
    memory_.FreePayload(payload, key_bytes + value_bytes);
    return Result::kOutOfMemory;
  }
  *old = *node;
  node->payload = payload;
  node->value_bytes = static_cast<uint32_t>(value_bytes);
  if (expire_at_ms.has_value()) node->expire_at_ms = *expire_at_ms;
  return Result::kOk;
}

bool Keyspace::Read(std::string_view key, int64_t now_ms,
                    absl::FunctionRef<void(std::string_view)> read) {
  const uint64_t hash = Hash(key);
  Stripe& s = StripeFor(hash);
  StripeLock lock(&s.mu);
  Node** link = FindLocked(s, key, hash, now_ms);
  if (link == nullptr || *link == nullptr) return false;
  read((*link)->value());
  return true;
}

bool Keyspace::Delete(std::string_view key, int64_t now_ms) {
  const uint64_t hash = Hash(key);
  Stripe& s = StripeFor(hash);
  StripeLock lock(&s.mu);
  Node** link = FindLocked(s, key, hash, now_ms);
  if (link == nullptr || *link == nullptr) return false;
  UnlinkLocked(s, link);
  return true;
}

bool Keyspace::Exists(std::string_view key, int64_t now_ms) {
  const uint64_t hash = Hash(key);
  Stripe& s = StripeFor(hash);
  StripeLock lock(&s.mu);
  Node** link = FindLocked(s, key, hash, now_ms);
  return link != nullptr && *link != nullptr;
}

Keyspace::Result Keyspace::Incr(std::string_view key, int64_t now_ms, int64_t* value) {
  const uint64_t hash = Hash(key);
  Stripe& s = StripeFor(hash);
  Node old{};
  Result result;
  {
    StripeLock lock(&s.mu);
    if (!GrowIfNeededLocked(s)) return Result::kOutOfMemory;
    Node** link = FindLocked(s, key, hash, now_ms);
    Node* node = *link;
    int64_t current = 0;
    if (node != nullptr) {
      const std::optional<int64_t> parsed = ParseInt64(node->value());
      if (!parsed.has_value()) return Result::kNotInteger;
      current = *parsed;
    }
    if (current == std::numeric_limits<int64_t>::max()) return Result::kOverflow;
    *value = current + 1;
    char digits[absl::numbers_internal::kFastToBufferSize];
    const char* end = absl::numbers_internal::FastIntToBuffer(*value, digits);
    const std::string_view text(digits, static_cast<size_t>(end - digits));
    char* payload = NewPayload(key, text);
    if (payload == nullptr) return Result::kOutOfMemory;
    // INCR keeps the key's expiry, as Redis does.
    result = StoreLocked(s, node, hash, key.size(), payload, text.size(), std::nullopt, &old);
  }
  if (old.payload != nullptr) memory_.FreePayload(old.payload, size_t{old.key_bytes} + old.value_bytes);
  return result;
}

void Keyspace::FlushAll() {
  for (Stripe& s : stripes_) {
    StripeLock lock(&s.mu);
    for (size_t i = 0; i < s.bucket_count; ++i) {
      for (Node* node = s.buckets[i]; node != nullptr;) {
        Node* next = node->next;
        FreeNode(node);
        node = next;
      }
    }
    std::free(s.buckets);
    s.buckets = nullptr;
    s.bucket_count = 0;
    s.size = 0;
  }
}

size_t Keyspace::Size() const {
  size_t size = 0;
  for (const Stripe& s : stripes_) {
    StripeLock lock(&s.mu);
    size += s.size;
  }
  return size;
}

}  // namespace kvserver
