// SPDX-License-Identifier: Apache-2.0
// zonealloc_bench_worker runs one scenario against one allocator, prints one
// result line (see run_record.h) and, with --json_out, writes the run as
// JSON. The driver (zonealloc_bench) runs it once per cell and repetition,
// under LD_PRELOAD for the malloc peers: one process per run keeps each
// malloc alone in its process and each run's RSS its own.
//
//   zonealloc_bench_worker --allocator=zone --scenario=larson --threads=4
//   LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 zonealloc_bench_worker
//       --allocator=malloc --scenario=pair
//
// Exit status: 0 when the run passed its self-check, 1 when it did not (the
// line says why), 2 for bad flags or an allocator that cannot be created.

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/allocator_under_test.h"
#include "bench/json_writer.h"
#include "bench/rss.h"
#include "bench/run_record.h"
#include "bench/scenarios.h"

ABSL_FLAG(std::string, allocator, "zone",
          "zone, zone_fallback, zone_nocache, zone_debug, unsync, malloc, tbb_pool, pmr_sync or "
          "pmr_unsync");
ABSL_FLAG(std::string, scenario, "pair", "pair, batch, prodcons, larson, burst, fill or server");
ABSL_FLAG(int, threads, 1, "threads (prodcons: threads/2 producer-consumer pairs, at least one)");
ABSL_FLAG(int64_t, block_size, 64, "bytes per block (server uses 64, 256 and 1024)");
ABSL_FLAG(int64_t, duration_ms, 250, "run for this long (ignored with --ops)");
ABSL_FLAG(int64_t, ops, 0, "if > 0, run about this many allocate+free ops in total instead");
ABSL_FLAG(uint64_t, seed, 42, "seed of the scenario's random choices");
ABSL_FLAG(bool, pin_threads, true,
          "pin thread i to the i-th allowed CPU, round-robin (prodcons: each consumer on the CPU "
          "after its producer's); false: the kernel places the threads");
ABSL_FLAG(int64_t, batch_blocks, 4096, "batch: blocks per batch per thread");
ABSL_FLAG(int64_t, larson_slots, 1024, "larson: slots per array");
ABSL_FLAG(int64_t, burst_blocks, 32768, "burst: blocks per thread per burst");
ABSL_FLAG(int64_t, burst_idle_ms, 25, "burst: idle time after each burst");
ABSL_FLAG(int64_t, fill_blocks, 1 << 20, "fill: blocks per thread per round");
ABSL_FLAG(int64_t, server_requests, 256, "server: requests in flight per thread");
ABSL_FLAG(std::string, json_out, "", "write the run as JSON to this file");
ABSL_FLAG(std::string, rss_out, "", "write RSS over time (ms, MiB) to this file, if sampled");
ABSL_FLAG(bool, print_timeline, false,
          "burst: after the result line, print RSS and the zone's capacity, overflow and "
          "extensions over time");

namespace zonealloc::bench {
namespace {

ScenarioConfig ConfigFromFlags() {
  return {.threads = absl::GetFlag(FLAGS_threads),
          .block_size = static_cast<size_t>(absl::GetFlag(FLAGS_block_size)),
          .duration = absl::Milliseconds(absl::GetFlag(FLAGS_duration_ms)),
          .ops = absl::GetFlag(FLAGS_ops),
          .seed = absl::GetFlag(FLAGS_seed),
          .pin_threads = absl::GetFlag(FLAGS_pin_threads),
          .batch_blocks = static_cast<size_t>(absl::GetFlag(FLAGS_batch_blocks)),
          .larson_slots = static_cast<size_t>(absl::GetFlag(FLAGS_larson_slots)),
          .burst_blocks = static_cast<size_t>(absl::GetFlag(FLAGS_burst_blocks)),
          .burst_idle = absl::Milliseconds(absl::GetFlag(FLAGS_burst_idle_ms)),
          .fill_blocks = static_cast<size_t>(absl::GetFlag(FLAGS_fill_blocks)),
          .server_requests = static_cast<size_t>(absl::GetFlag(FLAGS_server_requests))};
}

// The shared object that `malloc` resolves to in this process: libc, or the
// LD_PRELOADed library. The driver checks it, so a peer whose preload did
// not take cannot pass for that peer.
std::string MallocLibrary() {
  void* (*malloc_function)(size_t) = &std::malloc;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(malloc_function), &info) == 0 || info.dli_fname == nullptr) {
    return "unknown";
  }
  return info.dli_fname;
}

