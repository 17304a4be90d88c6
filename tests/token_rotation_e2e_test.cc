// Tokens over a real crm-customer process (issue 18 item 3): with a JWKS file the
// service requires iss and aud, picks the key by kid, and follows a rotation of
// the file without a restart; with a public key but no issuer or audience it
// refuses to start.
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "auth/testing/jwk.h"
#include "common/testing/eventually.h"
#include "common/testing/subprocess.h"
#include "common/testing/temp_dir.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/ticket/v1/ticket_service.grpc.pb.h"
#include "crm/runtime/log.h"
#include "gtest/gtest.h"
#include "testing/suite_process.h"

namespace crm {
namespace {

using auth::testing::Jwks;
using auth::testing::JwkTestKey;
using auth::testing::PublicJwk;
using crm::testing::CallAs;
using crm::testing::ServiceProcess;
using customer::v1::CustomerService;

constexpr char kIssuer[] = "https://id.crm.test";
constexpr char kAudience[] = "crm";

// Replaced through a rename, as a secret or ConfigMap update does.
void WriteJwks(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  std::filesystem::rename(tmp, path);
}

std::string Token(const JwkTestKey& key, const std::string& kid, const std::string& issuer = kIssuer,
                  const std::string& audience = kAudience, const std::string& sub = "root",
                  const std::string& role = "admin") {
  return auth::testing::SignWithKid(key, kid,
                                    {.sub = sub,
                                     .roles = {role},
                                     .issued_at = absl::Now(),
                                     .expires_at = absl::Now() + absl::Minutes(10),
                                     .issuer = issuer,
                                     .audience = audience});
}

// Registers a customer as the holder of `token`; the status of the call.
grpc::Status Register(CustomerService::Stub& stub, const std::string& token,
                      const std::string& name, std::string* id = nullptr) {
  customer::v1::RegisterCustomerRequest req;
  req.mutable_basic()->set_name(name);
  req.set_owner("alice");
  req.set_region("north");
  customer::v1::RegisterCustomerResponse resp;
  grpc::Status s = CallAs(stub, token, &CustomerService::Stub::RegisterCustomer, req, &resp);
  if (id != nullptr) *id = resp.customer_id();
  return s;
}

grpc::Status Get(CustomerService::Stub& stub, const std::string& token, const std::string& id) {
  customer::v1::GetCustomerRequest req;
  req.set_customer_id(id);
  customer::v1::GetCustomerResponse resp;
  return CallAs(stub, token, &CustomerService::Stub::GetCustomer, req, &resp);
}

// Reads the service's log lines until one contains `needle` (or `timeout`),
// calling `call` in between: the JWKS file is re-read on the verify path.
template <typename Fn>
bool LogShows(ServiceProcess& service, const std::string& needle, Fn call,
              absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    while (std::optional<std::string> line =
               service.process().ReadLine(absl::Milliseconds(100))) {
      if (absl::StrContains(*line, needle)) return true;
    }
    call();
  }
  return false;
}

TEST(TokenRotationE2eTest, AJwksRotationTakesEffectWithoutRestart) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  const JwkTestKey key_a = auth::testing::NewRsaKey();
  const JwkTestKey key_b = auth::testing::NewP256Key();
  const std::string jwks = dir.path() + "/jwks.json";
  WriteJwks(jwks, Jwks({PublicJwk(key_a.public_pem, "key-a")}).dump(2));

  ServiceProcess customer(CUSTOMER_PATH,
                          {"--data_dir=" + dir.path() + "/customer", "--jwt_jwks_file=" + jwks,
                           absl::StrCat("--jwt_issuer=", kIssuer),
                           absl::StrCat("--jwt_audience=", kAudience)});
  ASSERT_FALSE(customer.grpc_address().empty());
  const pid_t pid = customer.process().pid();
  auto stub = CustomerService::NewStub(customer.Channel());

