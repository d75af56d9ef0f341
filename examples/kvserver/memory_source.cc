// SPDX-License-Identifier: Apache-2.0
#include "memory_source.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kvserver {
namespace {

// Initial zone sizes in blocks: small, so an idle server stays small (a
// zone's initial segment costs address space and the pages it touches).
// Each extension adds
// half the zone (ZoneOptions::extension_growth_percent), so a benchmark's
// 100,000 keys take about ten extensions; zones extend within the service
// budget.
constexpr std::array<size_t, kFixedKinds> kFixedInitialBlocks = {
    64,    // kv.connection
    128,   // kv.io_buffer: 16 KiB blocks, 2 MiB in all
    4096,  // kv.node
};
constexpr size_t kPayloadInitialBlocks = 1024;
constexpr std::array<const char*, kFixedKinds> kFixedNames = {"kv.connection", "kv.io_buffer",
                                                              "kv.node"};

}  // namespace

absl::StatusOr<Backend> ParseBackend(std::string_view text) {
  if (text == "zone") return Backend::kZone;
  if (text == "malloc") return Backend::kMalloc;
  return absl::InvalidArgumentError(
      absl::StrCat("--allocator must be 'zone' or 'malloc', got '", std::string(text), "'"));
}

std::string_view BackendName(Backend backend) {
  return backend == Backend::kZone ? "zone" : "malloc";
}

absl::StatusOr<std::unique_ptr<MemorySource>> MemorySource::Create(Backend backend,
                                                                   const Sizes& sizes) {
  std::unique_ptr<MemorySource> source(new MemorySource(backend, sizes));
  if (backend == Backend::kMalloc) return source;
  absl::StatusOr<std::unique_ptr<zonealloc::ZoneService>> service =
      zonealloc::ZoneService::Create({.name = "kvserver"});
  if (!service.ok()) return service.status();
  source->service_ = *std::move(service);
  for (size_t i = 0; i < source->zones_.size(); ++i) {
    zonealloc::ZoneOptions options;
    if (i < kFixedKinds) {
      options.name = kFixedNames[i];
      options.block_size = sizes.fixed_bytes[i];
      options.initial_blocks = kFixedInitialBlocks[i];
    } else {
      const size_t bytes = kPayloadClasses[i - kFixedKinds];
      options.name = absl::StrCat("kv.payload", bytes);
      options.block_size = bytes;
      options.initial_blocks = kPayloadInitialBlocks;
    }
    absl::StatusOr<std::unique_ptr<zonealloc::Zone>> zone = source->service_->CreateZone(options);
    if (!zone.ok()) return zone.status();
    source->zones_[i] = *std::move(zone);
  }
  return source;
}

MemorySource::~MemorySource() {
  for (std::unique_ptr<zonealloc::Zone>& zone : zones_) zone.reset();
  service_.reset();
}

std::string MemorySource::DumpText() const {
  if (backend_ == Backend::kMalloc) return "# kvserver: --allocator=malloc, no zones\n";
  return service_->DumpText();
}

size_t MemorySource::InUseBlocks() const {
  size_t in_use = 0;
  for (const std::unique_ptr<zonealloc::Zone>& zone : zones_) {
    if (zone != nullptr) in_use += zone->Stats().in_use_blocks;
  }
  return in_use;
}

}  // namespace kvserver
