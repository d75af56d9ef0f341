// SPDX-License-Identifier: Apache-2.0
// JsonWriter builds one JSON document in a string, for the benchmark's
// result files. It exists because the project has no JSON library and needs
// only to write: objects, arrays, strings, numbers, booleans, null. Commas are
// placed for the caller; a key must precede each value inside an object.
//
//   JsonWriter json;
//   json.BeginObject().Key("scenario").String("pair").Key("mops").Double(41.5);
//   json.Key("rss").BeginArray().Int(1).Int(2).EndArray().EndObject();
//   WriteFile(path, json.text());

#ifndef ZONEALLOC_BENCH_JSON_WRITER_H_
#define ZONEALLOC_BENCH_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace zonealloc::bench {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);  // non-finite values are written as null
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  const std::string& text() const { return text_; }

 private:
  // Writes the comma that separates this value from the previous one.
  void BeforeValue();

  std::string text_;
  std::vector<bool> first_in_container_;  // one per open object or array
  bool after_key_ = false;
};

// Writes `text` to `path`, replacing it. The error names the path.
absl::Status WriteFile(const std::string& path, std::string_view text);

}  // namespace zonealloc::bench

#endif  // ZONEALLOC_BENCH_JSON_WRITER_H_
