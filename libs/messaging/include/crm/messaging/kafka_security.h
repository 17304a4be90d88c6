// Kafka client security for the whole process: TLS (with optional client
// certificates, mTLS) and SASL (SCRAM-SHA-256/512, PLAIN over TLS), from the
// runtime's --kafka_security_protocol, --kafka_ssl_* and --kafka_sasl_* flags.
//
//   RETURN_IF_ERROR(crm::messaging::UseKafkaSecurity(flags.kafka_security));
//   // from here on every producer, consumer, dead-letter producer and topic
//   // reader of the process connects with these settings.
//
// Every librdkafka configuration the library builds goes through one function
// (internal::MakeConf, kafka_util.h), which applies these properties last, so that
// no per-client property can weaken them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crm/runtime/flags.h"

namespace crm::messaging {

// The librdkafka properties for `flags`: security.protocol, ssl.ca.location,
// ssl.certificate.location, ssl.key.location, sasl.mechanisms, sasl.username,
// sasl.password (read from its file, trailing newline dropped); ssl_* endpoint
// identification stays on (librdkafka's default, host name checked).
// INVALID_ARGUMENT for a combination runtime::CheckKafkaSecurity refuses or an
// empty password file; NOT_FOUND for a file that cannot be read.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> KafkaSecurityProperties(
    const runtime::KafkaSecurityFlags& flags);

// Sets the process-wide security properties (KafkaSecurityProperties(flags)) that
// every librdkafka configuration built afterwards gets. Call once at start, before
// any client is created; errors as KafkaSecurityProperties, nothing changed then.
absl::Status UseKafkaSecurity(const runtime::KafkaSecurityFlags& flags);

// The properties UseKafkaSecurity set (empty: plaintext, librdkafka's default).
std::vector<std::pair<std::string, std::string>> KafkaSecurityInUse();

}  // namespace crm::messaging
