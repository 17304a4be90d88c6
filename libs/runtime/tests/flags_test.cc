#include "crm/runtime/flags.h"

#include <stdlib.h>

#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::runtime {
namespace {

using ::testing::HasSubstr;

// Sets (or unsets) an environment variable for one test, restoring it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

absl::StatusOr<ServiceFlags> Parse(std::vector<const char*> args,
                                   const std::function<void(CLI::App&)>& add_extra = {}) {
  args.insert(args.begin(), "crm-test");
  return ParseServiceFlags(static_cast<int>(args.size()), args.data(), "crm-test", add_extra);
}

TEST(RuntimeFlagsTest, Defaults) {
  ScopedEnv port("CRM_GRPC_PORT", nullptr);
  ScopedEnv host("CRM_LISTEN_HOST", nullptr);
  absl::StatusOr<ServiceFlags> flags = Parse({});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->listen_host, "127.0.0.1");
  EXPECT_EQ(flags->grpc_port, 0);
  EXPECT_EQ(flags->log_level, "info");
}

TEST(RuntimeFlagsTest, EnvironmentIsTheFallback) {
  ScopedEnv port("CRM_GRPC_PORT", "5555");
  ScopedEnv brokers("CRM_KAFKA_BROKERS", "kafka:9092");
  absl::StatusOr<ServiceFlags> flags = Parse({"--admin_port=6000"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->grpc_port, 5555);
  EXPECT_EQ(flags->kafka_brokers, "kafka:9092");
  EXPECT_EQ(flags->admin_port, 6000);
}

TEST(RuntimeFlagsTest, CommandLineBeatsEnvironment) {
  ScopedEnv port("CRM_GRPC_PORT", "5555");
  ScopedEnv dir("CRM_DATA_DIR", "/from/env");
  absl::StatusOr<ServiceFlags> flags = Parse({"--grpc_port", "7777", "--data_dir=/from/flag"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->grpc_port, 7777);
  EXPECT_EQ(flags->data_dir, "/from/flag");
}

TEST(RuntimeFlagsTest, UnknownFlagIsNamed) {
  absl::StatusOr<ServiceFlags> flags = Parse({"--grpc_prot=1"});
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(flags.status().message(), HasSubstr("--grpc_prot"));
}

TEST(RuntimeFlagsTest, PositionalArgumentIsRejected) {
  absl::StatusOr<ServiceFlags> flags = Parse({"stray"});
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(flags.status().message(), HasSubstr("stray"));
}

TEST(RuntimeFlagsTest, BadIntegerIsInvalid) {
  absl::StatusOr<ServiceFlags> flags = Parse({"--grpc_port=abc"});
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(flags.status().message(), HasSubstr("grpc_port"));
}

TEST(RuntimeFlagsTest, BadIntegerFromEnvironmentIsInvalid) {
  ScopedEnv port("CRM_ADMIN_PORT", "lots");
  absl::StatusOr<ServiceFlags> flags = Parse({});
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RuntimeFlagsTest, PortOutOfRangeIsInvalid) {
  absl::StatusOr<ServiceFlags> flags = Parse({"--grpc_port=70000"});
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(flags.status().message(), HasSubstr("grpc_port"));
}

TEST(RuntimeFlagsTest, LogLevelMustBeKnown) {
  EXPECT_EQ(Parse({"--log_level=loud"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Parse({"--log_level=debug"})->log_level, "debug");
}

TEST(RuntimeFlagsTest, TlsFilesGoTogether) {
  EXPECT_EQ(Parse({"--tls_cert_file=c.pem"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Parse({"--tls_client_ca_file=ca.pem"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Parse({"--tls_cert_file=c.pem", "--tls_key_file=k.pem"}).ok());
}

TEST(RuntimeFlagsTest, ExtraFlagsGetEnvironmentFallback) {
  ScopedEnv batch("CRM_BATCH_SIZE", "42");
  ScopedEnv dry_run("CRM_DRY_RUN", "true");
  ScopedEnv topic("CRM_TOPIC", "from-env");
  int batch_size = 100;
  bool dry = false;
  std::string topic_name = "default";
  absl::StatusOr<ServiceFlags> flags = Parse({"--topic=from-flag"}, [&](CLI::App& app) {
    AddFlag(app, "batch_size", &batch_size, "Events per batch");
    AddFlag(app, "dry_run", &dry, "Do nothing");
    AddFlag(app, "topic", &topic_name, "Topic");
  });
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(batch_size, 42);
  EXPECT_TRUE(dry);
  EXPECT_EQ(topic_name, "from-flag");
}

TEST(RuntimeFlagsTest, DuplicateExtraFlagIsInternalError) {
  int port = 0;
  absl::StatusOr<ServiceFlags> flags =
      Parse({}, [&](CLI::App& app) { AddFlag(app, "grpc_port", &port, "again"); });
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInternal);
}

TEST(RuntimeFlagsTest, HelpIsADistinctStatus) {
  absl::StatusOr<ServiceFlags> flags = Parse({"--help"});
  ASSERT_FALSE(flags.ok());
  EXPECT_TRUE(IsHelpRequest(flags.status()));
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(flags.status().message(), HasSubstr("--grpc_port"));
  EXPECT_THAT(flags.status().message(), HasSubstr("CRM_GRPC_PORT"));
  EXPECT_FALSE(IsHelpRequest(absl::CancelledError("other")));
  EXPECT_FALSE(IsHelpRequest(Parse({"--nope"}).status()));
}

TEST(RuntimeFlagsTest, EnvNames) {
  EXPECT_EQ(EnvNameForFlag("kafka_brokers"), "CRM_KAFKA_BROKERS");
}

}  // namespace
}  // namespace crm::runtime
