// SPDX-License-Identifier: Apache-2.0
// Tests of the metrics formats (stats_export.h) and of ZONEALLOC_STATS
// (internal/stats_at_exit.h). What is printed is parsed back: JSON by a
// strict RFC 8259 parser, Prometheus text line by line against the
// exposition grammar, so a test fails on output a real reader would reject.

#include <zonealloc/stats_export.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include <zonealloc/internal/env.h>
#include <zonealloc/internal/stats_at_exit.h>
#include <zonealloc/zone.h>
#include <zonealloc/zone_service.h>

extern char** environ;

namespace zonealloc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---------------------------------------------------------------------------
// A strict JSON parser (RFC 8259), for reading back what ToJson() wrote.

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string number;  // as written
  std::string string;  // unescaped
  std::vector<Json> array;
  // An object's members, in order: keys[i] names values[i]. (Not pairs:
  // std::pair<std::string, Json> would need Json complete here.)
  std::vector<std::string> keys;
  std::vector<Json> values;

  // Defined below, where the members' types are complete.
  bool Has(std::string_view key) const;
  const Json& operator[](std::string_view key) const;
  // A non-negative integer, as every counter is.
  uint64_t Uint() const;
};

bool Json::Has(std::string_view key) const {
  for (const std::string& k : keys) {
    if (k == key) return true;
  }
  return false;
}

const Json& Json::operator[](std::string_view key) const {
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) return values[i];
  }
  ADD_FAILURE() << "no member \"" << key << "\"";
  static const Json missing;
  return missing;
}

uint64_t Json::Uint() const {
  uint64_t value = 0;
  EXPECT_EQ(kind, Kind::kNumber);
  EXPECT_TRUE(absl::SimpleAtoi(number, &value)) << number;
  return value;
}

class JsonParser {
 public:
  // The document, or std::nullopt with error() saying where it went wrong.
  std::optional<Json> Parse(std::string_view text) {
    text_ = text;
    pos_ = 0;
    Json value;
    SkipSpace();
    if (!ParseValue(value, 0)) return std::nullopt;
    SkipSpace();
    if (pos_ != text_.size()) return Fail("text after the document");
    return value;
  }
  const std::string& error() const { return error_; }

 private:
  std::nullopt_t Fail(std::string_view what) {
    error_ = absl::StrCat(std::string(what), " at offset ", pos_, ": \"",
                          std::string(text_.substr(pos_, 20)), "\"");
    return std::nullopt;
  }
  bool Error(std::string_view what) {
    Fail(what);
    return false;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Error("bad literal");
    pos_ += word.size();
    return true;
  }
  bool ParseValue(Json& out, int depth) {
    if (depth > 64) return Error("nested too deep");
    if (pos_ >= text_.size()) return Error("end of text where a value was due");
    switch (text_[pos_]) {
      case '{': return ParseObject(out, depth);
      case '[': return ParseArray(out, depth);
      case '"': out.kind = Json::Kind::kString; return ParseString(out.string);
      case 't': out.kind = Json::Kind::kBool; out.boolean = true; return Literal("true");
      case 'f': out.kind = Json::Kind::kBool; return Literal("false");
      case 'n': out.kind = Json::Kind::kNull; return Literal("null");
      default: out.kind = Json::Kind::kNumber; return ParseNumber(out.number);
    }
  }
  bool ParseObject(Json& out, int depth) {
    out.kind = Json::Kind::kObject;
    ++pos_;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, true;
    while (true) {
      SkipSpace();
      std::string key;
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a key");
      if (!ParseString(key)) return false;
      if (out.Has(key)) return Error(absl::StrCat("duplicate key \"", key, "\""));
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      SkipSpace();
      Json value;
      if (!ParseValue(value, depth + 1)) return false;
      out.keys.push_back(std::move(key));
      out.values.push_back(std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, true;
      return Error("expected ',' or '}'");
    }
  }
  bool ParseArray(Json& out, int depth) {
    out.kind = Json::Kind::kArray;
    ++pos_;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, true;
    while (true) {
      SkipSpace();
      Json value;
      if (!ParseValue(value, depth + 1)) return false;
      out.array.push_back(std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') { ++pos_; continue; }
      if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, true;
      return Error("expected ',' or ']'");
    }
  }
  static void AppendUtf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }
  bool Hex4(uint32_t& code) {
    if (pos_ + 4 > text_.size()) return Error("short \\u escape");
    code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      code <<= 4;
      if (c >= '0' && c <= '9') code |= c - '0';
      else if (c >= 'a' && c <= 'f') code |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') code |= c - 'A' + 10;
      else return Error("bad hex digit");
    }
    return true;
  }
  bool ParseString(std::string& out) {
    ++pos_;  // the opening quote
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') return ++pos_, true;
      if (c < 0x20) return Error("raw control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      if (++pos_ >= text_.size()) return Error("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t code = 0;
          if (!Hex4(code)) return false;
          if (code >= 0xD800 && code <= 0xDBFF) {
            uint32_t low = 0;
            if (text_.substr(pos_, 2) != "\\u") return Error("lone high surrogate");
            pos_ += 2;
            if (!Hex4(low) || low < 0xDC00 || low > 0xDFFF) return Error("bad low surrogate");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          } else if (code >= 0xDC00 && code <= 0xDFFF) {
            return Error("lone low surrogate");
          }
          AppendUtf8(out, code);
          break;
        }
        default: return Error("bad escape");
      }
    }
  }
  bool ParseNumber(std::string& out) {
    const size_t start = pos_;
    const auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_]))) {
        ++pos_;
      }
      return pos_ > from;
    };
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return Error("bad number");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!digits()) return Error("bad fraction");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digits()) return Error("bad exponent");
    }
    out = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

