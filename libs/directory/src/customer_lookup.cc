// VisibleIn, VisibleCustomer, the gRPC CustomerLookup, ServiceToken and MakeCustomerLookup.
#include <fstream>
#include <iterator>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/auth/grpc_auth.h"
#include "crm/auth/jwt.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/customer/v1/customer_service.grpc.pb.h"
#include "crm/directory/customer_directory.h"
#include "crm/domain/not_found.h"
#include "crm/domain/validation.h"
#include "crm/runtime/log.h"
#include "grpcpp/grpcpp.h"

namespace crm::directory {
namespace {

class GrpcCustomerLookup final : public CustomerLookup {
 public:
  GrpcCustomerLookup(std::shared_ptr<grpc::Channel> channel, std::function<std::string()> token)
      : stub_(customer::v1::CustomerService::NewStub(channel)), token_(std::move(token)) {}

  absl::StatusOr<std::optional<CustomerRef>> Lookup(const std::string& customer_id) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.AddMetadata("authorization", auth::BearerHeader(token_()));
    customer::v1::GetCustomerRequest req;
    req.set_customer_id(customer_id);
    customer::v1::GetCustomerResponse resp;
    grpc::Status s = stub_->GetCustomer(&ctx, req, &resp);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return std::nullopt;
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("customer service lookup of ", customer_id, ": ", s.error_message()));
    }
    return CustomerRef{customer_id, resp.customer().owner(), resp.customer().region()};
  }

 private:
  std::unique_ptr<customer::v1::CustomerService::Stub> stub_;
  std::function<std::string()> token_;
};

// The first whitespace-separated word of `path`, or an error naming the flag.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!(in >> token)) return absl::NotFoundError("--service_token_file: cannot read " + path);
  return token;
}

class ServiceTokenImpl final : public ServiceToken {
 public:
  explicit ServiceTokenImpl(std::string subject) : subject_(std::move(subject)) {}

  std::string Get() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!token_file_.empty()) {
      // Re-read at most once a second, so a rotated token is picked up without
      // a restart; a file that cannot be read keeps the last token.
      const absl::Time now = absl::Now();
      if (now >= next_check_) {
        next_check_ = now + kTokenFileCheckInterval;
        absl::StatusOr<std::string> token = ReadTokenFile(token_file_);
        if (!token.ok()) {
          if (!read_failed_) {
            runtime::Log(runtime::LogLevel::kError, "service_token_reload_failed",
                         {{"file", token_file_},
                          {"error", std::string(token.status().message())},
                          {"action", "keeping the previous token"}});
          }
          read_failed_ = true;
        } else {
          read_failed_ = false;
          if (*token != token_) {
            token_ = *std::move(token);
            runtime::Log(runtime::LogLevel::kInfo, "service_token_reloaded",
                         {{"file", token_file_}});
          }
        }
      }
      return token_;
    }
    if (signer_ && absl::Now() > expires_ - absl::Minutes(5)) {
      auth::Claims claims;
      claims.sub = subject_;
      claims.roles = {"service"};
      claims.issued_at = absl::Now();
      claims.expires_at = expires_ = absl::Now() + absl::Hours(1);
      absl::StatusOr<std::string> token = signer_->Sign(claims);
      if (token.ok()) token_ = *token;
    }
    return token_;
  }

  static constexpr absl::Duration kTokenFileCheckInterval = absl::Seconds(1);

  const std::string subject_;
  std::mutex mu_;
  std::unique_ptr<auth::TokenSigner> signer_;  // set when minting
  std::string token_file_;                     // set when read from a file
  absl::Time next_check_ = absl::InfinitePast();
  bool read_failed_ = false;
  std::string token_;
  absl::Time expires_ = absl::InfinitePast();
};

}  // namespace

std::unique_ptr<CustomerLookup> NewGrpcCustomerLookup(std::shared_ptr<grpc::Channel> channel,
                                                      std::function<std::string()> token) {
  return std::make_unique<GrpcCustomerLookup>(std::move(channel), std::move(token));
}

