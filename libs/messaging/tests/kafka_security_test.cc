// Kafka TLS/SASL flags -> librdkafka: the flags as a service parses them
// (runtime::ParseServiceFlags), the properties of the configuration every client
// of the library is built from (internal::MakeConf) read back with
// rd_kafka_conf_get, librdkafka accepting them (rd_kafka_new loads the CA,
// certificate and key; SCRAM is built in), and the combinations refused at start.
// No broker: the embedded one speaks no TLS.
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/testing/temp_dir.h"
#include "crm/messaging/kafka_security.h"
#include "crm/runtime/flags.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafka.h"
#include "messaging/src/kafka_util.h"

namespace crm::messaging {
namespace {

using Props = std::map<std::string, std::string>;

// A CA, and a client certificate + key it signed, with the openssl CLI.
class Certs {
 public:
  Certs() {
    const std::string d = dir_.path();
    const std::string cmd = absl::StrCat(
        "cd ", d, " && ",
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out ca.pem -days 1 -subj /CN=test-ca && ",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout client.key -out client.csr -subj /CN=crm-ticket && ",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out client.pem -days 1 && ",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout other.key -out other.csr -subj /CN=other",
        " > openssl.log 2>&1");
    ok_ = std::system(cmd.c_str()) == 0;
    std::ofstream(d + "/password") << "s3cret-scram\n";
    std::ofstream(d + "/empty");
  }
  bool ok() const { return ok_; }
  std::string operator()(const std::string& name) const { return dir_.path() + "/" + name; }

 private:
  crm::testing::TempDir dir_;
  bool ok_ = false;
};

absl::StatusOr<runtime::ServiceFlags> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "crm-test");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  return runtime::ParseServiceFlags(static_cast<int>(argv.size()), argv.data(), "crm-test");
}

std::string Get(rd_kafka_conf_t* conf, const std::string& name) {
  char value[1024];
  size_t size = sizeof(value);
  if (rd_kafka_conf_get(conf, name.c_str(), value, &size) != RD_KAFKA_CONF_OK) return "<unset>";
  return value;
}

// Parses `args`, applies them process-wide, builds a client configuration the way
// the relay and the consumer do (a client override trying plaintext included) and
// checks `want` in it; then librdkafka must create a producer from it.
void ExpectConf(const std::vector<std::string>& args, const Props& want) {
  SCOPED_TRACE(absl::StrCat("flags: ", args.empty() ? "(none)" : args[0], " ..."));
  absl::StatusOr<runtime::ServiceFlags> flags = Parse(args);
  ASSERT_TRUE(flags.ok()) << flags.status();
  ASSERT_TRUE(UseKafkaSecurity(flags->kafka_security).ok());
  absl::StatusOr<internal::ConfPtr> conf =
      internal::MakeConf("127.0.0.1:1", {{"client.id", "test"}},
                         {{"security.protocol", "plaintext"}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  for (const auto& [name, value] : want) EXPECT_EQ(Get(conf->get(), name), value) << name;
  EXPECT_EQ(Get(conf->get(), "bootstrap.servers"), "127.0.0.1:1");
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), err, sizeof(err));
  EXPECT_NE(rk, nullptr) << "librdkafka refused the configuration: " << err;
  if (rk != nullptr) {
    (void)conf->release();  // rd_kafka_new took it
    rd_kafka_destroy(rk);
  }
}

class KafkaSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(certs_.ok()) << "openssl failed: " << certs_("openssl.log"); }
  void TearDown() override { ASSERT_TRUE(UseKafkaSecurity({}).ok()); }
  Certs certs_;
};

TEST_F(KafkaSecurityTest, LibrdkafkaIsBuiltWithTlsAndScram) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::string features = Get(conf, "builtin.features");
  rd_kafka_conf_destroy(conf);
  EXPECT_NE(features.find("ssl"), std::string::npos) << features;
  EXPECT_NE(features.find("sasl_scram"), std::string::npos) << features;
}

TEST_F(KafkaSecurityTest, PlaintextByDefault) {
  ExpectConf({}, {{"security.protocol", "plaintext"}});
}