Json ParseJsonOrFail(std::string_view text) {
  JsonParser parser;
  std::optional<Json> json = parser.Parse(text);
  EXPECT_TRUE(json.has_value()) << parser.error() << "\nin:\n" << text;
  return json.value_or(Json{});
}

// Every ZoneStats field, checked against the JSON object written for it.
void ExpectZoneJsonIs(const Json& json, const ZoneStats& z) {
  EXPECT_EQ(json["name"].string, z.name);
  EXPECT_EQ(json["tag"].string, z.tag);
  EXPECT_EQ(json["block_size"].Uint(), z.block_size);
  EXPECT_EQ(json["capacity_blocks"].Uint(), z.capacity_blocks);
  EXPECT_EQ(json["in_use_blocks"].Uint(), z.in_use_blocks);
  EXPECT_EQ(json["peak_in_use_blocks"].Uint(), z.peak_in_use_blocks);
  EXPECT_EQ(json["allocation_failures"].Uint(), z.allocation_failures);
  EXPECT_EQ(json["overflow_blocks_in_use"].Uint(), z.overflow_blocks_in_use);
  EXPECT_EQ(json["overflow_allocations"].Uint(), z.overflow_allocations);
  EXPECT_EQ(json["overflow_slabs_live"].Uint(), z.overflow_slabs_live);
  EXPECT_EQ(json["overflow_slabs_created"].Uint(), z.overflow_slabs_created);
  EXPECT_EQ(json["overflow_slabs_released"].Uint(), z.overflow_slabs_released);
  EXPECT_EQ(json["overflow_mapped_bytes"].Uint(), z.overflow_mapped_bytes);
  EXPECT_EQ(json["overflow_slabs_unreleased"].Uint(), z.overflow_slabs_unreleased);
  EXPECT_EQ(json["overflow_unmap_failures"].Uint(), z.overflow_unmap_failures);
  EXPECT_EQ(json["slow_path_entries"].Uint(), z.slow_path_entries);
  EXPECT_EQ(json["cache_drains"].Uint(), z.cache_drains);
  EXPECT_EQ(json["extensions"].Uint(), z.extensions);
  EXPECT_EQ(json["extension_refusals"].Uint(), z.extension_refusals);
  EXPECT_EQ(json["permanent_bytes"].Uint(), z.permanent_bytes);
  EXPECT_EQ(json["cpu_cache_mode"].string, z.cpu_cache_mode);
  EXPECT_EQ(json["cached_blocks"].Uint(), z.cached_blocks);
  EXPECT_EQ(json["cpu_cache_bound_blocks"].Uint(), z.cpu_cache_bound_blocks);
  EXPECT_EQ(json.keys.size(), 24u) << "a member this test does not check";
  // The CPUs that saw use, each once, in order.
  std::vector<size_t> used;
  for (size_t cpu = 0; cpu < z.cpu_caches.size(); ++cpu) {
    const CpuCacheStats& c = z.cpu_caches[cpu];
    if (c.misses || c.refills || c.flushes || c.drains || c.batch_moves || c.blocks) {
      used.push_back(cpu);
    }
  }
  const std::vector<Json>& rows = json["cpu_caches"].array;
  ASSERT_EQ(rows.size(), used.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const CpuCacheStats& c = z.cpu_caches[used[i]];
    EXPECT_EQ(rows[i]["cpu"].Uint(), used[i]);
    EXPECT_EQ(rows[i]["misses"].Uint(), c.misses);
    EXPECT_EQ(rows[i]["refills"].Uint(), c.refills);
    EXPECT_EQ(rows[i]["flushes"].Uint(), c.flushes);
    EXPECT_EQ(rows[i]["drains"].Uint(), c.drains);
    EXPECT_EQ(rows[i]["batch_moves"].Uint(), c.batch_moves);
    EXPECT_EQ(rows[i]["blocks"].Uint(), c.blocks);
    EXPECT_EQ(rows[i]["capacity"].Uint(), c.capacity);
    EXPECT_EQ(rows[i].keys.size(), 8u);
  }
}

// A service with two zones after known activity:
//   "grows"  (16 blocks, at most 32): 100 blocks in use, so one extension,
//            refusals past max_blocks, and 68 blocks on overflow;
//   "capped" (2 blocks, no extension, 1 overflow block at most): 3 blocks
//            in use, the third on overflow, and one failed allocation.
// CPU caches off, so every figure is exact.
class TwoZones : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = *ZoneService::Create({.name = "net", .permanent_budget_bytes = 1 << 20});
    grows_ = *service_->CreateZone({.name = "grows", .block_size = 64, .initial_blocks = 16,
                                    .max_blocks = 32, .cpu_cache_blocks = 0});
    capped_ = *service_->CreateZone({.name = "capped", .block_size = 64, .initial_blocks = 2,
                                     .max_blocks = 2, .max_overflow_blocks = 1,
                                     .cpu_cache_blocks = 0});
    for (int i = 0; i < 100; ++i) blocks_.emplace_back(grows_.get(), grows_->Allocate());
    for (int i = 0; i < 3; ++i) blocks_.emplace_back(capped_.get(), capped_->Allocate());
    EXPECT_EQ(capped_->Allocate(), nullptr);
  }
  void TearDown() override {
    for (auto [zone, block] : blocks_) zone->Free(block);
  }

  std::unique_ptr<ZoneService> service_;
  std::unique_ptr<Zone> grows_;
  std::unique_ptr<Zone> capped_;
  std::vector<std::pair<Zone*, void*>> blocks_;
};

