#include "crm/runtime/log.h"

#include <atomic>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl_view.h"

namespace crm::runtime {
namespace {

struct LogState {
  absl::Mutex mu;
  std::string service ABSL_GUARDED_BY(mu);
  std::function<void(std::string_view)> sink ABSL_GUARDED_BY(mu);
};

LogState& State() {
  static LogState* const state = new LogState;  // Never destroyed: used at exit.
  return *state;
}

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};

// Never throws: invalid UTF-8 is replaced rather than rejected.
std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsReservedKey(std::string_view key) {
  return key == "ts" || key == "level" || key == "service" || key == "event";
}

void WriteToStdout(std::string_view line) {
  std::string buffer(line);
  buffer += '\n';
  std::fwrite(buffer.data(), 1, buffer.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LogLevelName(level)) return level;
  }
  return absl::InvalidArgumentError(absl::StrCat("log level \"", internal::AbslView(name),
                                                 "\" is not one of debug, info, warn, error"));
}

void SetLogLevel(LogLevel level) {
  g_min_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void SetLogService(std::string_view service) {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  state.service = std::string(service);
}

void SetLogSink(std::function<void(std::string_view line)> sink) {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  state.sink = std::move(sink);
}

void Log(LogLevel level, std::string_view event, const nlohmann::json& fields) {
  if (!LogEnabled(level)) return;
  // Built by hand rather than through one json object so that the fixed fields
  // come first in a fixed order (nlohmann::json objects sort their keys).
  std::string line = absl::StrCat(
      "{\"ts\":\"", absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      "\",\"level\":\"", internal::AbslView(LogLevelName(level)), "\",\"service\":");
  std::string tail = absl::StrCat(",\"event\":", Dump(std::string(event)));
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      absl::StrAppend(&tail, ",", Dump(IsReservedKey(key) ? "_" + key : key), ":", Dump(value));
    }
  } else if (!fields.is_null()) {
    absl::StrAppend(&tail, ",\"fields\":", Dump(fields));
  }
  tail += "}";

  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  absl::StrAppend(&line, Dump(state.service), tail);
  if (state.sink) {
    state.sink(line);
  } else {
    WriteToStdout(line);
  }
}

}  // namespace crm::runtime
