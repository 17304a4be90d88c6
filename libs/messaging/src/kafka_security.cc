#include "crm/messaging/kafka_security.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "crm/common/status_macros.h"

namespace crm::messaging {
namespace {

using Properties = std::vector<std::pair<std::string, std::string>>;

struct InUse {
  absl::Mutex mu;
  Properties properties ABSL_GUARDED_BY(mu);
};

InUse& Global() {
  static InUse* in_use = new InUse;  // never destroyed: clients may outlive main()
  return *in_use;
}

// NOT_FOUND unless `path` opens for reading.
absl::Status Readable(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadPassword(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("--kafka_sasl_password_file: cannot read ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string password = text.str();
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  if (password.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--kafka_sasl_password_file: ", path, " is empty"));
  }
  return password;
}

}  // namespace

absl::StatusOr<Properties> KafkaSecurityProperties(const runtime::KafkaSecurityFlags& flags) {
  RETURN_IF_ERROR(runtime::CheckKafkaSecurity(flags));
  Properties p = {{"security.protocol", flags.protocol}};
  if (!flags.ssl_ca_file.empty()) {
    RETURN_IF_ERROR(Readable("kafka_ssl_ca_file", flags.ssl_ca_file));
    p.emplace_back("ssl.ca.location", flags.ssl_ca_file);
  }
  if (!flags.ssl_cert_file.empty()) {
    RETURN_IF_ERROR(Readable("kafka_ssl_cert_file", flags.ssl_cert_file));
    RETURN_IF_ERROR(Readable("kafka_ssl_key_file", flags.ssl_key_file));
    p.emplace_back("ssl.certificate.location", flags.ssl_cert_file);
    p.emplace_back("ssl.key.location", flags.ssl_key_file);
  }
  if (flags.protocol == "ssl" || flags.protocol == "sasl_ssl") {
    // librdkafka >= 2.0 checks the broker's host name by default; say so explicitly.
    p.emplace_back("ssl.endpoint.identification.algorithm", "https");
  }
  if (!flags.sasl_mechanism.empty()) {
    ASSIGN_OR_RETURN(std::string password, ReadPassword(flags.sasl_password_file));
    p.emplace_back("sasl.mechanisms", flags.sasl_mechanism);
    p.emplace_back("sasl.username", flags.sasl_username);
    p.emplace_back("sasl.password", std::move(password));
  }
  return p;
}

absl::Status UseKafkaSecurity(const runtime::KafkaSecurityFlags& flags) {
  ASSIGN_OR_RETURN(Properties p, KafkaSecurityProperties(flags));
  InUse& g = Global();
  absl::MutexLock lock(&g.mu);
  g.properties = std::move(p);
  return absl::OkStatus();
}

Properties KafkaSecurityInUse() {
  InUse& g = Global();
  absl::MutexLock lock(&g.mu);
  return g.properties;
}

}  // namespace crm::messaging
