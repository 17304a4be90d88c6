#include "dead_letter_producer.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/messaging/dead_letters.h"

namespace crm::messaging::internal {
namespace {

// The outcome of one Produce call, shared with the delivery reports of its
// records, which may arrive after the call gave up.
struct Outcome {
  std::mutex mu;
  size_t pending = 0;
  std::string first_error;
};

struct Delivery {
  std::shared_ptr<Outcome> outcome;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DeadLetterProducer>> DeadLetterProducer::Open(
    const std::string& brokers, const std::string& client_id, std::string topic,
    absl::Duration timeout, const KafkaProperties& overrides) {
  ASSIGN_OR_RETURN(
      ConfPtr conf,
      MakeConf(brokers,
               {{"client.id", client_id},
                {"enable.idempotence", "true"},
                {"acks", "all"},
                {"message.timeout.ms", absl::StrCat(absl::ToInt64Milliseconds(timeout))},
                {"linger.ms", "5"}},
               overrides));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &DeadLetterProducer::DeliveryReport);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
  if (rk == nullptr) return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", err));
  conf.release();
  return std::unique_ptr<DeadLetterProducer>(new DeadLetterProducer(rk, std::move(topic), timeout));
}

DeadLetterProducer::~DeadLetterProducer() {
  // Records still waiting are dropped (their rows are committed, or their batch
  // is consumed again); serve their reports so that nothing leaks.
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(producer_, 1000);
  rd_kafka_destroy(producer_);
}

void DeadLetterProducer::DeliveryReport(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  std::unique_ptr<Delivery> delivery(static_cast<Delivery*>(msg->_private));
  if (delivery == nullptr) return;
  std::lock_guard<std::mutex> lock(delivery->outcome->mu);
  --delivery->outcome->pending;
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR && delivery->outcome->first_error.empty()) {
    delivery->outcome->first_error = rd_kafka_err2str(msg->err);
  }
}

absl::Status DeadLetterProducer::Produce(const std::vector<events::v1::DeadLetter>& letters,
                                         const std::atomic<bool>& stopping) {
  auto outcome = std::make_shared<Outcome>();
  for (const events::v1::DeadLetter& letter : letters) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(letter.headers_size() + 4);
    for (const events::v1::RecordHeader& h : letter.headers()) {
      rd_kafka_header_add(headers, h.name().data(), static_cast<ssize_t>(h.name().size()),
                          h.value().data(), static_cast<ssize_t>(h.value().size()));
    }
    auto add = [&](std::string_view name, const std::string& value) {
      rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    };
    add(kDlqReasonHeader, letter.reason());
    add(kDlqTopicHeader, letter.topic());
    add(kDlqPartitionHeader, absl::StrCat(letter.partition()));
    add(kDlqOffsetHeader, absl::StrCat(letter.offset()));
    auto delivery = std::make_unique<Delivery>(Delivery{outcome});
    {
      std::lock_guard<std::mutex> lock(outcome->mu);
      ++outcome->pending;
    }
    const rd_kafka_resp_err_t e = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(topic_.c_str()),
        RD_KAFKA_V_KEY(letter.key().data(), letter.key().size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(letter.value().data()), letter.value().size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(delivery.get()), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);  // not taken over on failure
      std::lock_guard<std::mutex> lock(outcome->mu);
      --outcome->pending;
      return absl::UnavailableError(
          absl::StrCat("dead-letter topic ", topic_, ": ", rd_kafka_err2str(e)));
    }
    delivery.release();  // owned by its delivery report now
  }
  // librdkafka fails each record after message.timeout.ms; the deadline is a
  // guard on top of that.
  const absl::Time deadline = absl::Now() + timeout_ + absl::Seconds(5);
  for (;;) {
    rd_kafka_poll(producer_, 50);
    std::lock_guard<std::mutex> lock(outcome->mu);
    if (!outcome->first_error.empty()) {
      return absl::UnavailableError(
          absl::StrCat("dead-letter topic ", topic_, ": ", outcome->first_error));
    }
    if (outcome->pending == 0) return absl::OkStatus();
    if (stopping.load()) return absl::UnavailableError("dead-letter produce: stopping");
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(absl::StrCat("dead-letter topic ", topic_,
                                                 ": no delivery report within ",
                                                 absl::FormatDuration(timeout_)));
    }
  }
}

}  // namespace crm::messaging::internal