bool VisibleIn(const customer::v1::Customer& entry, const auth::Principal& who, absl::Time now) {
  // CheckCustomerAccess without its error: the role scope, then the row's grants.
  if (auth::ScopeFor(who).Allows({entry.customer_id(), entry.owner(), entry.region()})) {
    return true;
  }
  for (const customer::v1::AccessGrant& g : entry.access_grants()) {
    if (auth::GrantAllows({g.subject(), entry.customer_id(), FromProtoTimestamp(g.expires_at())},
                          who.subject, entry.customer_id(), now)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<CustomerRef> VisibleCustomer(eventstore::EventStore& store, CustomerLookup* lookup,
                                            const auth::Principal& who,
                                            const std::string& customer_id, absl::Time now) {
  // Before any lookup: an id no customer can have is never sent on to crm-customer.
  RETURN_IF_ERROR(domain::ValidateId("customer_id", customer_id, domain::Presence::kRequired));
  ASSIGN_OR_RETURN(std::optional<customer::v1::Customer> entry,
                   LoadDirectoryEntry(store, customer_id));
  // A customer the caller may not see answers exactly like one that does not
  // exist (domain::CustomerNotFound), from the directory and from the lookup.
  if (entry) {
    if (!VisibleIn(*entry, who, now)) return domain::CustomerNotFound(customer_id);
    return CustomerRef{customer_id, entry->owner(), entry->region()};
  }
  // Registered a moment ago, not consumed yet: ask the customer service.
  std::optional<CustomerRef> looked_up;
  if (lookup != nullptr) {
    ASSIGN_OR_RETURN(looked_up, lookup->Lookup(customer_id));
  }
  if (!looked_up ||
      !auth::CheckCustomerAccess(
           who, {looked_up->customer_id, looked_up->owner, looked_up->region}, now, {})
           .ok()) {
    return domain::CustomerNotFound(customer_id);
  }
  return *std::move(looked_up);
}

absl::StatusOr<std::unique_ptr<ServiceToken>> ServiceToken::Create(const std::string& subject,
                                                                   const std::string& token_file,
                                                                   const std::string& secret_file) {
  auto t = std::make_unique<ServiceTokenImpl>(subject);
  if (!token_file.empty()) {
    ASSIGN_OR_RETURN(t->token_, ReadTokenFile(token_file));
    t->token_file_ = token_file;
    t->next_check_ = absl::Now() + ServiceTokenImpl::kTokenFileCheckInterval;
    return t;
  }
  if (secret_file.empty()) {
    return absl::InvalidArgumentError(
        "--service_token_file: required with --customer_addr unless --jwt_secret_file is set");
  }
  ASSIGN_OR_RETURN(auth::SignerConfig config, auth::LoadSignerConfig(secret_file, ""));
  ASSIGN_OR_RETURN(t->signer_, auth::TokenSigner::Create(config));
  return t;
}

absl::StatusOr<std::unique_ptr<CustomerLookup>> MakeCustomerLookup(
    const std::string& subject, const std::string& customer_addr, const std::string& tls_ca_file,
    const std::string& service_token_file, const std::string& jwt_secret_file) {
  if (customer_addr.empty()) return nullptr;
  ASSIGN_OR_RETURN(std::shared_ptr<ServiceToken> token,
                   ServiceToken::Create(subject, service_token_file, jwt_secret_file));
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!tls_ca_file.empty()) {
    std::ifstream in(tls_ca_file);
    std::string roots((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (roots.empty()) {
      return absl::NotFoundError("--customer_tls_ca_file: cannot read " + tls_ca_file);
    }
    credentials = grpc::SslCredentials({.pem_root_certs = roots});
  }
  // The lookup owns its token through the closure.
  return NewGrpcCustomerLookup(grpc::CreateChannel(customer_addr, credentials),
                               [token] { return token->Get(); });
}

bool VisibilityCache::Visible(const std::string& customer_id) {
  auto [it, inserted] = known_.try_emplace(customer_id, false);
  if (inserted) it->second = VisibleCustomer(store_, lookup_, who_, customer_id, now_).ok();
  return it->second;
}

}  // namespace crm::directory