RunRecord MakeRecord(const Scenario& scenario, const ScenarioConfig& config,
                     const ScenarioResult& result, std::string_view allocator) {
  RunRecord record;
  record.scenario = std::string(scenario.name);
  record.allocator = std::string(allocator);
  record.threads = config.threads;
  record.threads_used = result.threads_used;
  record.block_size = scenario.uses_block_size ? config.block_size : 0;
  record.ops = result.ops;
  record.allocations = result.tally.allocations;
  record.seconds = absl::ToDoubleSeconds(result.timed);
  record.mops = result.mops();
  record.p50_ns = result.latency.p50_ns;
  record.p99_ns = result.latency.p99_ns;
  record.p999_ns = result.latency.p999_ns;
  record.latency_samples = static_cast<int64_t>(result.latency.samples);
  const std::optional<uint64_t> peak_rss = ReadPeakRssBytes();
  const std::optional<uint64_t> final_rss = ReadCurrentRssBytes();
  record.peak_rss_bytes = peak_rss.value_or(0);
  record.final_rss_bytes = final_rss.value_or(0);
  record.malloc_library = MallocLibrary();
  if (result.zone_counters.has_value()) {
    record.zone_events =
        ZoneEvents{.slow_path_entries = result.zone_counters->slow_path_entries,
                   .cache_drains = result.zone_counters->cache_drains,
                   .overflow_allocations = result.zone_counters->overflow_allocations,
                   .extensions = result.zone_counters->extensions};
  }
  record.ok = result.check_error.empty();
  record.detail = result.check_error;
  if (!peak_rss.has_value() || !final_rss.has_value()) {
    record.ok = false;  // no 0 MiB figure for a run whose RSS is unknown
    record.detail = absl::StrCat(record.detail, record.detail.empty() ? "" : "; ",
                                 "cannot read RSS from /proc/self");
  }
  return record;
}

std::string RecordJson(const RunRecord& record, const ScenarioConfig& config,
                       const ScenarioResult& result) {
  JsonWriter json;
  json.BeginObject();
  json.Key("scenario").String(record.scenario).Key("allocator").String(record.allocator);
  json.Key("malloc_library").String(record.malloc_library);
  json.Key("threads").Int(record.threads).Key("threads_used").Int(record.threads_used);
  json.Key("block_size").Int(static_cast<int64_t>(record.block_size));
  json.Key("duration_ms").Double(absl::ToDoubleMilliseconds(config.duration));
  json.Key("ops_asked").Int(config.ops).Key("seed").Int(static_cast<int64_t>(config.seed));
  json.Key("pin_threads").Bool(config.pin_threads);
  json.Key("ops").Int(record.ops).Key("seconds").Double(record.seconds);
  json.Key("mops").Double(record.mops);
  json.Key("latency_ns").BeginObject();
  json.Key("p50").Double(record.p50_ns).Key("p99").Double(record.p99_ns);
  json.Key("p999").Double(record.p999_ns).Key("samples").Int(record.latency_samples);
  json.EndObject();
  // A Zone's counts over the whole run, summed over its zones; null for others.
  json.Key("zone_events");
  if (record.zone_events.has_value()) {
    json.BeginObject();
    json.Key("slow_path_entries").Int(record.zone_events->slow_path_entries);
    json.Key("cache_drains").Int(record.zone_events->cache_drains);
    json.Key("overflow_allocations").Int(record.zone_events->overflow_allocations);
    json.Key("extensions").Int(record.zone_events->extensions);
    json.EndObject();
  } else {
    json.Null();
  }
  json.Key("rss").BeginObject();
  json.Key("peak_bytes").Int(static_cast<int64_t>(record.peak_rss_bytes));
  json.Key("final_bytes").Int(static_cast<int64_t>(record.final_rss_bytes));
  json.Key("over_time_ms_bytes").BeginArray();
  for (const RssSample& sample : result.rss_over_time) {
    json.BeginArray().Double(sample.ms).Int(static_cast<int64_t>(sample.bytes)).EndArray();
  }
  json.EndArray();
  // For zones: [ms, capacity_blocks, overflow_blocks_in_use, overflow_allocations,
  // overflow_slabs_live, extensions].
  json.Key("zone_over_time").BeginArray();
  for (const RssSample& sample : result.rss_over_time) {
    if (!sample.zone.has_value()) continue;
    json.BeginArray().Double(sample.ms).Int(sample.zone->capacity_blocks);
    json.Int(sample.zone->overflow_blocks_in_use).Int(sample.zone->overflow_allocations);
    json.Int(sample.zone->overflow_slabs_live);
    json.Int(sample.zone->extensions).EndArray();
  }
  json.EndArray().EndObject();
  json.Key("check").BeginObject();
  json.Key("ok").Bool(record.ok).Key("detail").String(record.detail);
  json.Key("allocations").Int(result.tally.allocations).Key("frees").Int(result.tally.frees);
  json.Key("failed_allocations").Int(result.tally.failed_allocations);
  json.Key("corrupted_blocks").Int(result.tally.corrupted_blocks);
  json.EndObject();
  json.EndObject();
  return json.text() + "\n";
}