TEST_F(TwoZones, JsonHasEveryFieldOfEveryZoneAndTheBudget) {
  const Json json = ParseJsonOrFail(service_->ToJson());
  EXPECT_EQ(json["service"].string, "net");
  EXPECT_EQ(json["budget_bytes"].Uint(), 1u << 20);
  EXPECT_EQ(json["permanent_bytes"].Uint(), service_->permanent_bytes());
  EXPECT_EQ(json["permanent_bytes"].Uint(), 32u * 69 + 2u * 69) << "blocks, links and batch slots";
  ASSERT_EQ(json["zones"].array.size(), 2u);
  const Json& grows = json["zones"].array[0];
  const Json& capped = json["zones"].array[1];
  ExpectZoneJsonIs(grows, grows_->Stats());
  ExpectZoneJsonIs(capped, capped_->Stats());
  EXPECT_EQ(grows["in_use_blocks"].Uint(), 100u);
  EXPECT_EQ(grows["capacity_blocks"].Uint(), 32u);
  EXPECT_EQ(grows["extensions"].Uint(), 1u);
  EXPECT_GT(grows["extension_refusals"].Uint(), 0u);
  EXPECT_EQ(grows["overflow_blocks_in_use"].Uint(), 68u);
  EXPECT_EQ(grows["cpu_cache_mode"].string, "off");
  EXPECT_EQ(capped["in_use_blocks"].Uint(), 3u);
  EXPECT_EQ(capped["overflow_blocks_in_use"].Uint(), 1u);
  EXPECT_EQ(capped["allocation_failures"].Uint(), 1u);
  EXPECT_EQ(capped["tag"].string, capped_->Stats().tag);
  EXPECT_TRUE(json["destroyed_zones"].array.empty()) << "not kept unless asked";
  EXPECT_EQ(json["destroyed_zones_dropped"].Uint(), 0u);
}

TEST(StatsExportTest, JsonEscapesNamesAndReplacesBytesThatAreNotUtf8) {
  auto service = *ZoneService::Create({.name = "s\"1\"", .permanent_budget_bytes = 1 << 20});
  const std::string name = "say \"hi\"\n\\ \t\x01 caf\xC3\xA9";
  auto zone = *service->CreateZone({.name = name, .block_size = 64, .initial_blocks = 2});
  auto bad = *service->CreateZone({.name = "bad\xFF\xC3", .block_size = 64, .initial_blocks = 2});
  const std::string text = service->ToJson();
  EXPECT_THAT(text, HasSubstr(R"("say \"hi\"\n\\ \t\u0001 café")"));
  const Json json = ParseJsonOrFail(text);
  EXPECT_EQ(json["service"].string, "s\"1\"");
  ASSERT_EQ(json["zones"].array.size(), 2u);
  EXPECT_EQ(json["zones"].array[0]["name"].string, name) << "round trip";
  EXPECT_EQ(json["zones"].array[1]["name"].string, "bad\xEF\xBF\xBD\xEF\xBF\xBD") << "U+FFFD each";
}

// A zone "cached" of `service` whose CPU cache (fallback mode, 8 blocks)
// missed and flushed: 40 blocks allocated, then freed.
std::unique_ptr<Zone> CachedZoneThatMissedAndFlushed(ZoneService& service) {
  auto zone = *service.CreateZone({.name = "cached", .block_size = 64, .initial_blocks = 256,
                                   .cpu_cache = CpuCacheMode::kFallback, .cpu_cache_blocks = 8});
  std::vector<void*> blocks;
  for (int i = 0; i < 40; ++i) blocks.push_back(zone->Allocate());
  for (void* block : blocks) zone->Free(block);
  return zone;
}

TEST(StatsExportTest, JsonHasARowPerCpuCacheThatSawUse) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto zone = CachedZoneThatMissedAndFlushed(*service);
  const ZoneStats stats = zone->Stats();
  const Json json = ParseJsonOrFail(service->ToJson());
  ASSERT_EQ(json["zones"].array.size(), 1u);
  const Json& row = json["zones"].array[0];
  EXPECT_EQ(row["cpu_cache_mode"].string, "fallback");
  EXPECT_FALSE(row["cpu_caches"].array.empty()) << "this thread's CPU missed at least once";
  ExpectZoneJsonIs(row, stats);
}

