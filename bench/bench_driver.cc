// SPDX-License-Identifier: Apache-2.0
// zonealloc_bench, the scenario benchmark (README command 1, via
// cmake/bench.sh): runs every contender (zonealloc's zones, glibc, jemalloc,
// tcmalloc, mimalloc, tbbmalloc, a TBB pool, the std::pmr pools) through a
// matrix of scenarios, thread counts and block sizes, one worker process
// per run, and prints a table of medians.
//
//   zonealloc_bench             default matrix, about 2 minutes on 2 cores
//   zonealloc_bench --full      every scenario, size and thread count
//   zonealloc_bench --smoke     every scenario once, tiny; exit 1 on a failed self-check
//   zonealloc_bench --scenarios=larson --threads=1,8 --allocators=zone,glibc
//   zonealloc_bench --publish_dir=bench/results   also refresh bench/README.md's figures
//
// Progress goes to stderr, the table to stdout. Everything else lands in
// --out_dir/<date-time>/ (and --out_dir/latest): summary.json, table.txt,
// table.md, runs/*.json (one per run) and PNG plots when gnuplot exists.
//
// Exit status: 0 when every run passed its self-check (and --publish_dir,
// if given, was refreshed), 1 otherwise. --publish_dir publishes a whole run
// or nothing (see publish.h).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/child_process.h"
#include "bench/contenders.h"
#include "bench/json_writer.h"
#include "bench/machine_info.h"
#include "bench/matrix.h"
#include "bench/plots.h"
#include "bench/publish.h"
#include "bench/report.h"
#include "bench/run_record.h"
#include "bench/versions.h"

ABSL_FLAG(bool, full, false, "run the full matrix (all scenarios, sizes 16..1024, 1..4x CPUs)");
ABSL_FLAG(bool, smoke, false, "run every scenario once, tiny, 1 repetition (CI)");
ABSL_FLAG(int, repetitions, 3, "runs per cell; the table shows their median");
ABSL_FLAG(int64_t, duration_ms, 250, "timed part of each run");
ABSL_FLAG(bool, pin_threads, true,
          "pin each run's threads to the CPUs round-robin (see the worker's flag); false: the "
          "kernel places them, and cells with more threads than CPUs vary from run to run");
ABSL_FLAG(std::string, out_dir, "build/bench-results", "where results go");
ABSL_FLAG(std::string, worker, "", "the worker binary (default: beside this one)");
ABSL_FLAG(std::vector<std::string>, allocators, {}, "only these contenders, e.g. zone,glibc");
ABSL_FLAG(std::vector<std::string>, scenarios, {}, "only these scenarios");
ABSL_FLAG(std::vector<std::string>, threads, {}, "these thread counts instead");
ABSL_FLAG(std::vector<std::string>, block_sizes, {}, "these block sizes instead");
ABSL_FLAG(std::string, publish_dir, "",
          "also copy the pair, batch and burst plots, table.md and summary.json here "
          "(bench/results: the figures bench/README.md shows); only when no row failed and "
          "every plot was drawn, else the folder is left as it was and the exit status is 1");

