// Structured logs: one JSON object per line on stdout, for log shippers.
//
//   crm::runtime::SetLogService("crm-customer");
//   crm::runtime::Log(crm::runtime::LogLevel::kInfo, "ready",
//                     {{"grpc", "127.0.0.1:5555"}, {"tls", false}});
//   // {"ts":"2024-05-01T12:00:00.123Z","level":"info","service":"crm-customer",
//   //  "event":"ready","grpc":"127.0.0.1:5555","tls":false}
//
// `ts` (RFC 3339, UTC, milliseconds), `level`, `service` and `event` come first,
// then the caller's fields. A caller field that reuses one of those four names is
// written with a leading underscore ("_event") instead of producing a duplicate
// key. Strings that are not valid UTF-8 have the bad bytes replaced by U+FFFD.
//
// Thread safety: every function here may be called from any thread. Each line
// reaches the sink in one call, and calls to the sink are serialised, so lines
// from different threads never interleave.
#pragma once

#include <functional>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace crm::runtime {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error".
std::string_view LogLevelName(LogLevel level);

// Inverse of LogLevelName; INVALID_ARGUMENT naming the accepted values otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);

// Lines below `level` are dropped. Default: kInfo.
void SetLogLevel(LogLevel level);

// True when a line at `level` would be written; use it to skip building costly fields.
bool LogEnabled(LogLevel level);

// The `service` field of every following line. Default: empty string.
void SetLogService(std::string_view service);

// Receives each finished line, without the trailing newline. Passing an empty
// function restores the default sink (stdout, one fwrite plus fflush per line).
// Meant for tests.
void SetLogSink(std::function<void(std::string_view line)> sink);

// Writes one line. `fields` should be a JSON object; anything else (say, an
// array from a mistyped initializer list) is written under the key "fields".
void Log(LogLevel level, std::string_view event,
         const nlohmann::json& fields = nlohmann::json::object());

}  // namespace crm::runtime
