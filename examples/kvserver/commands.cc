// SPDX-License-Identifier: Apache-2.0
#include "commands.h"

#include <array>
#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl_view.h"
#include "resp_parser.h"

namespace kvserver {
namespace {

using Args = std::span<const std::string_view>;
using Handler = AfterCommand (*)(Args args, CommandContext& context, Reply& reply);

// One command: its name in lower case and its argument count, the name
// included, as Redis writes it: n exactly, or -n for at least n.
struct Command {
  std::string_view name;
  int arity;
  Handler handler;
};

void ReplyResultError(Keyspace::Result result, Reply& reply) {
  switch (result) {
    case Keyspace::Result::kOk:
      return;
    case Keyspace::Result::kOutOfMemory:
      return reply.Error("OOM command not allowed when a zone is past its caps");
    case Keyspace::Result::kNotInteger:
    case Keyspace::Result::kOverflow:
      return reply.Error("ERR value is not an integer or out of range");
  }
}

AfterCommand Ping(Args args, CommandContext&, Reply& reply) {
  if (args.size() == 1) {
    reply.Simple("PONG");
  } else if (args.size() == 2) {
    reply.Bulk(args[1]);
  } else {
    reply.Error("ERR wrong number of arguments for 'ping' command");
  }
  return AfterCommand::kContinue;
}

AfterCommand Echo(Args args, CommandContext&, Reply& reply) {
  reply.Bulk(args[1]);
  return AfterCommand::kContinue;
}

// SET key value [EX seconds | PX milliseconds]
AfterCommand Set(Args args, CommandContext& context, Reply& reply) {
  int64_t expire_at_ms = kNoExpiry;
  for (size_t i = 3; i < args.size(); i += 2) {
    const bool ex = absl::EqualsIgnoreCase(ToAbsl(args[i]), "ex");
    if ((!ex && !absl::EqualsIgnoreCase(ToAbsl(args[i]), "px")) || i + 1 == args.size() ||
        expire_at_ms != kNoExpiry) {
      reply.Error("ERR syntax error");
      return AfterCommand::kContinue;
    }
    const std::optional<int64_t> amount = ParseInt64(args[i + 1]);
    // Bounded so the deadline cannot overflow: about 290 years.
    constexpr int64_t kMaxMs = int64_t{1} << 53;
    if (!amount.has_value() || *amount <= 0 || *amount > (ex ? kMaxMs / 1000 : kMaxMs)) {
      reply.Error("ERR invalid expire time in 'set' command");
      return AfterCommand::kContinue;
    }
    expire_at_ms = context.now_ms + (ex ? *amount * 1000 : *amount);
  }
  const Keyspace::Result result =
      context.keyspace.Set(args[1], args[2], expire_at_ms, context.now_ms);
  if (result == Keyspace::Result::kOk) {
    reply.Simple("OK");
  } else {
    ReplyResultError(result, reply);
  }
  return AfterCommand::kContinue;
}

AfterCommand Get(Args args, CommandContext& context, Reply& reply) {
  if (!context.keyspace.Read(args[1], context.now_ms,
                             [&reply](std::string_view value) { reply.Bulk(value); })) {
    reply.Null();
  }
  return AfterCommand::kContinue;
}

AfterCommand Del(Args args, CommandContext& context, Reply& reply) {
  int64_t deleted = 0;
  for (std::string_view key : args.subspan(1)) deleted += context.keyspace.Delete(key, context.now_ms);
  reply.Integer(deleted);
  return AfterCommand::kContinue;
}

AfterCommand Exists(Args args, CommandContext& context, Reply& reply) {
  int64_t found = 0;
  for (std::string_view key : args.subspan(1)) found += context.keyspace.Exists(key, context.now_ms);
  reply.Integer(found);
  return AfterCommand::kContinue;
}

AfterCommand Incr(Args args, CommandContext& context, Reply& reply) {
  int64_t value = 0;
  const Keyspace::Result result = context.keyspace.Incr(args[1], context.now_ms, &value);
  if (result == Keyspace::Result::kOk) {
    reply.Integer(value);
  } else {
    ReplyResultError(result, reply);
  }
  return AfterCommand::kContinue;
}

AfterCommand MGet(Args args, CommandContext& context, Reply& reply) {
  reply.ArrayHeader(static_cast<int64_t>(args.size() - 1));
  for (std::string_view key : args.subspan(1)) {
    if (!context.keyspace.Read(key, context.now_ms,
                               [&reply](std::string_view value) { reply.Bulk(value); })) {
      reply.Null();
    }
  }
  return AfterCommand::kContinue;
}

// MSET key value [key value ...]: not atomic across keys (each key is).
AfterCommand MSet(Args args, CommandContext& context, Reply& reply) {
  if (args.size() % 2 == 0) {
    reply.Error("ERR wrong number of arguments for 'mset' command");
    return AfterCommand::kContinue;
  }
  for (size_t i = 1; i < args.size(); i += 2) {
    const Keyspace::Result result =
        context.keyspace.Set(args[i], args[i + 1], kNoExpiry, context.now_ms);
    if (result != Keyspace::Result::kOk) {
      ReplyResultError(result, reply);
      return AfterCommand::kContinue;
    }
  }
  reply.Simple("OK");
  return AfterCommand::kContinue;
}

// FLUSHALL [ASYNC | SYNC]: always synchronous.
AfterCommand FlushAll(Args args, CommandContext& context, Reply& reply) {
  if (args.size() == 2 && !absl::EqualsIgnoreCase(ToAbsl(args[1]), "async") &&
      !absl::EqualsIgnoreCase(ToAbsl(args[1]), "sync")) {
    reply.Error("ERR syntax error");
    return AfterCommand::kContinue;
  }
  context.keyspace.FlushAll();
  reply.Simple("OK");
  return AfterCommand::kContinue;
}

AfterCommand DbSize(Args, CommandContext& context, Reply& reply) {
  reply.Integer(static_cast<int64_t>(context.keyspace.Size()));
  return AfterCommand::kContinue;
}

AfterCommand Info(Args, CommandContext& context, Reply& reply) {
  reply.Bulk(InfoText(context));
  return AfterCommand::kContinue;
}

AfterCommand Quit(Args, CommandContext&, Reply& reply) {
  reply.Simple("OK");
  return AfterCommand::kClose;
}

// CONFIG GET <parameter>: what redis-benchmark asks at start ("save",
// "appendonly"), answered as a server without persistence would; any other
// parameter gets an empty array. Nothing else of CONFIG exists.
AfterCommand Config(Args args, CommandContext&, Reply& reply) {
  if (!absl::EqualsIgnoreCase(ToAbsl(args[1]), "get") || args.size() != 3) {
    reply.Error("ERR only CONFIG GET <parameter> is supported");
    return AfterCommand::kContinue;
  }
  const std::string parameter = absl::AsciiStrToLower(ToAbsl(args[2]));
  if (parameter == "save" || parameter == "appendonly") {
    reply.ArrayHeader(2);
    reply.Bulk(parameter);
    reply.Bulk(parameter == "save" ? "" : "no");
  } else {
    reply.ArrayHeader(0);
  }
  return AfterCommand::kContinue;
}

// COMMAND [...]: redis-cli asks for command docs at start; none are kept.
AfterCommand CommandDocs(Args, CommandContext&, Reply& reply) {
  reply.ArrayHeader(0);
  return AfterCommand::kContinue;
}

constexpr std::array<Command, 16> kCommands = {{
    {"ping", -1, Ping},
    {"echo", 2, Echo},
    {"set", -3, Set},
    {"get", 2, Get},
    {"del", -2, Del},
    {"exists", -2, Exists},
    {"incr", 2, Incr},
    {"mget", -2, MGet},
    {"mset", -3, MSet},
    {"flushall", -1, FlushAll},
    {"dbsize", 1, DbSize},
    {"info", -1, Info},
    {"quit", 1, Quit},
    {"config", -2, Config},
    {"command", -1, CommandDocs},
    {"flushdb", -1, FlushAll},
}};

// Longer names cannot be commands; shorter ones are lowered into a buffer.
constexpr size_t kMaxNameBytes = 16;

const Command* FindCommand(std::string_view name) {
  static const auto* const by_name = [] {
    auto* map = new absl::flat_hash_map<std::string_view, const Command*>();
    for (const Command& command : kCommands) (*map)[command.name] = &command;
    return map;
  }();
  if (name.size() > kMaxNameBytes) return nullptr;
  char lower[kMaxNameBytes];
  for (size_t i = 0; i < name.size(); ++i) lower[i] = absl::ascii_tolower(static_cast<unsigned char>(name[i]));
  const auto it = by_name->find(std::string_view(lower, name.size()));
  return it == by_name->end() ? nullptr : it->second;
}

bool ArityFits(int arity, size_t args) {
  return arity >= 0 ? args == static_cast<size_t>(arity) : args >= static_cast<size_t>(-arity);
}

}  // namespace

AfterCommand RunCommand(Args args, CommandContext& context, Reply& reply) {
  // relaxed: a statistic.
  context.stats.total_commands.fetch_add(1, std::memory_order_relaxed);
  const Command* command = FindCommand(args[0]);
  if (command == nullptr) {
    std::string error = absl::StrCat("ERR unknown command '", ToAbsl(args[0].substr(0, 64)),
                                     "', with args beginning with: ");
    for (std::string_view arg : args.subspan(1, std::min<size_t>(args.size() - 1, 4))) {
      absl::StrAppend(&error, "'", ToAbsl(arg.substr(0, 64)), "' ");
    }
    // A reply line cannot hold CR or LF.
    absl::StrReplaceAll({{"\r", " "}, {"\n", " "}}, &error);
    reply.Error(error);
    return AfterCommand::kContinue;
  }
  if (!ArityFits(command->arity, args.size())) {
    reply.Error(absl::StrCat("ERR wrong number of arguments for '", ToAbsl(command->name), "' command"));
    return AfterCommand::kContinue;
  }
  return command->handler(args, context, reply);
}

std::string InfoText(const CommandContext& context) {
  // relaxed: statistics.
  std::string text = absl::StrCat(
      "# Server\r\nkvserver_version:0.1.0\r\nallocator:", ToAbsl(BackendName(context.memory.backend())),
      "\r\nevent_loops:", context.stats.threads, "\r\ntcp_port:", context.stats.port,
      "\r\n\r\n# Clients\r\nconnected_clients:",
      context.stats.connected_clients.load(std::memory_order_relaxed),
      "\r\n\r\n# Stats\r\ntotal_connections_received:",
      // acquire: see ServerStats::total_connections.
      context.stats.total_connections.load(std::memory_order_acquire),
      "\r\ntotal_commands_processed:", context.stats.total_commands.load(std::memory_order_relaxed),
      "\r\n\r\n# Keyspace\r\ndb0:keys=", context.keyspace.Size(),
      "\r\n\r\n# zonealloc\r\nzone_in_use_blocks:", context.memory.InUseBlocks(), "\r\n");
  absl::StrAppend(&text, absl::StrReplaceAll(context.memory.DumpText(), {{"\n", "\r\n"}}));
  return text;
}

int64_t NowMs() { return absl::GetCurrentTimeNanos() / 1'000'000; }

}  // namespace kvserver
