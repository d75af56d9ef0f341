// SPDX-License-Identifier: Apache-2.0
#include "bench/rss.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <span>
#include <utility>

#include "absl/time/clock.h"

namespace zonealloc::bench {
namespace {

// The text of `path`, read into `buffer` (cut short if longer); nullopt when
// it cannot be opened or read. No allocation: the sampler calls this every
// few milliseconds inside the process being measured.
std::optional<std::string_view> ReadProcFile(const char* path, std::span<char> buffer) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  size_t size = 0;
  while (size < buffer.size()) {
    const ssize_t n = read(fd, buffer.data() + size, buffer.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  close(fd);
  return std::string_view(buffer.data(), size);
}

// The number at the start of `text`, after blanks; moves `text` past it.
std::optional<uint64_t> ConsumeNumber(std::string_view& text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc()) return std::nullopt;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return value;
}

}  // namespace

namespace internal {

std::optional<uint64_t> ResidentBytesFromStatm(std::string_view statm, uint64_t page_size) {
  // "size resident shared text lib data dt", in pages.
  if (!ConsumeNumber(statm).has_value()) return std::nullopt;
  const std::optional<uint64_t> resident_pages = ConsumeNumber(statm);
  if (!resident_pages.has_value()) return std::nullopt;
  return *resident_pages * page_size;
}

std::optional<uint64_t> PeakBytesFromStatus(std::string_view status) {
  while (!status.empty()) {
    const size_t newline = status.find('\n');
    std::string_view line = status.substr(0, newline);
    status = newline == std::string_view::npos ? "" : status.substr(newline + 1);
    if (!line.starts_with("VmHWM:")) continue;
    line.remove_prefix(std::string_view("VmHWM:").size());
    const std::optional<uint64_t> kib = ConsumeNumber(line);
    if (!kib.has_value() || line != " kB") return std::nullopt;
    return *kib * 1024;
  }
  return std::nullopt;
}

}  // namespace internal

std::optional<uint64_t> ReadCurrentRssBytes() {
  char buffer[256];
  const std::optional<std::string_view> statm = ReadProcFile("/proc/self/statm", buffer);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (!statm.has_value() || page_size <= 0) return std::nullopt;
  return internal::ResidentBytesFromStatm(*statm, static_cast<uint64_t>(page_size));
}

std::optional<uint64_t> ReadPeakRssBytes() {
  // VmHWM is among the first 20 lines; a longer file is cut short.
  char buffer[8192];
  const std::optional<std::string_view> status = ReadProcFile("/proc/self/status", buffer);
  if (!status.has_value()) return std::nullopt;
  return internal::PeakBytesFromStatus(*status);
}

void ZoneCounters::Add(const ZoneCounters& other) {
  capacity_blocks += other.capacity_blocks;
  overflow_blocks_in_use += other.overflow_blocks_in_use;
  overflow_allocations += other.overflow_allocations;
  overflow_slabs_live += other.overflow_slabs_live;
  extensions += other.extensions;
  slow_path_entries += other.slow_path_entries;
  cache_drains += other.cache_drains;
}

RssSampler::RssSampler(absl::Duration interval, ZoneProbe probe)
    : start_(absl::Now()), probe_(std::move(probe)) {
  samples_.reserve(4096);
  AddSample();
  thread_ = std::thread([this, interval] { Loop(interval); });
}

RssSampler::~RssSampler() {
  if (thread_.joinable()) Stop();
}

void RssSampler::Loop(absl::Duration interval) {
  // relaxed: a stop request only; join() publishes the samples.
  while (!stop_.load(std::memory_order_relaxed)) {
    absl::SleepFor(interval);
    AddSample();
  }
}

std::vector<RssSample> RssSampler::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  thread_.join();
  AddSample();
  return std::move(samples_);
}

std::optional<RssSample> RssSampler::Sample() const {
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - start_);
  const std::optional<uint64_t> bytes = ReadCurrentRssBytes();
  if (!bytes.has_value()) return std::nullopt;
  return RssSample{.ms = ms, .bytes = *bytes, .zone = probe_ ? probe_() : std::nullopt};
}

void RssSampler::AddSample() {
  if (std::optional<RssSample> sample = Sample(); sample.has_value()) {
    samples_.push_back(*std::move(sample));
  }
}

}  // namespace zonealloc::bench