  // Key A, kid A, our issuer and audience: served.
  const std::string token_a = Token(key_a, "key-a");
  std::string id;
  grpc::Status s = Register(*stub, token_a, "Rotation One", &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(Get(*stub, token_a, id).ok());

  // Same key, but meant for another application or from another issuer; no kid;
  // a kid the file does not hold; a key that is not A under A's kid.
  struct Refused {
    std::string what;
    std::string token;
  };
  const std::vector<Refused> refused = {
      {"another audience", Token(key_a, "key-a", kIssuer, "billing")},
      {"another issuer", Token(key_a, "key-a", "https://id.other.test", kAudience)},
      {"no audience", Token(key_a, "key-a", kIssuer, "")},
      {"no kid", Token(key_a, "")},
      {"unknown kid", Token(key_b, "key-b")},
      {"another key under kid A", Token(auth::testing::NewRsaKey(), "key-a")},
  };
  for (const Refused& r : refused) {
    SCOPED_TRACE(r.what);
    EXPECT_EQ(Get(*stub, r.token, id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(Register(*stub, r.token, "Refused").error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }

  // Rotation: the file now holds key B only. Within a few seconds, kid B works
  // and kid A (served a moment ago, so in the verified-token cache) does not.
  const std::string token_b = Token(key_b, "key-b");
  WriteJwks(jwks, Jwks({PublicJwk(key_b.public_pem, "key-b")}).dump(2));
  EXPECT_TRUE(crm::testing::Eventually([&] { return Get(*stub, token_b, id).ok(); },
                                       absl::Seconds(10)));
  EXPECT_EQ(Get(*stub, token_a, id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Register(*stub, token_a, "Old key").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  s = Register(*stub, token_b, "Rotation Two");
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(LogShows(customer, "\"jwks_reloaded\"", [&] { (void)Get(*stub, token_b, id); }));

  // A broken file: the keys stay as they were (and an error is logged).
  WriteJwks(jwks, "{\"keys\": [");
  EXPECT_TRUE(
      LogShows(customer, "\"jwks_reload_failed\"", [&] { (void)Get(*stub, token_b, id); }));
  EXPECT_TRUE(Get(*stub, token_b, id).ok());
  EXPECT_EQ(Get(*stub, token_a, id).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Same process throughout.
  EXPECT_EQ(customer.process().pid(), pid);
  EXPECT_EQ(customer.Stop(), 0);
}

// crm-ticket asks crm-customer about customers it has not consumed (no broker
// here: none) with the token of --service_token_file; rewriting the file changes
// the token it shows, without a restart.
TEST(TokenRotationE2eTest, TheServiceTokenFileIsReReadWithoutRestart) {
  runtime::SetLogLevel(runtime::LogLevel::kError);
  crm::testing::TempDir dir;
  const JwkTestKey key = auth::testing::NewP256Key();
  const std::string jwks = dir.path() + "/jwks.json";
  WriteJwks(jwks, Jwks({PublicJwk(key.public_pem, "k1")}).dump());
  const std::vector<std::string> auth_flags = {"--jwt_jwks_file=" + jwks,
                                               absl::StrCat("--jwt_issuer=", kIssuer),
                                               absl::StrCat("--jwt_audience=", kAudience)};
  std::vector<std::string> customer_flags = {"--data_dir=" + dir.path() + "/customer"};
  customer_flags.insert(customer_flags.end(), auth_flags.begin(), auth_flags.end());
  ServiceProcess customer(CUSTOMER_PATH, customer_flags);
  ASSERT_FALSE(customer.grpc_address().empty());

  const std::string token_file = dir.path() + "/service.token";
  const auto service_token = [&](const std::string& audience) {
    return Token(key, "k1", kIssuer, audience, "crm-ticket", "service");
  };
  WriteJwks(token_file, service_token(kAudience));  // (any file, through a rename)
  std::vector<std::string> ticket_flags = {"--data_dir=" + dir.path() + "/ticket",
                                           "--customer_addr=" + customer.grpc_address(),
                                           "--service_token_file=" + token_file};
  ticket_flags.insert(ticket_flags.end(), auth_flags.begin(), auth_flags.end());
  ServiceProcess ticket_service(TICKET_PATH, ticket_flags);
  ASSERT_FALSE(ticket_service.grpc_address().empty());
  const pid_t pid = ticket_service.process().pid();

  const std::string admin = Token(key, "k1");
  auto customers = CustomerService::NewStub(customer.Channel());
  auto tickets = ticket::v1::TicketService::NewStub(ticket_service.Channel());
  const auto open = [&](const std::string& customer_id) {
    ticket::v1::OpenTicketRequest req;
    req.set_customer_id(customer_id);
    req.set_type(ticket::v1::TICKET_TYPE_COMPLAINT);
    req.set_channel(ticket::v1::TICKET_CHANNEL_PHONE);
    req.set_priority(ticket::v1::PRIORITY_HIGH);
    req.set_subject("wrong invoice");
    ticket::v1::OpenTicketResponse resp;
    return CallAs(*tickets, admin, &ticket::v1::TicketService::Stub::OpenTicket, req, &resp);
  };
  std::string c1, c2;
  ASSERT_TRUE(Register(*customers, admin, "Lookup One", &c1).ok());
  ASSERT_TRUE(Register(*customers, admin, "Lookup Two", &c2).ok());

  // A valid service token: crm-ticket looks the customer up.
  grpc::Status s = open(c1);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // The file now holds a token for another audience: crm-customer refuses it, so
  // the lookup fails (UNAVAILABLE), within a few seconds.
  WriteJwks(token_file, service_token("billing"));
  grpc::Status refused;
  EXPECT_TRUE(crm::testing::Eventually(
      [&] {
        refused = open(c2);
        return !refused.ok();
      },
      absl::Seconds(10)));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();

  // A valid token again: served again, same process.
  WriteJwks(token_file, service_token(kAudience));
  EXPECT_TRUE(crm::testing::Eventually([&] { return open(c2).ok(); }, absl::Seconds(10)));
  EXPECT_EQ(ticket_service.process().pid(), pid);
}

struct StartResult {
  int status = 0;
  std::string output;  // stdout and stderr
};

StartResult StartCustomer(const std::vector<std::string>& flags) {
  std::string command = absl::StrCat("exec ", CUSTOMER_PATH, " --grpc_port=0 --admin_port=0");
  for (const std::string& f : flags) absl::StrAppend(&command, " '", f, "'");
  absl::StrAppend(&command, " 2>&1");
  crm::testing::Subprocess child({"/bin/sh", "-c", command});
  StartResult result;
  while (std::optional<std::string> line = child.ReadLine(absl::Seconds(30))) {
    absl::StrAppend(&result.output, *line, "\n");
    if (absl::StrContains(*line, "\"event\":\"ready\"")) {  // must not happen
      child.Kill(SIGTERM);
      break;
    }
  }
  result.status = child.Wait();
  return result;
}

TEST(TokenRotationE2eTest, RefusesToStartWithAPublicKeyButNoIssuerOrAudience) {
  crm::testing::TempDir dir;
  const JwkTestKey key = auth::testing::NewP256Key();
  const std::string pem = dir.path() + "/public.pem";
  const std::string jwks = dir.path() + "/jwks.json";
  std::ofstream(pem) << key.public_pem;
  std::ofstream(jwks) << Jwks({PublicJwk(key.public_pem, "k")}).dump();
  const std::string data = "--data_dir=" + dir.path() + "/customer";

  struct Case {
    std::vector<std::string> flags;
    std::vector<std::string> named;
  };
  const std::vector<Case> cases = {
      {{data, "--jwt_public_key_file=" + pem}, {"--jwt_issuer", "--jwt_audience"}},
      {{data, "--jwt_public_key_file=" + pem, "--jwt_issuer=https://id"}, {"--jwt_audience"}},
      {{data, "--jwt_jwks_file=" + jwks, "--jwt_audience=crm"}, {"--jwt_issuer"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.flags.back()));
    StartResult r = StartCustomer(c.flags);
    EXPECT_FALSE(absl::StrContains(r.output, "\"event\":\"ready\"")) << r.output;
    ASSERT_TRUE(WIFEXITED(r.status)) << r.output;
    EXPECT_NE(WEXITSTATUS(r.status), 0) << r.output;
    for (const std::string& flag : c.named) {
      EXPECT_TRUE(absl::StrContains(r.output, flag)) << r.output;
    }
    EXPECT_TRUE(absl::StrContains(r.output, "required with --jwt_")) << r.output;
  }
  // The same flags with both claims set: it starts.
  ServiceProcess ok(CUSTOMER_PATH, {data, "--jwt_public_key_file=" + pem, "--jwt_issuer=https://id",
                                    "--jwt_audience=crm"});
  EXPECT_FALSE(ok.grpc_address().empty());
}

}  // namespace
}  // namespace crm