TEST_F(KafkaSecurityTest, TlsWithTheOperatorsCa) {
  ExpectConf({"--kafka_security_protocol=ssl", "--kafka_ssl_ca_file=" + certs_("ca.pem")},
             {{"security.protocol", "ssl"},
              {"ssl.ca.location", certs_("ca.pem")},
              {"ssl.endpoint.identification.algorithm", "https"},
              {"sasl.mechanisms", "GSSAPI"}});  // librdkafka's default, unused with ssl
}

TEST_F(KafkaSecurityTest, MutualTlsWithAClientCertificate) {
  ExpectConf({"--kafka_security_protocol=ssl", "--kafka_ssl_ca_file=" + certs_("ca.pem"),
              "--kafka_ssl_cert_file=" + certs_("client.pem"),
              "--kafka_ssl_key_file=" + certs_("client.key")},
             {{"security.protocol", "ssl"},
              {"ssl.ca.location", certs_("ca.pem")},
              {"ssl.certificate.location", certs_("client.pem")},
              {"ssl.key.location", certs_("client.key")}});
}

TEST_F(KafkaSecurityTest, ScramSha512OverTls) {
  ExpectConf({"--kafka_security_protocol=sasl_ssl", "--kafka_ssl_ca_file=" + certs_("ca.pem"),
              "--kafka_sasl_mechanism=SCRAM-SHA-512", "--kafka_sasl_username=crm-ticket",
              "--kafka_sasl_password_file=" + certs_("password")},
             {{"security.protocol", "sasl_ssl"},
              {"ssl.ca.location", certs_("ca.pem")},
              {"sasl.mechanisms", "SCRAM-SHA-512"},
              {"sasl.username", "crm-ticket"},
              {"sasl.password", "s3cret-scram"}});  // from the file, newline dropped
}

TEST_F(KafkaSecurityTest, ScramSha256WithoutTlsAndPlainOverTls) {
  ExpectConf({"--kafka_security_protocol=sasl_plaintext", "--kafka_sasl_mechanism=SCRAM-SHA-256",
              "--kafka_sasl_username=u", "--kafka_sasl_password_file=" + certs_("password")},
             {{"security.protocol", "sasl_plaintext"},
              {"sasl.mechanisms", "SCRAM-SHA-256"},
              {"sasl.username", "u"}});
  ExpectConf({"--kafka_security_protocol=sasl_ssl", "--kafka_sasl_mechanism=PLAIN",
              "--kafka_sasl_username=u", "--kafka_sasl_password_file=" + certs_("password")},
             {{"security.protocol", "sasl_ssl"}, {"sasl.mechanisms", "PLAIN"}});
}

TEST_F(KafkaSecurityTest, FromTheEnvironmentToo) {
  setenv("CRM_KAFKA_SECURITY_PROTOCOL", "ssl", 1);
  setenv("CRM_KAFKA_SSL_CA_FILE", certs_("ca.pem").c_str(), 1);
  absl::StatusOr<runtime::ServiceFlags> flags = Parse({});
  unsetenv("CRM_KAFKA_SECURITY_PROTOCOL");
  unsetenv("CRM_KAFKA_SSL_CA_FILE");
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->kafka_security.protocol, "ssl");
  EXPECT_EQ(flags->kafka_security.ssl_ca_file, certs_("ca.pem"));
}