namespace zonealloc::bench {
namespace {

namespace fs = std::filesystem;

struct Settings {
  MatrixKind kind = MatrixKind::kDefault;
  int repetitions = 3;
  int64_t duration_ms = 250;
  bool pin_threads = true;
  std::string worker;
  std::string run_dir;  // this run's output folder
  bool custom = false;  // the matrix was narrowed by flags
};

template <typename T>
absl::StatusOr<std::vector<T>> ParseNumbers(const std::vector<std::string>& texts,
                                            std::string_view flag) {
  std::vector<T> numbers;
  for (const std::string& text : texts) {
    T number;
    if (!absl::SimpleAtoi(text, &number) || number <= 0) {
      return absl::InvalidArgumentError(absl::StrFormat("--%s: bad number '%s'", flag, text));
    }
    numbers.push_back(number);
  }
  return numbers;
}

absl::StatusOr<MatrixOverrides> OverridesFromFlags() {
  MatrixOverrides overrides;
  overrides.scenarios = absl::GetFlag(FLAGS_scenarios);
  absl::StatusOr<std::vector<int>> threads =
      ParseNumbers<int>(absl::GetFlag(FLAGS_threads), "threads");
  if (!threads.ok()) return threads.status();
  overrides.threads = *threads;
  absl::StatusOr<std::vector<size_t>> sizes =
      ParseNumbers<size_t>(absl::GetFlag(FLAGS_block_sizes), "block_sizes");
  if (!sizes.ok()) return sizes.status();
  overrides.block_sizes = *sizes;
  return overrides;
}

// zone_debug and other on-request contenders join the full and smoke
// matrices, or any matrix that names them in --allocators.
std::vector<Contender> ChosenContenders(MatrixKind kind) {
  return ChooseContenders(absl::GetFlag(FLAGS_allocators),
                          /*on_request_too=*/kind != MatrixKind::kDefault, DebianLibraryDir());
}

// The worker beside this binary, unless --worker says otherwise.
std::string WorkerPath() {
  if (std::string flag = absl::GetFlag(FLAGS_worker); !flag.empty()) return flag;
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return (error ? fs::path(".") : self.parent_path()) / "zonealloc_bench_worker";
}

// The rows of the table: one per contender that can serve each cell.
std::vector<Row> PlanRows(const std::vector<Cell>& cells,
                          const std::vector<Contender>& contenders) {
  std::vector<Row> rows;
  for (const Cell& cell : cells) {
    for (const Contender& contender : contenders) {
      if (!ContenderRunsIn(contender, cell)) continue;
      Row row{.cell = cell, .contender = contender.label, .zonealloc = contender.zonealloc};
      if (!contender.installed) {
        row.outcome = Row::Outcome::kNotInstalled;
        row.detail = contender.missing + " missing";
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

const Contender& ContenderOf(const Row& row, const std::vector<Contender>& contenders) {
  return *std::find_if(contenders.begin(), contenders.end(),
                       [&](const Contender& c) { return c.label == row.contender; });
}

std::string RunName(const Row& row, int repetition) {
  return absl::StrFormat("%s_t%d_b%d_%s_r%d", row.cell.scenario, row.cell.threads_used,
                         row.cell.block_size, row.contender, repetition);
}

// Runs one repetition of `row`; adds the run, or marks the row failed.
void RunOnce(Row& row, const Contender& contender, int repetition, const Settings& settings) {
  const std::string name = RunName(row, repetition);
  std::vector<std::string> args =
      WorkerArgs(row.cell, settings.kind, settings.duration_ms, settings.pin_threads);
  args.push_back("--allocator=" + contender.worker_allocator);
  args.push_back(absl::StrFormat("--json_out=%s/runs/%s.json", settings.run_dir, name));
  const std::string rss_file = absl::StrFormat("%s/runs/%s.rss.tsv", settings.run_dir, name);
  if (row.cell.scenario == "burst") args.push_back("--rss_out=" + rss_file);
  const absl::Duration limit =
      settings.kind == MatrixKind::kSmoke
          ? absl::Seconds(60)
          : absl::Seconds(30) + 10 * absl::Milliseconds(settings.duration_ms);

  absl::StatusOr<ChildExit> exit = RunChildProcess(settings.worker, args, contender.preload, limit);
  auto fail = [&](std::string detail) {
    row.outcome = Row::Outcome::kFailed;
    row.detail = absl::StrFormat("%s (repetition %d)", detail, repetition);
  };
  if (!exit.ok()) return fail(exit.status().ToString());
  absl::StatusOr<RunRecord> record = ParseWorkerOutput(exit->stdout_text);
  if (!record.ok()) {
    return fail(absl::StrFormat("worker %s, %s", exit->Describe(), record.status().message()));
  }
  if (!record->ok) return fail(record->detail);
  if (exit->exit_code != 0) return fail("worker " + exit->Describe());
  if (!absl::StrContains(record->malloc_library, contender.expect_malloc_library)) {
    return fail(absl::StrFormat("malloc came from %s, not %s (LD_PRELOAD ignored?)",
                                record->malloc_library, contender.expect_malloc_library));
  }
  row.runs.push_back(*std::move(record));
  row.rss_files.push_back(row.cell.scenario == "burst" ? rss_file : "");
}

// Runs every row `repetitions` times. Within a cell the contenders take
// turns (repetition 1 of each, then 2 of each...), so a slow phase of a
// noisy machine hits them all alike rather than one of them, in an order
// that changes each repetition (TurnOrder).
void RunAll(std::vector<Row>& rows, const std::vector<Contender>& contenders,
            const Settings& settings) {
  int total = 0;
  for (const Row& row : rows)
    total += row.outcome == Row::Outcome::kMeasured ? settings.repetitions : 0;
  int done = 0;
  for (size_t first = 0; first < rows.size();) {
    size_t end = first;
    while (end < rows.size() && rows[end].cell.scenario == rows[first].cell.scenario &&
           rows[end].cell.threads_used == rows[first].cell.threads_used &&
           rows[end].cell.block_size == rows[first].cell.block_size) {
      ++end;
    }
    for (int repetition = 1; repetition <= settings.repetitions; ++repetition) {
      for (size_t turn : TurnOrder(end - first, repetition)) {
        Row& row = rows[first + turn];
        if (row.outcome != Row::Outcome::kMeasured) continue;
        RunOnce(row, ContenderOf(row, contenders), repetition, settings);
        ++done;
        std::fprintf(stderr, "[%3d/%d] %-8s thr=%-2d block=%-4s %-10s rep %d/%d  %s\n", done, total,
                     row.cell.scenario.c_str(), row.cell.threads_used,
                     BlockSizeText(row.cell.block_size).c_str(), row.contender.c_str(), repetition,
                     settings.repetitions,
                     row.outcome == Row::Outcome::kFailed
                         ? ("FAILED: " + row.detail).c_str()
                         : absl::StrFormat("%.2f Mops/s", row.runs.back().mops).c_str());
      }
    }
    first = end;
  }
  for (Row& row : rows) {
    if (row.outcome == Row::Outcome::kMeasured) FinishRow(row);
  }
  FillRatios(rows);
}

const char* MatrixName(const Settings& settings) {
  if (settings.custom) return "custom";
  switch (settings.kind) {
    case MatrixKind::kDefault:
      return "default";
    case MatrixKind::kFull:
      return "full";
    case MatrixKind::kSmoke:
      return "smoke";
  }
  return "?";
}

// Writes the tables, the summary and the plots into the run folder.
void WriteOutputs(const std::vector<Row>& rows, const ReportHeading& heading,
                  const Settings& settings) {
  const std::string dir = settings.run_dir;
  for (const absl::Status& status :
       {WriteFile(dir + "/table.txt", FormatHeading(heading, TableStyle::kText) + "\n" +
                                          FormatTable(rows, TableStyle::kText)),
        WriteFile(dir + "/table.md", FormatHeading(heading, TableStyle::kMarkdown) + "\n" +
                                         FormatTable(rows, TableStyle::kMarkdown)),
        WriteFile(dir + "/summary.json", SummaryJson(rows, heading))}) {
    if (!status.ok()) std::fprintf(stderr, "zonealloc_bench: %s\n", status.ToString().c_str());
  }
  if (settings.kind == MatrixKind::kSmoke) return;
  const std::string gnuplot = FindGnuplot();
  if (gnuplot.empty()) {
    std::fprintf(stderr, "zonealloc_bench: gnuplot not installed; no plots\n");
    return;
  }
  absl::StatusOr<std::vector<std::string>> pngs = DrawPlots(rows, dir, gnuplot);
  if (!pngs.ok()) {
    std::fprintf(stderr, "zonealloc_bench: plots: %s\n", pngs.status().ToString().c_str());
  } else {
    std::fprintf(stderr, "zonealloc_bench: %zu plots in %s\n", pngs->size(), dir.c_str());
  }
}

// Points <out_dir>/latest at this run's folder.
void LinkLatest(const Settings& settings) {
  const fs::path latest = fs::path(settings.run_dir).parent_path() / "latest";
  std::error_code error;
  fs::remove(latest, error);
  fs::create_directory_symlink(fs::path(settings.run_dir).filename(), latest, error);
}

int Main() {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<MatrixOverrides> overrides = OverridesFromFlags();
  if (!overrides.ok()) {
    std::fprintf(stderr, "zonealloc_bench: %s\n", overrides.status().ToString().c_str());
    return 2;
  }
  const MachineInfo machine = CurrentMachine();
  Settings settings;
  settings.kind = absl::GetFlag(FLAGS_smoke)  ? MatrixKind::kSmoke
                  : absl::GetFlag(FLAGS_full) ? MatrixKind::kFull
                                              : MatrixKind::kDefault;
  settings.repetitions =
      settings.kind == MatrixKind::kSmoke ? 1 : std::max(1, absl::GetFlag(FLAGS_repetitions));
  settings.duration_ms = absl::GetFlag(FLAGS_duration_ms);
  settings.pin_threads = absl::GetFlag(FLAGS_pin_threads);
  settings.worker = WorkerPath();
  settings.custom = !overrides->scenarios.empty() || !overrides->threads.empty() ||
                    !overrides->block_sizes.empty() || !absl::GetFlag(FLAGS_allocators).empty();
  settings.run_dir =
      absl::StrFormat("%s/%s", absl::GetFlag(FLAGS_out_dir),
                      absl::FormatTime("%Y%m%d-%H%M%S", absl::Now(), absl::LocalTimeZone()));
  std::error_code error;
  fs::create_directories(settings.run_dir + "/runs", error);
  if (error) {
    std::fprintf(stderr, "zonealloc_bench: cannot create %s: %s\n", settings.run_dir.c_str(),
                 error.message().c_str());
    return 2;
  }

  // Run a private copy of the worker: a rebuild of the tree during the
  // matrix (the build folder is shared) cannot then swap or remove the
  // binary between runs, and the results folder keeps what was measured.
  const std::string worker_copy = settings.run_dir + "/zonealloc_bench_worker";
  fs::copy_file(settings.worker, worker_copy, fs::copy_options::overwrite_existing, error);
  if (error) {
    std::fprintf(stderr, "zonealloc_bench: cannot copy the worker %s: %s\n",
                 settings.worker.c_str(), error.message().c_str());
    return 2;
  }
  settings.worker = worker_copy;

  const std::vector<Contender> contenders = ChosenContenders(settings.kind);
  std::vector<Row> rows =
      PlanRows(BuildMatrix(settings.kind, machine.cpus, *overrides), contenders);
  for (const Contender& contender : contenders) {
    if (!contender.installed) {
      std::fprintf(stderr, "zonealloc_bench: %s not installed (%s missing)\n",
                   contender.label.c_str(), contender.missing.c_str());
    }
  }
  std::fprintf(stderr, "zonealloc_bench: %s matrix, %zu rows x %d repetitions, worker %s\n",
               MatrixName(settings), rows.size(), settings.repetitions, settings.worker.c_str());
  RunAll(rows, contenders, settings);

  const ReportHeading heading{.machine = machine,
                              .versions = CurrentVersions(DebianLibraryDir()),
                              .matrix = MatrixName(settings),
                              .repetitions = settings.repetitions,
                              .duration_ms = settings.duration_ms,
                              .pin_threads = settings.pin_threads};
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s\n", FormatHeading(heading, TableStyle::kText).c_str());
  std::printf("%s\n", FormatTable(rows, TableStyle::kText).c_str());
  WriteOutputs(rows, heading, settings);
  LinkLatest(settings);
  bool publish_refused = false;
  if (const std::string publish_dir = absl::GetFlag(FLAGS_publish_dir); !publish_dir.empty()) {
    if (absl::Status published = Publish(rows, settings.run_dir, publish_dir); !published.ok()) {
      std::fprintf(stderr, "zonealloc_bench: --publish_dir: %s left as it was: %s\n",
                   publish_dir.c_str(), published.ToString().c_str());
      publish_refused = true;
    }
  }
  std::printf("ran in %.0f s; results in %s\n", seconds, settings.run_dir.c_str());

  const bool any_failed = std::any_of(rows.begin(), rows.end(), [](const Row& row) {
    return row.outcome == Row::Outcome::kFailed;
  });
  return any_failed || publish_refused ? 1 : 0;
}

}  // namespace
}  // namespace zonealloc::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The zonealloc scenario benchmark: zonealloc against glibc, jemalloc, tcmalloc,\n"
      "mimalloc, tbbmalloc, tbb::memory_pool and std::pmr pools. See bench/README.md.");
  absl::ParseCommandLine(argc, argv);
  return zonealloc::bench::Main();
}