TEST(StatsExportTest, DestroyedZonesAreKeptOnlyOnceAsked) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto before = *service->CreateZone({.name = "before", .block_size = 64, .initial_blocks = 2});
  before.reset();
  EXPECT_TRUE(service->Snapshot().destroyed_zones.empty());

  service->KeepDestroyedZoneStats();
  auto after = *service->CreateZone({.name = "after", .block_size = 64, .initial_blocks = 4,
                                     .cpu_cache_blocks = 0});
  void* a = after->Allocate();
  void* b = after->Allocate();
  after->Free(a);
  after->Free(b);
  after.reset();
  const ServiceSnapshot snapshot = service->Snapshot();
  EXPECT_TRUE(snapshot.zones.empty());
  ASSERT_EQ(snapshot.destroyed_zones.size(), 1u);
  EXPECT_EQ(snapshot.destroyed_zones[0].name, "after");
  EXPECT_EQ(snapshot.destroyed_zones[0].peak_in_use_blocks, 2u);
  EXPECT_EQ(snapshot.destroyed_zones[0].in_use_blocks, 0u);

  const Json json = ParseJsonOrFail(service->ToJson());
  ASSERT_EQ(json["destroyed_zones"].array.size(), 1u);
  ExpectZoneJsonIs(json["destroyed_zones"].array[0], snapshot.destroyed_zones[0]);
  EXPECT_THAT(service->DumpText(), HasSubstr("# destroyed zones, final stats (0 older not kept):\n  after "));
}

TEST(StatsExportTest, OnlyTheLatestDestroyedZonesAreKept) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  service->KeepDestroyedZoneStats();
  const size_t total = ZoneService::kMaxDestroyedZones + 3;
  for (size_t i = 0; i < total; ++i) {
    (void)*service->CreateZone({.name = absl::StrCat("z", i), .block_size = 64,
                                .initial_blocks = 1, .cpu_cache_blocks = 0});
  }
  const ServiceSnapshot snapshot = service->Snapshot();
  ASSERT_EQ(snapshot.destroyed_zones.size(), ZoneService::kMaxDestroyedZones);
  EXPECT_EQ(snapshot.destroyed_zones_dropped, 3u);
  EXPECT_EQ(snapshot.destroyed_zones.front().name, "z3");
  EXPECT_EQ(snapshot.destroyed_zones.back().name, absl::StrCat("z", total - 1));
}

// ---------------------------------------------------------------------------
// The Prometheus text exposition format, version 0.0.4, read line by line.

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  std::string value;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::vector<Sample> samples;

  // The sample of `name` with exactly `labels`, or with `labels` among
  // others when `exact` is false (and then only one may match).
  const Sample* Find(std::string_view name, const std::map<std::string, std::string>& labels,
                     bool exact = true) const {
    const Sample* found = nullptr;
    for (const Sample& s : samples) {
      if (s.name != name) continue;
      bool match = !exact || s.labels.size() == labels.size();
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        match = match && it != s.labels.end() && it->second == v;
      }
      if (!match) continue;
      EXPECT_EQ(found, nullptr) << "two samples of " << name << " match";
      found = &s;
    }
    return found;
  }
  size_t Count(std::string_view name) const {
    size_t n = 0;
    for (const Sample& s : samples) n += s.name == name;
    return n;
  }
  uint64_t Value(std::string_view name, const std::map<std::string, std::string>& labels) const {
    const Sample* s = Find(name, labels);
    uint64_t value = 0;
    EXPECT_NE(s, nullptr) << "no sample of " << name;
    if (s != nullptr) {
      EXPECT_TRUE(absl::SimpleAtoi(s->value, &value)) << s->value;
    }
    return value;
  }
};

bool IsMetricName(std::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
  }
  return true;
}

bool IsLabelName(std::string_view name) {
  return IsMetricName(name) && name.find(':') == std::string_view::npos &&
         name.substr(0, 2) != "__";
}