TEST_F(KafkaSecurityTest, InconsistentCombinationsAreRefusedAtParse) {
  const std::string ca = "--kafka_ssl_ca_file=" + certs_("ca.pem");
  const std::string pw = "--kafka_sasl_password_file=" + certs_("password");
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--kafka_security_protocol=tls"}, "kafka_security_protocol"},
      {{ca}, "need --kafka_security_protocol=ssl or sasl_ssl"},
      {{"--kafka_security_protocol=sasl_plaintext", ca,
        "--kafka_sasl_mechanism=SCRAM-SHA-256", "--kafka_sasl_username=u", pw},
       "need --kafka_security_protocol=ssl or sasl_ssl"},
      {{"--kafka_security_protocol=ssl", "--kafka_ssl_cert_file=" + certs_("client.pem")},
       "go together"},
      {{"--kafka_security_protocol=ssl", "--kafka_sasl_mechanism=SCRAM-SHA-512"},
       "need --kafka_security_protocol=sasl_plaintext or sasl_ssl"},
      {{"--kafka_sasl_username=u", pw}, "need --kafka_security_protocol=sasl_plaintext"},
      {{"--kafka_security_protocol=sasl_ssl", "--kafka_sasl_username=u", pw},
       "needs --kafka_sasl_mechanism"},
      {{"--kafka_security_protocol=sasl_ssl", "--kafka_sasl_mechanism=SCRAM-SHA-256", pw},
       "needs --kafka_sasl_username and --kafka_sasl_password_file"},
      {{"--kafka_security_protocol=sasl_ssl", "--kafka_sasl_mechanism=SCRAM-SHA-256",
        "--kafka_sasl_username=u"},
       "needs --kafka_sasl_username and --kafka_sasl_password_file"},
      {{"--kafka_security_protocol=sasl_plaintext", "--kafka_sasl_mechanism=PLAIN",
        "--kafka_sasl_username=u", pw},
       "only with --kafka_security_protocol=sasl_ssl"},
      {{"--kafka_security_protocol=sasl_ssl", "--kafka_sasl_mechanism=GSSAPI",
        "--kafka_sasl_username=u", pw},
       "kafka_sasl_mechanism"},
      {{"--kafka_sasl_password=s3cret"}, "kafka_sasl_password"},  // no such flag
  };
  for (const auto& [args, message] : bad) {
    absl::StatusOr<runtime::ServiceFlags> flags = Parse(args);
    ASSERT_FALSE(flags.ok()) << args[0];
    EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument) << flags.status();
    EXPECT_NE(flags.status().message().find(message), std::string::npos)
        << "got: " << flags.status() << "\nwant: " << message;
  }
}

TEST_F(KafkaSecurityTest, UnreadableFilesAndEmptyPasswordsAreRefusedAndChangeNothing) {
  runtime::KafkaSecurityFlags good{.protocol = "ssl", .ssl_ca_file = certs_("ca.pem")};
  ASSERT_TRUE(UseKafkaSecurity(good).ok());

  runtime::KafkaSecurityFlags scram{.protocol = "sasl_ssl",
                                    .sasl_mechanism = "SCRAM-SHA-256",
                                    .sasl_username = "u",
                                    .sasl_password_file = certs_("missing")};
  absl::Status s = UseKafkaSecurity(scram);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find("--kafka_sasl_password_file"), std::string::npos) << s;
  scram.sasl_password_file = certs_("empty");
  s = UseKafkaSecurity(scram);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("is empty"), std::string::npos) << s;

  runtime::KafkaSecurityFlags mtls{.protocol = "ssl",
                                   .ssl_cert_file = certs_("client.pem"),
                                   .ssl_key_file = certs_("missing.key")};
  s = UseKafkaSecurity(mtls);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find("--kafka_ssl_key_file"), std::string::npos) << s;

  // Still the last good settings.
  std::vector<std::pair<std::string, std::string>> in_use = KafkaSecurityInUse();
  std::map<std::string, std::string> m(in_use.begin(), in_use.end());
  EXPECT_EQ(m["security.protocol"], "ssl");
  EXPECT_EQ(m["ssl.ca.location"], certs_("ca.pem"));
}

TEST_F(KafkaSecurityTest, LibrdkafkaRefusesAKeyThatIsNotTheCertificates) {
  // The flags cannot know; librdkafka does when the client is created, which is
  // when the relay and the consumer start (the service then fails to start).
  ASSERT_TRUE(UseKafkaSecurity({.protocol = "ssl",
                                .ssl_cert_file = certs_("client.pem"),
                                .ssl_key_file = certs_("other.key")})
                  .ok());
  absl::StatusOr<internal::ConfPtr> conf = internal::MakeConf("127.0.0.1:1", {}, {});
  ASSERT_TRUE(conf.ok()) << conf.status();
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), err, sizeof(err));
  EXPECT_EQ(rk, nullptr);
  if (rk != nullptr) {
    (void)conf->release();
    rd_kafka_destroy(rk);
  }
}

}  // namespace
}  // namespace crm::messaging
