// SPDX-License-Identifier: Apache-2.0
// Metrics for a scraper: a zone does some work, and the service's figures
// are printed in the Prometheus text format, as a /metrics handler would
// serve them (ToJson() gives the same figures as JSON).

#include <cstdio>
#include <vector>

#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

int main() {
  auto service = zonealloc::ZoneService::Create({.name = "server", .permanent_budget_bytes = 1 << 20});
  if (!service.ok()) return std::fprintf(stderr, "%s\n", service.status().ToString().c_str()), 1;
  // Small on purpose: 64 requests outgrow 16 blocks, so the zone overflows
  // and extends, and the metrics show it.
  auto zone = (*service)->CreateZone({.name = "request", .block_size = 256, .initial_blocks = 16});
  if (!zone.ok()) return std::fprintf(stderr, "%s\n", zone.status().ToString().c_str()), 1;

  std::vector<void*> requests;
  for (int i = 0; i < 64; ++i) {
    void* request = (*zone)->Allocate();
    if (request == nullptr) {
      std::fprintf(stderr, "Allocate() #%d: nullptr\n", i);
      return 1;
    }
    requests.push_back(request);
  }
  // The metrics below are worth reading only if the zone did both.
  const zonealloc::ZoneStats stats = (*zone)->Stats();
  if (stats.overflow_allocations == 0 || stats.extensions == 0) {
    std::fprintf(stderr,
                 "expected overflow and extension, got %zu overflow allocations and %zu "
                 "extensions\n",
                 stats.overflow_allocations, stats.extensions);
    return 1;
  }
  for (int i = 0; i < 32; ++i) (*zone)->Free(requests[i]);

  // Counters end in _total; every series has service="server" and zone="request".
  std::fputs((*service)->ToPrometheusText().c_str(), stdout);

  for (int i = 32; i < 64; ++i) (*zone)->Free(requests[i]);
  return 0;
}