// RSS over time, and for a zone its capacity, overflow and extensions.
std::string RssTable(const std::vector<RssSample>& samples) {
  std::string text =
      "# ms rss_mib capacity_blocks overflow_in_use overflow_allocations overflow_slabs "
      "extensions\n";
  for (const RssSample& sample : samples) {
    absl::StrAppendFormat(&text, "%.1f %.3f", sample.ms,
                          static_cast<double>(sample.bytes) / (1 << 20));
    if (sample.zone.has_value()) {
      absl::StrAppendFormat(&text, " %d %d %d %d %d", sample.zone->capacity_blocks,
                            sample.zone->overflow_blocks_in_use,
                            sample.zone->overflow_allocations, sample.zone->overflow_slabs_live,
                            sample.zone->extensions);
    }
    text += "\n";
  }
  return text;
}

int Fail(std::string_view message) {
  std::fprintf(stderr, "zonealloc_bench_worker: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return 2;
}

int Main() {
  const std::string scenario_name = absl::GetFlag(FLAGS_scenario);
  const Scenario* scenario = FindScenario(scenario_name);
  if (scenario == nullptr) {
    std::vector<std::string> names;
    for (const Scenario& one : AllScenarios()) names.emplace_back(one.name);
    return Fail(absl::StrFormat("unknown scenario '%s' (known: %s)", scenario_name,
                                absl::StrJoin(names, ", ")));
  }
  const ScenarioConfig config = ConfigFromFlags();
  const std::string allocator_name = absl::GetFlag(FLAGS_allocator);
  absl::StatusOr<std::unique_ptr<AllocatorUnderTest>> allocator =
      CreateAllocatorUnderTest(allocator_name, scenario->demand(config));
  if (!allocator.ok()) return Fail(allocator.status().ToString());
  absl::StatusOr<ScenarioResult> result = RunScenario(*scenario, config, **allocator);
  if (!result.ok()) return Fail(result.status().ToString());

  // RSS is read while the allocator still exists: what it holds after all
  // blocks were freed is the point of "final RSS".
  const RunRecord record = MakeRecord(*scenario, config, *result, allocator_name);
  std::printf("%s\n", FormatResultLine(record).c_str());
  std::fflush(stdout);
  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    if (absl::Status written = WriteFile(path, RecordJson(record, config, *result));
        !written.ok()) {
      return Fail(written.ToString());
    }
  }
  if (const std::string path = absl::GetFlag(FLAGS_rss_out);
      !path.empty() && !result->rss_over_time.empty()) {
    if (absl::Status written = WriteFile(path, RssTable(result->rss_over_time)); !written.ok()) {
      return Fail(written.ToString());
    }
  }
  if (absl::GetFlag(FLAGS_print_timeline) && !result->rss_over_time.empty()) {
    std::printf("%s", RssTable(result->rss_over_time).c_str());
  }
  return record.ok ? 0 : 1;
}

}  // namespace
}  // namespace zonealloc::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs one scenario against one allocator and prints one result line.\n"
      "  zonealloc_bench_worker --allocator=zone --scenario=pair --threads=2");
  absl::ParseCommandLine(argc, argv);
  return zonealloc::bench::Main();
}
