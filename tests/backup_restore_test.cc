// Backup of a running service with `crmctl admin backup`, more writes, restore into
// a new data directory: the restored service holds exactly the state at backup
// time, and its outbox relay then publishes what was unpublished.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/subprocess.h"
#include "common/testing/temp_dir.h"
#include "crm/admin/v1/admin_service.grpc.pb.h"
#include "crm/auth/grpc_auth.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "messaging/testing/kafka_testing.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

namespace v1 = ::crm::customer::v1;
using crm::testing::DevToken;
using crm::testing::ServiceProcess;

std::string RegisterAs(ServiceProcess& service, const std::string& token, const std::string& name) {
  auto stub = v1::CustomerService::NewStub(service.Channel());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", auth::BearerHeader(token));
  v1::RegisterCustomerRequest req;
  req.mutable_basic()->set_name(name);
  v1::RegisterCustomerResponse resp;
  grpc::Status s = stub->RegisterCustomer(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.customer_id();
}

std::set<std::string> ListIds(ServiceProcess& service, const std::string& token) {
  auto stub = v1::CustomerService::NewStub(service.Channel());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", auth::BearerHeader(token));
  v1::ListCustomersRequest req;
  req.set_page_size(500);
  v1::ListCustomersResponse resp;
  EXPECT_TRUE(stub->ListCustomers(&ctx, req, &resp).ok());
  std::set<std::string> ids;
  for (const auto& c : resp.customers()) ids.insert(c.customer_id());
  return ids;
}

TEST(BackupRestoreTest, RestoredServiceHasTheBackupStateAndCatchesUpItsOutbox) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  messaging::testing::DevBroker broker(DEVBROKER_PATH, dir.path());
  const std::string secret = std::string("--jwt_secret_file=") + CRM_DEV_SECRET_FILE;
  const std::string alice = DevToken("alice", {"sales_rep"}, "north");
  const std::string root = DevToken("root", {"admin"}, "");

  // The original runs without Kafka: everything it writes stays in its outbox.
  auto original = std::make_unique<ServiceProcess>(
      CUSTOMER_PATH, std::vector<std::string>{"--data_dir=" + dir.path() + "/original", secret});
  std::set<std::string> before;
  for (int i = 0; i < 5; ++i) before.insert(RegisterAs(*original, alice, absl::StrCat("Before ", i)));

  const std::string backup_dir = dir.path() + "/backup";
  crm::testing::Subprocess crmctl({CRMCTL_PATH, "admin", "backup", "--addr=" + original->grpc_address(),
                                   "--token=" + root, "--dir=" + backup_dir, "--output=json"});
  auto line = crmctl.ReadLine(absl::Seconds(30));
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("\"last_position\":\"5\""), std::string::npos) << *line;
  EXPECT_EQ(crmctl.Wait(), 0);

  // Only admins take backups; a second backup into the same directory is refused.
  {
    auto admin_stub = admin::v1::AdminService::NewStub(original->Channel());
    for (const auto& [token, code] :
         std::vector<std::pair<std::string, grpc::StatusCode>>{
             {alice, grpc::StatusCode::PERMISSION_DENIED},
             {root, grpc::StatusCode::INVALID_ARGUMENT}}) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", auth::BearerHeader(token));
      admin::v1::BackupRequest req;
      req.set_target_dir(backup_dir);
      admin::v1::BackupResponse resp;
      EXPECT_EQ(admin_stub->Backup(&ctx, req, &resp).error_code(), code);
    }
  }

  std::set<std::string> after;
  for (int i = 0; i < 3; ++i) after.insert(RegisterAs(*original, alice, absl::StrCat("After ", i)));
  EXPECT_EQ(ListIds(*original, alice).size(), 8u);
  EXPECT_EQ(original->Stop(), 0);

  // Restore: a copy of the backup as a new data directory, now with Kafka.
  const std::string restored_dir = dir.path() + "/restored";
  std::filesystem::copy(backup_dir, restored_dir, std::filesystem::copy_options::recursive);
  ServiceProcess restored(CUSTOMER_PATH,
                          {"--data_dir=" + restored_dir, "--kafka_brokers=" + broker.bootstrap(), secret});
  EXPECT_EQ(ListIds(restored, alice), before);

  // Its relay publishes the five registrations that were in the outbox.
  auto records = messaging::testing::ReadTopic(broker.bootstrap(),
                                                std::string(messaging::kCustomerTopic), 3, 5,
                                                absl::Seconds(60));
  std::set<std::string> keys;
  for (const auto& r : records) keys.insert(r.key);
  EXPECT_EQ(keys, before);
}

}  // namespace
}  // namespace crm
