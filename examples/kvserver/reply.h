// SPDX-License-Identifier: Apache-2.0
// Reply encodes the server's answers in RESP2 at the tail of a
// connection's write buffer.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_REPLY_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_REPLY_H_

#include <cstdint>
#include <cstring>
#include <string_view>

#include "absl/strings/numbers.h"
#include "io_buffer.h"

namespace kvserver {

class Reply {
 public:
  explicit Reply(IoBuffer& out) : out_(out) {}

  void Simple(std::string_view text) { Line('+', text); }  // "+OK"
  void Error(std::string_view text) { Line('-', text); }   // text starts "ERR ..." etc.
  void Integer(int64_t value) { Number(':', value); }
  void Bulk(std::string_view bytes) {
    Number('$', static_cast<int64_t>(bytes.size()));
    out_.Append(bytes);
    out_.Append("\r\n");
  }
  void Null() { out_.Append("$-1\r\n"); }
  void ArrayHeader(int64_t n) { Number('*', n); }

 private:
  void Line(char type, std::string_view text) {
    char* p = out_.PrepareAppend(text.size() + 3);
    *p++ = type;
    std::memcpy(p, text.data(), text.size());
    p += text.size();
    *p++ = '\r';
    *p = '\n';
    out_.Commit(text.size() + 3);
  }
  void Number(char type, int64_t value) {
    char* p = out_.PrepareAppend(1 + absl::numbers_internal::kFastToBufferSize + 2);
    char* start = p;
    *p++ = type;
    p = absl::numbers_internal::FastIntToBuffer(value, p);  // writes a NUL, overwritten below
    *p++ = '\r';
    *p++ = '\n';
    out_.Commit(static_cast<size_t>(p - start));
  }

  IoBuffer& out_;
};

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_REPLY_H_