// Checks every line of `text` against the exposition grammar and the
// rules a scraper enforces: one # HELP and one # TYPE per family, before
// its samples; a family's samples together; no series twice.
Exposition ParsePrometheusOrFail(const std::string& text) {
  Exposition out;
  EXPECT_TRUE(absl::EndsWith(text, "\n")) << "the last line ends with a newline";
  std::set<std::string> helped;
  std::set<std::string> finished;  // families whose samples are over
  std::set<std::string> series;
  std::string current;  // the family whose lines come now
  const auto enter = [&](const std::string& family) {
    if (family == current) return;
    EXPECT_FALSE(finished.contains(family)) << family << " appears in two places";
    if (!current.empty()) finished.insert(current);
    current = family;
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;  // the split after the last newline
    if (line[0] == '#') {
      const std::vector<absl::string_view> words = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (words.size() >= 3 && words[1] == "HELP") {
        const std::string family(words[2]);
        EXPECT_TRUE(IsMetricName(family)) << line;
        EXPECT_TRUE(helped.insert(family).second) << "second # HELP: " << line;
        EXPECT_FALSE(out.types.contains(family)) << "# HELP after # TYPE: " << line;
        enter(family);
      } else if (words.size() == 4 && words[1] == "TYPE") {
        const std::string family(words[2]);
        EXPECT_TRUE(IsMetricName(family)) << line;
        const std::string type(words[3]);
        EXPECT_TRUE(type == "counter" || type == "gauge") << line;
        EXPECT_TRUE(out.types.emplace(family, type).second) << "second # TYPE: " << line;
        enter(family);
      } else {
        ADD_FAILURE() << "a comment that is neither # HELP nor # TYPE: " << line;
      }
      continue;
    }
    // name{label="value",...} value
    Sample sample;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = std::string(line.substr(0, i));
    EXPECT_TRUE(IsMetricName(sample.name)) << line;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == absl::string_view::npos) {
          ADD_FAILURE() << "a label without '=' in " << line;
          return out;
        }
        const std::string label(line.substr(i, eq - i));
        EXPECT_TRUE(IsLabelName(label)) << "label \"" << label << "\" in " << line;
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          ADD_FAILURE() << "unquoted label value in " << line;
          return out;
        }
        ++i;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            if (i + 1 >= line.size()) {
              ADD_FAILURE() << "a backslash at the end of " << line;
              return out;
            }
            const char e = line[i + 1];
            if (e == '\\') value += '\\';
            else if (e == '"') value += '"';
            else if (e == 'n') value += '\n';
            else ADD_FAILURE() << "bad escape \\" << e << " in " << line;
            i += 2;
          } else {
            value += line[i++];
          }
        }
        if (i >= line.size()) {
          ADD_FAILURE() << "unterminated label value in " << line;
          return out;
        }
        ++i;  // the closing quote
        EXPECT_TRUE(sample.labels.emplace(label, value).second) << "label twice: " << line;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) {
        ADD_FAILURE() << "unterminated labels in " << line;
        return out;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      ADD_FAILURE() << "no space before the value in " << line;
      return out;
    }
    sample.value = std::string(line.substr(i + 1));
    double parsed = 0;
    EXPECT_TRUE(absl::SimpleAtod(sample.value, &parsed)) << "value of " << line;
    // Counters and gauges: the family is the sample's name.
    EXPECT_EQ(sample.name, current) << "a sample outside its family's block: " << line;
    EXPECT_TRUE(helped.contains(sample.name) && out.types.contains(sample.name))
        << "no # HELP and # TYPE before " << line;
    std::string key = sample.name;
    for (const auto& [k, v] : sample.labels) absl::StrAppend(&key, "\x1f", k, "=", v);
    EXPECT_TRUE(series.insert(key).second) << "the same series twice: " << line;
    out.samples.push_back(std::move(sample));
  }
  for (const auto& [family, type] : out.types) {
    EXPECT_TRUE(helped.contains(family)) << family;
    EXPECT_TRUE(absl::StartsWith(family, "zonealloc_")) << family;
    EXPECT_EQ(type == "counter", absl::EndsWith(family, "_total"))
        << family << ": counters end in _total, gauges do not";
  }
  return out;
}

TEST_F(TwoZones, PrometheusTextParsesAndCarriesTheFigures) {
  const std::string text = service_->ToPrometheusText();
  const Exposition prom = ParsePrometheusOrFail(text);
  const std::map<std::string, std::string> net = {{"service", "net"}};
  const std::map<std::string, std::string> grows = {{"service", "net"}, {"zone", "grows"}};
  const std::map<std::string, std::string> capped = {{"service", "net"}, {"zone", "capped"}};
  EXPECT_EQ(prom.Value("zonealloc_service_budget_bytes", net), 1u << 20);
  EXPECT_EQ(prom.Value("zonealloc_service_permanent_bytes", net), service_->permanent_bytes());
  EXPECT_EQ(prom.Value("zonealloc_service_zones", net), 2u);
  EXPECT_EQ(prom.types.at("zonealloc_zone_in_use_blocks"), "gauge");
  EXPECT_EQ(prom.types.at("zonealloc_zone_extensions_total"), "counter");

  for (const auto& [labels, zone] : {std::pair{grows, grows_.get()}, std::pair{capped, capped_.get()}}) {
    const ZoneStats z = zone->Stats();
    const Sample* info = prom.Find("zonealloc_zone_info", labels, /*exact=*/false);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->labels.at("tag"), z.tag);
    EXPECT_EQ(info->labels.at("cpu_cache_mode"), "off");
    EXPECT_EQ(info->value, "1");
    EXPECT_EQ(prom.Value("zonealloc_zone_block_size_bytes", labels), z.block_size);
    EXPECT_EQ(prom.Value("zonealloc_zone_capacity_blocks", labels), z.capacity_blocks);
    EXPECT_EQ(prom.Value("zonealloc_zone_in_use_blocks", labels), z.in_use_blocks);
    EXPECT_EQ(prom.Value("zonealloc_zone_peak_in_use_blocks", labels), z.peak_in_use_blocks);
    EXPECT_EQ(prom.Value("zonealloc_zone_permanent_bytes", labels), z.permanent_bytes);
    EXPECT_EQ(prom.Value("zonealloc_zone_cached_blocks", labels), z.cached_blocks);
    EXPECT_EQ(prom.Value("zonealloc_zone_cpu_cache_bound_blocks", labels),
              z.cpu_cache_bound_blocks);
    EXPECT_EQ(prom.Value("zonealloc_zone_allocation_failures_total", labels), z.allocation_failures);
    EXPECT_EQ(prom.Value("zonealloc_zone_slow_path_entries_total", labels), z.slow_path_entries);
    EXPECT_EQ(prom.Value("zonealloc_zone_cache_drains_total", labels), z.cache_drains);
    EXPECT_EQ(prom.Value("zonealloc_zone_extensions_total", labels), z.extensions);
    EXPECT_EQ(prom.Value("zonealloc_zone_extension_refusals_total", labels), z.extension_refusals);
    EXPECT_EQ(prom.Value("zonealloc_overflow_in_use_blocks", labels), z.overflow_blocks_in_use);
    EXPECT_EQ(prom.Value("zonealloc_overflow_allocations_total", labels), z.overflow_allocations);
    EXPECT_EQ(prom.Value("zonealloc_overflow_slabs", labels), z.overflow_slabs_live);
    EXPECT_EQ(prom.Value("zonealloc_overflow_mapped_bytes", labels), z.overflow_mapped_bytes);
    EXPECT_EQ(prom.Value("zonealloc_overflow_unreleased_slabs", labels), z.overflow_slabs_unreleased);
    EXPECT_EQ(prom.Value("zonealloc_overflow_slabs_created_total", labels), z.overflow_slabs_created);
    EXPECT_EQ(prom.Value("zonealloc_overflow_slabs_released_total", labels), z.overflow_slabs_released);
    EXPECT_EQ(prom.Value("zonealloc_overflow_unmap_failures_total", labels), z.overflow_unmap_failures);
  }
  EXPECT_EQ(prom.Value("zonealloc_zone_in_use_blocks", grows), 100u);
  EXPECT_EQ(prom.Value("zonealloc_overflow_in_use_blocks", grows), 68u);
  EXPECT_EQ(prom.Value("zonealloc_zone_extensions_total", grows), 1u);
  EXPECT_EQ(prom.Value("zonealloc_zone_allocation_failures_total", capped), 1u);
  EXPECT_EQ(prom.types.size(), 3u + 1u + 20u + 7u) << "every family of stats_export.h's table";
  // CPU caches off: the per-CPU families have their header and no series.
  EXPECT_EQ(prom.Count("zonealloc_cpu_cache_misses_total"), 0u);
  EXPECT_THAT(text, HasSubstr("# TYPE zonealloc_cpu_cache_misses_total counter\n"));
}

