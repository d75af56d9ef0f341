// SPDX-License-Identifier: Apache-2.0
// ParseCommand reads one client command in the Redis protocol (RESP2) from
// the front of a byte stream: a multibulk array of bulk strings
// ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), or an inline command ("GET k\r\n", as
// typed into telnet).
//
// It is incremental by re-parsing: kIncomplete means "call again with more
// bytes" (the limits bound what a re-parse costs and what a connection can
// make the server buffer). The arguments point into the input, so they live as long as the
// buffer's bytes do. Lengths are checked against ParseLimits before any
// byte of the bulk is awaited, so an oversized length is refused without
// ever being allocated.
//
// kError means the stream cannot be resynchronised (after a bad length we
// do not know where the next command starts): the server answers the error
// and closes the connection, as Redis does.

#ifndef ZONEALLOC_EXAMPLES_KVSERVER_RESP_PARSER_H_
#define ZONEALLOC_EXAMPLES_KVSERVER_RESP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvserver {

struct ParseLimits {
  size_t max_bulk_bytes = 16 << 20;     // one argument
  size_t max_args = 64 << 10;           // arguments of one command
  size_t max_request_bytes = 64 << 20;  // one whole command, as sent
  size_t max_inline_bytes = 64 << 10;
};

enum class ParseStatus { kComplete, kIncomplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  // kComplete: bytes of input the command took (args may be empty: an
  // empty line or "*0\r\n", which the server skips).
  size_t consumed = 0;
  // kError: the text for "-ERR <error>".
  std::string error;
};

// Parses the command at the front of `input` into `args` (cleared first).
ParseResult ParseCommand(std::string_view input, const ParseLimits& limits,
                         std::vector<std::string_view>* args);

// A whole signed 64-bit decimal ("-12"), no sign-only, no spaces, no
// overflow; nullopt otherwise. Used for lengths, INCR and EX/PX.
std::optional<int64_t> ParseInt64(std::string_view text);

}  // namespace kvserver

#endif  // ZONEALLOC_EXAMPLES_KVSERVER_RESP_PARSER_H_
