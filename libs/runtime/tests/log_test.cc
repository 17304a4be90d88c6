#include "crm/runtime/log.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::runtime {
namespace {

using ::testing::MatchesRegex;
using ::testing::StartsWith;

// Captures log lines for one test and restores the global log state after.
class RuntimeLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogService("crm-test");
    SetLogLevel(LogLevel::kInfo);
    SetLogSink([this](std::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  void TearDown() override {
    SetLogSink({});
    SetLogService("");
    SetLogLevel(LogLevel::kInfo);
  }
  std::vector<std::string> Lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST_F(RuntimeLogTest, LineIsOneJsonObjectWithFixedFieldsFirst) {
  Log(LogLevel::kInfo, "ready", {{"grpc", "127.0.0.1:5555"}, {"tls", false}, {"port", 5555}});
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], StartsWith("{\"ts\":\""));
  EXPECT_THAT(
      lines[0],
      MatchesRegex(R"(\{"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z",)"
                   R"("level":"info","service":"crm-test","event":"ready",.*\})"));
  nlohmann::json parsed = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["service"], "crm-test");
  EXPECT_EQ(parsed["event"], "ready");
  EXPECT_EQ(parsed["grpc"], "127.0.0.1:5555");
  EXPECT_EQ(parsed["tls"], false);
  EXPECT_EQ(parsed["port"], 5555);
}

TEST_F(RuntimeLogTest, QuotesAndNewlinesAreEscaped) {
  std::string nasty = "say \"hi\"\nand\\leave\t\x01";
  Log(LogLevel::kWarn, nasty, {{"detail", nasty}, {nasty, 1}});
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  nlohmann::json parsed = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(parsed["level"], "warn");
  EXPECT_EQ(parsed["event"], nasty);
  EXPECT_EQ(parsed["detail"], nasty);
  EXPECT_EQ(parsed[nasty], 1);
}

TEST_F(RuntimeLogTest, InvalidUtf8IsReplacedNotThrown) {
  Log(LogLevel::kInfo, "bytes", {{"raw", std::string("ab\xff\xfe")}});
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["raw"], "ab\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(RuntimeLogTest, ReservedCallerKeysAreRenamed) {
  Log(LogLevel::kInfo, "real", {{"event", "fake"}, {"ts", 1}});
  nlohmann::json parsed = nlohmann::json::parse(Lines().at(0));
  EXPECT_EQ(parsed["event"], "real");
  EXPECT_EQ(parsed["_event"], "fake");
  EXPECT_EQ(parsed["_ts"], 1);
  EXPECT_TRUE(parsed["ts"].is_string());
}

TEST_F(RuntimeLogTest, NonObjectFieldsAreKept) {
  Log(LogLevel::kInfo, "odd", {"a", 1, 2});
  EXPECT_EQ(nlohmann::json::parse(Lines().at(0))["fields"], nlohmann::json({"a", 1, 2}));
}

TEST_F(RuntimeLogTest, LevelFilters) {
  Log(LogLevel::kDebug, "hidden");
  SetLogLevel(LogLevel::kError);
  EXPECT_FALSE(LogEnabled(LogLevel::kWarn));
  Log(LogLevel::kWarn, "hidden");
  Log(LogLevel::kError, "shown");
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["event"], "shown");
}

TEST_F(RuntimeLogTest, ParseLogLevel) {
  EXPECT_EQ(ParseLogLevel("debug").value(), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("error").value(), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("verbose").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RuntimeLogTest, ConcurrentLinesStayWhole) {
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        Log(LogLevel::kInfo, "tick", {{"thread", t}, {"i", i}, {"pad", std::string(100, 'x')}});
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLinesPerThread));
  for (const std::string& line : lines) {
    EXPECT_EQ(nlohmann::json::parse(line)["event"], "tick");
  }
}

}  // namespace
}  // namespace crm::runtime