TEST(StatsExportTest, PrometheusEscapesLabelValuesAndTellsZonesOfOneNameApart) {
  auto service = *ZoneService::Create({.name = "a\\b", .permanent_budget_bytes = 1 << 20});
  const std::string name = "say \"hi\"\n\\";
  auto first = *service->CreateZone({.name = name, .block_size = 64, .initial_blocks = 2});
  auto second = *service->CreateZone({.name = name, .block_size = 128, .initial_blocks = 2});
  auto third = *service->CreateZone({.name = name, .block_size = 256, .initial_blocks = 2});
  const std::string text = service->ToPrometheusText();
  EXPECT_THAT(text, HasSubstr(R"({service="a\\b",zone="say \"hi\"\n\\"})"));
  const Exposition prom = ParsePrometheusOrFail(text);
  const Sample* one = prom.Find("zonealloc_zone_block_size_bytes", {{"zone", name}, {"service", "a\\b"}});
  ASSERT_NE(one, nullptr) << "zone_copy only on the later zones";
  EXPECT_EQ(one->value, "64");
  EXPECT_FALSE(one->labels.contains("zone_copy"));
  EXPECT_EQ(prom.Value("zonealloc_zone_block_size_bytes",
                       {{"service", "a\\b"}, {"zone", name}, {"zone_copy", "2"}}),
            128u);
  EXPECT_EQ(prom.Value("zonealloc_zone_block_size_bytes",
                       {{"service", "a\\b"}, {"zone", name}, {"zone_copy", "3"}}),
            256u);
}

TEST(StatsExportTest, PrometheusHasPerCpuSeriesWithACpuLabel) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto zone = CachedZoneThatMissedAndFlushed(*service);
  const ZoneStats stats = zone->Stats();
  const Exposition prom = ParsePrometheusOrFail(service->ToPrometheusText());
  size_t rows = 0;
  for (size_t cpu = 0; cpu < stats.cpu_caches.size(); ++cpu) {
    const CpuCacheStats& c = stats.cpu_caches[cpu];
    const std::map<std::string, std::string> labels = {
        {"service", "s"}, {"zone", "cached"}, {"cpu", absl::StrCat(cpu)}};
    if (prom.Find("zonealloc_cpu_cache_misses_total", labels) == nullptr) continue;
    ++rows;
    EXPECT_EQ(prom.Value("zonealloc_cpu_cache_misses_total", labels), c.misses);
    EXPECT_EQ(prom.Value("zonealloc_cpu_cache_refills_total", labels), c.refills);
    EXPECT_EQ(prom.Value("zonealloc_cpu_cache_flushes_total", labels), c.flushes);
    EXPECT_EQ(prom.Value("zonealloc_cpu_cache_drains_total", labels), c.drains);
    EXPECT_EQ(prom.Value("zonealloc_cpu_cache_batch_moves_total", labels), c.batch_moves);
    EXPECT_EQ(prom.Value("zonealloc_cpu_cache_blocks", labels), c.blocks);
    EXPECT_EQ(prom.Value("zonealloc_cpu_cache_depth_blocks", labels), c.capacity);
  }
  EXPECT_GE(rows, 1u) << "this thread's CPU missed at least once";
  EXPECT_EQ(prom.Value("zonealloc_zone_cached_blocks", {{"service", "s"}, {"zone", "cached"}}),
            stats.cached_blocks);
}

