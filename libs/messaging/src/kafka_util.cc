#include "kafka_util.h"

#include "absl/strings/str_cat.h"
#include "crm/messaging/kafka_security.h"
#include "crm/runtime/log.h"

namespace crm::messaging::internal {
namespace {

void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  using runtime::LogLevel;
  // syslog levels: 0..3 error, 4 warning, 5..6 info, 7 debug.
  const LogLevel mapped = level <= 3   ? LogLevel::kError
                          : level == 4 ? LogLevel::kWarn
                          : level <= 6 ? LogLevel::kInfo
                                       : LogLevel::kDebug;
  runtime::Log(mapped, "kafka",
               {{"client", rd_kafka_name(rk)}, {"facility", facility}, {"message", message}});
}

}  // namespace

absl::StatusOr<ConfPtr> MakeConf(const std::string& brokers, const KafkaProperties& defaults,
                                 const KafkaProperties& overrides) {
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  char err[512];
  KafkaProperties all = {{"bootstrap.servers", brokers}};
  all.insert(all.end(), defaults.begin(), defaults.end());
  all.insert(all.end(), overrides.begin(), overrides.end());
  // Last, so that no client's own properties weaken the process's security.
  const KafkaProperties security = KafkaSecurityInUse();
  all.insert(all.end(), security.begin(), security.end());
  for (const auto& [name, value] : all) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof(err)) !=
        RD_KAFKA_CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka property ", name, ": ", err));
    }
  }
  return conf;
}

KafkaRecord RecordOf(const rd_kafka_message_t* msg) {
  KafkaRecord record;
  if (msg->key != nullptr) record.key.assign(static_cast<const char*>(msg->key), msg->key_len);
  if (msg->payload != nullptr) {
    record.value.assign(static_cast<const char*>(msg->payload), msg->len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      record.headers.emplace_back(
          name, value == nullptr ? std::string() : std::string(static_cast<const char*>(value), size));
    }
  }
  return record;
}

}  // namespace crm::messaging::internal
