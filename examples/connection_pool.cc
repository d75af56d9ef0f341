// SPDX-License-Identifier: Apache-2.0
// A server's connection pool on a zone: one ZoneService for the server's
// zones (its own permanent-memory budget), one zone of Connection blocks,
// placement new and an explicit destructor around Allocate() and Free(),
// and the service's slabinfo-like dump at the end.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>
#include <vector>

#include "absl/status/status.h"
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

struct Connection {
  explicit Connection(int fd) : fd(fd) {}
  int fd;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  char peer[48] = {};
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "connection_pool: %s\n", status.ToString().c_str());
  return 1;
}

int main() {
  // A service of our own: its budget bounds every permanent extension.
  auto service =
      zonealloc::ZoneService::Create({.name = "server", .permanent_budget_bytes = 16 << 20});
  if (!service.ok()) return Fail(service.status());
  // The name tags the zone's overflow slabs ("zonealloc-overflow:conn").
  // Declared after the service, so destroyed before it, as it must be.
  auto zone = (*service)->CreateZone(
      {.name = "conn", .block_size = sizeof(Connection), .initial_blocks = 64});
  if (!zone.ok()) return Fail(zone.status());

  std::vector<Connection*> open;
  int seen_full = 0;
  for (int fd = 3; fd < 3 + 100; ++fd) {  // more than the 64 permanent blocks
    // ExIsFullZone before allocating: a full zone serves the next block from
    // temporary overflow, or extends once the guidelines' rule holds.
    if ((*zone)->IsFull()) ++seen_full;
    void* block = (*zone)->Allocate();
    if (block == nullptr) return Fail(absl::ResourceExhaustedError("no block for a connection"));
    open.push_back(new (block) Connection(fd));
  }
  for (Connection* conn : open) {  // any thread may close any connection
    conn->~Connection();
    (*zone)->Free(conn);
  }

  // With CPU caches the peak is sampled, so approximate (see zone_stats.h).
  const zonealloc::ZoneStats stats = (*zone)->Stats();
  std::printf("full %d times; in use %zu, peak %zu, overflow allocations %zu, extensions %zu\n",
              seen_full, stats.in_use_blocks, stats.peak_in_use_blocks,
              stats.overflow_allocations, stats.extensions);
  std::printf("%s", (*service)->DumpText().c_str());
  return 0;
}