// ---------------------------------------------------------------------------
// ZONEALLOC_STATS.

internal::Getenv StatsIs(std::string value) {
  return [value](std::string_view name) -> std::optional<std::string> {
    if (name == "ZONEALLOC_STATS") return value;
    return std::nullopt;
  };
}

TEST(StatsAtExitTest, ValuesNameStderrOrAFileWhoseEndingPicksTheFormat) {
  using internal::ReadStatsDestination;
  using internal::StatsFormat;
  EXPECT_FALSE(ReadStatsDestination(StatsIs("")).has_value());
  EXPECT_FALSE(ReadStatsDestination(StatsIs("  ")).has_value());

  std::optional<internal::StatsDestination> d = ReadStatsDestination(StatsIs(" StdErr "));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->path, "");
  EXPECT_EQ(d->format, StatsFormat::kText);

  d = ReadStatsDestination(StatsIs("  /tmp/Run 1/Stats.JSON\t"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->path, "/tmp/Run 1/Stats.JSON") << "trimmed, case kept";
  EXPECT_EQ(d->format, StatsFormat::kJson);

  d = ReadStatsDestination(StatsIs("zones.txt"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->path, "zones.txt");
  EXPECT_EQ(d->format, StatsFormat::kText);
}

TEST(StatsAtExitTest, ASwitchOrADirectoryIsIgnoredWithOneWarningNamingIt) {
  for (const std::string value : {"On", "1", "no", "/var/tmp/"}) {
    internal::ResetEnvWarningsForTesting();
    ::testing::internal::CaptureStderr();
    EXPECT_FALSE(internal::ReadStatsDestination(StatsIs(value)).has_value()) << value;
    EXPECT_FALSE(internal::ReadStatsDestination(StatsIs(value)).has_value()) << value;
    EXPECT_EQ(::testing::internal::GetCapturedStderr(),
              absl::StrCat("zonealloc: ignoring ZONEALLOC_STATS=\"", value,
                           "\": not stderr or a file path (a path ending in .json gets JSON); "
                           "using no stats at exit\n"));
  }
  internal::ResetEnvWarningsForTesting();
}

std::string ReadFileOrFail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(StatsAtExitTest, WriteStatsReplacesTheFileAndReportsAFailedOpen) {
  auto service = *ZoneService::Create({.name = "s", .permanent_budget_bytes = 1 << 20});
  auto zone = *service->CreateZone({.name = "conn", .block_size = 64, .initial_blocks = 2});
  const std::string path = absl::StrCat(::testing::TempDir(), "/stats_export_test_", ::getpid(), ".json");
  { std::ofstream(path) << "old text, longer than nothing at all........................."; }
  ASSERT_TRUE(internal::WriteStats(*service, {.path = path, .format = internal::StatsFormat::kJson}).ok());
  EXPECT_EQ(ReadFileOrFail(path), service->ToJson());
  ASSERT_TRUE(internal::WriteStats(*service, {.path = path}).ok());
  EXPECT_EQ(ReadFileOrFail(path), service->DumpText());
  std::remove(path.c_str());

  const absl::Status status =
      internal::WriteStats(*service, {.path = "/nonexistent-zonealloc-dir/stats.txt"});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("'/nonexistent-zonealloc-dir/stats.txt'"));
  EXPECT_THAT(status.message(), HasSubstr(std::strerror(ENOENT)));
}

// The child: run as this binary with ZONEALLOC_STATS_TEST_CHILD set (by
// RunChild below); skipped otherwise. The default service gets a zone that
// lives at exit, with one block in use, and one destroyed before it.
TEST(StatsAtExitChild, MakesZonesAndExits) {
  if (std::getenv("ZONEALLOC_STATS_TEST_CHILD") == nullptr) {
    GTEST_SKIP() << "run as a child by the StatsAtExitTest tests";
  }
  static Zone* const lives = Zone::Create({.name = "lives", .block_size = 64,
                                           .initial_blocks = 4}).value().release();
  ASSERT_NE(lives->Allocate(), nullptr);
  auto gone = *Zone::Create({.name = "gone \"early\"", .block_size = 128, .initial_blocks = 2});
  gone->Free(gone->Allocate());
  // A forked child's exit() must not write: it would overwrite the file.
  const pid_t grandchild = ::fork();
  ASSERT_GE(grandchild, 0) << std::strerror(errno);
  if (grandchild == 0) std::exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(grandchild, &status, 0), grandchild);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct ChildResult {
  int exit_code = -1;
  std::string stderr_text;
};

// Runs StatsAtExitChild.MakesZonesAndExits in a fresh process of this
// binary with ZONEALLOC_STATS=`stats`, and returns what it wrote on stderr.
// With `stderr_reader_gone`, nobody reads its stderr: the pipe's read end
// is closed before the fork, so the child's writes there fail with EPIPE
// (and raise SIGPIPE, whose default action the child gets back).
ChildResult RunChild(const std::string& stats, bool stderr_reader_gone = false) {
  ChildResult result;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "ZONEALLOC_STATS=")) env.emplace_back(*e);
  }
  env.push_back("ZONEALLOC_STATS=" + stats);
  env.push_back("ZONEALLOC_STATS_TEST_CHILD=1");
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string self = "/proc/self/exe";
  std::string filter = "--gtest_filter=StatsAtExitChild.MakesZonesAndExits";
  std::vector<char*> argv = {self.data(), filter.data(), nullptr};

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return result;
  }
  if (stderr_reader_gone) ::close(pipe_fds[0]);
  const pid_t child = ::fork();
  if (child < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return result;
  }
  if (child == 0) {
    // Async-signal-safe calls only: everything was prepared above.
    // SIGPIPE kills by default, whatever this test runner was told.
    struct sigaction default_action = {};
    default_action.sa_handler = SIG_DFL;
    if (::sigaction(SIGPIPE, &default_action, nullptr) != 0) ::_exit(125);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0 || ::dup2(pipe_fds[1], STDERR_FILENO) < 0) {
      ::_exit(126);
    }
    ::execve("/proc/self/exe", argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char buffer[4096];
  while (!stderr_reader_gone) {
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.stderr_text.append(buffer, static_cast<size_t>(n));
  }
  if (!stderr_reader_gone) ::close(pipe_fds[0]);
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, 0), child);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string ChildPath(const std::string& ending) {
  return absl::StrCat(::testing::TempDir(), "/stats_export_child_", ::getpid(), ending);
}

TEST(StatsAtExitTest, AtExitTheTextDumpGoesToStderrOnce) {
  const ChildResult child = RunChild("stderr");
  ASSERT_EQ(child.exit_code, 0) << child.stderr_text;
  const std::string& text = child.stderr_text;
  EXPECT_THAT(text, HasSubstr("# zonealloc service 'default': "));
  EXPECT_EQ(text.find("# zonealloc service"), text.rfind("# zonealloc service"))
      << "the forked grandchild wrote too:\n" << text;
  EXPECT_THAT(text, HasSubstr("\n  lives "));
  EXPECT_THAT(text, HasSubstr("# destroyed zones, final stats (0 older not kept):\n  gone \\\"early\\\" "));
}

TEST(StatsAtExitTest, AtExitAFileGetsTheTextDumpOrJson) {
  const std::string text_path = ChildPath(".txt");
  ChildResult child = RunChild(text_path);
  ASSERT_EQ(child.exit_code, 0) << child.stderr_text;
  EXPECT_THAT(child.stderr_text, Not(HasSubstr("zonealloc")));
  const std::string text = ReadFileOrFail(text_path);
  EXPECT_THAT(text, HasSubstr("# zonealloc service 'default': "));
  EXPECT_THAT(text, HasSubstr("\n  lives "));
  std::remove(text_path.c_str());

  const std::string json_path = ChildPath(".JSON");
  child = RunChild(json_path);
  ASSERT_EQ(child.exit_code, 0) << child.stderr_text;
  const Json json = ParseJsonOrFail(ReadFileOrFail(json_path));
  std::remove(json_path.c_str());
  EXPECT_EQ(json["service"].string, "default");
  ASSERT_EQ(json["zones"].array.size(), 1u);
  EXPECT_EQ(json["zones"].array[0]["name"].string, "lives");
  EXPECT_EQ(json["zones"].array[0]["in_use_blocks"].Uint(), 1u);
  ASSERT_EQ(json["destroyed_zones"].array.size(), 1u);
  EXPECT_EQ(json["destroyed_zones"].array[0]["name"].string, "gone \"early\"");
  EXPECT_EQ(json["destroyed_zones"].array[0]["peak_in_use_blocks"].Uint(), 1u);
  EXPECT_EQ(json["destroyed_zones"].array[0]["in_use_blocks"].Uint(), 0u);
}

TEST(StatsAtExitTest, AtExitABadValueIsNamedAndNothingIsWritten) {
  const ChildResult child = RunChild(" On ");
  ASSERT_EQ(child.exit_code, 0) << child.stderr_text;
  EXPECT_THAT(child.stderr_text, HasSubstr("zonealloc: ignoring ZONEALLOC_STATS=\" On \""));
  EXPECT_THAT(child.stderr_text, Not(HasSubstr("# zonealloc service")));
}

// A program whose stderr is a pipe nobody reads any more (`prog 2>&1 | head`)
// must keep its own exit status: the stats, and the report that they could
// not be written, fail with EPIPE rather than kill it with SIGPIPE.
TEST(StatsAtExitTest, AtExitAClosedStderrPipeDoesNotKillTheProgram) {
  const ChildResult child = RunChild("stderr", /*stderr_reader_gone=*/true);
  EXPECT_EQ(child.exit_code, 0) << "128 + " << SIGPIPE << " is death by SIGPIPE";
}

TEST(StatsAtExitTest, AtExitAFailedOpenIsReported) {
  const ChildResult child = RunChild("/nonexistent-zonealloc-dir/stats.json");
  ASSERT_EQ(child.exit_code, 0) << child.stderr_text;
  EXPECT_THAT(child.stderr_text,
              HasSubstr(absl::StrCat("zonealloc: ZONEALLOC_STATS: cannot open "
                                     "'/nonexistent-zonealloc-dir/stats.json' for zonealloc "
                                     "stats: ",
                                     std::strerror(ENOENT), "\n")));
}

}  // namespace
}  // namespace zonealloc
