#include "crm/messaging/outbox_relay.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "kafka_util.h"

namespace crm::messaging {
namespace {

using runtime::Log;
using runtime::LogLevel;

class RelayImpl final : public OutboxRelay {
 public:
  RelayImpl(eventstore::EventStore& store, OutboxRelayOptions options)
      : store_(store),
        options_(std::move(options)),
        published_(options_.metrics->GetCounter("crm_outbox_published_total",
                                                "Outbox entries acknowledged by Kafka.",
                                                {{"topic", options_.topic}})),
        errors_(options_.metrics->GetCounter("crm_outbox_delivery_errors_total",
                                             "Failed deliveries to Kafka (each causes a resend).",
                                             {{"topic", options_.topic}})) {}

  ~RelayImpl() override { Stop(); }

  absl::Status Init() {
    RETURN_IF_ERROR(CreateProducer());
    backlog_gauge_ = options_.metrics->AddCallbackGauge(
        "crm_outbox_backlog", "Outbox entries not yet published.", {{"topic", options_.topic}},
        [this] { return static_cast<double>(Backlog()); });
    thread_ = std::thread([this] { Loop(); });
    // Every commit wakes the relay: no writer has to remember to.
    listener_ = store_.AddCommitListener([this](uint64_t) { Notify(); });
    return absl::OkStatus();
  }

  void Notify() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      notified_ = true;
    }
    wake_cv_.notify_one();
  }

  absl::Status Flush(absl::Duration timeout) override {
    const uint64_t target = store_.LastPosition();
    Notify();
    std::unique_lock<std::mutex> lock(mu_);
    const bool done = published_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      return store_.PublishedPosition() >= target;
    });
    if (done) return absl::OkStatus();
    return absl::DeadlineExceededError(absl::StrCat("outbox relay: ", Backlog(),
                                                    " entries still unpublished on ",
                                                    options_.topic));
  }

  uint64_t Backlog() const override {
    return store_.LastPosition() - std::min(store_.LastPosition(), store_.PublishedPosition());
  }

  void Stop() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (listener_ != 0) store_.RemoveCommitListener(listener_);
    wake_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    DestroyProducer();
    backlog_gauge_ = runtime::CallbackGauge();
  }

 private:
  absl::Status CreateProducer() {
    ASSIGN_OR_RETURN(
        internal::ConfPtr conf,
        internal::MakeConf(options_.brokers,
                           {{"client.id", options_.source + "-relay"},
                            {"enable.idempotence", "true"},
                            {"acks", "all"},
                            // No local timeout: during a broker outage records wait
                            // rather than fail, and the gapless guarantee holds.
                            {"message.timeout.ms", "0"},
                            {"enable.gapless.guarantee", "true"},
                            // With 2 ms, librdkafka 2.0's broker thread spun
                            // (57% of crm-classification's CPU at 200
                            // registrations/s in the propagation benchmark; as we
                            // read it, while a produce request was in flight). 10 ms
                            // makes fewer, larger requests: propagation p99 at
                            // 200/s went from 266-910 ms to 40 ms
                            // (docs/performance.md, Propagation).
                            {"linger.ms", "10"},
                            {"queue.buffering.max.messages",
                             absl::StrCat(options_.max_in_flight + options_.read_batch)}},
                           options_.kafka_properties));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &RelayImpl::DeliveryReport);
    rd_kafka_conf_set_opaque(conf.get(), this);
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof(err));
    if (rk == nullptr) return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", err));
    conf.release();  // owned by rk now
    producer_ = rk;
    return absl::OkStatus();
  }

  void DestroyProducer() {
    if (producer_ == nullptr) return;
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(producer_, 0);
    rd_kafka_destroy(producer_);
    producer_ = nullptr;
  }

  static void DeliveryReport(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    static_cast<RelayImpl*>(opaque)->OnDelivery(reinterpret_cast<uintptr_t>(msg->_private),
                                                msg->err);
  }

  // Runs on the relay thread (inside rd_kafka_poll).
  void OnDelivery(uint64_t position, rd_kafka_resp_err_t err) {
    auto it = in_flight_.find(position);
    if (it == in_flight_.end()) return;  // from before a rewind
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      it->second = true;
      return;
    }
    if (rewinding_) return;  // purged on purpose
    errors_.Inc();
    Log(LogLevel::kWarn, "outbox_delivery_failed",
        {{"topic", options_.topic}, {"position", position}, {"error", rd_kafka_err2str(err)}});
    rewind_ = true;
  }

  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  // Sleeps until Notify(), Stop() or `d` passes.
  void Wait(absl::Duration d) {
    std::unique_lock<std::mutex> lock(mu_);
    wake_cv_.wait_for(lock, absl::ToChronoNanoseconds(d), [&] { return notified_ || stopping_; });
    notified_ = false;
  }

  // Marks the acknowledged prefix of what is in flight as published.
  void AdvancePublished() {
    uint64_t upto = 0;
    uint64_t count = 0;
    while (!in_flight_.empty() && in_flight_.begin()->second) {
      upto = in_flight_.begin()->first;
      in_flight_.erase(in_flight_.begin());
      ++count;
    }
    if (count == 0) return;
    if (absl::Status s = store_.MarkPublished(upto); !s.ok()) {
      // Nothing lost: the entries stay unpublished and go out again after a rewind.
      Log(LogLevel::kError, "outbox_mark_failed", {{"error", s.ToString()}});
      rewind_ = true;
      return;
    }
    published_.Inc(count);
    std::lock_guard<std::mutex> lock(mu_);
    published_cv_.notify_all();
  }

  // Drops everything in flight and starts again from the durable cursor.
  void Rewind() {
    rewinding_ = true;
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    while (rd_kafka_outq_len(producer_) > 0 && !Stopping()) rd_kafka_poll(producer_, 100);
    AdvancePublished();
    rewinding_ = false;
    char reason[512];
    if (rd_kafka_fatal_error(producer_, reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Log(LogLevel::kError, "outbox_producer_fatal", {{"error", reason}});
      DestroyProducer();
      if (absl::Status s = CreateProducer(); !s.ok()) {
        Log(LogLevel::kError, "outbox_producer_create_failed", {{"error", s.ToString()}});
      }
    }
    in_flight_.clear();
    produced_upto_ = store_.PublishedPosition();
    rewind_ = false;
    Wait(options_.retry_backoff);
  }

  // Hands one entry to the producer. False when the producer's queue is full or
  // the record was refused (then a rewind is due).
  bool Produce(const eventstore::OutboxEntry& entry) {
    KafkaRecord record = ToKafkaRecord(entry.event, options_.source);
    rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
    for (const auto& [name, value] : record.headers) {
      rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(options_.topic.c_str()),
        RD_KAFKA_V_KEY(record.key.data(), record.key.size()),
        RD_KAFKA_V_VALUE(record.value.data(), record.value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(entry.position))),
        RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);  // not taken over on failure
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        errors_.Inc();
        Log(LogLevel::kWarn, "outbox_produce_failed",
            {{"topic", options_.topic}, {"position", entry.position},
             {"error", rd_kafka_err2str(err)}});
        rewind_ = true;
      }
      return false;
    }
    in_flight_.emplace(entry.position, false);
    produced_upto_ = entry.position;
    return true;
  }

  void Loop() {
    produced_upto_ = store_.PublishedPosition();
    while (!Stopping()) {
      if (rewind_ || producer_ == nullptr) {
        if (producer_ == nullptr && !CreateProducer().ok()) {
          Wait(options_.retry_backoff);
          continue;
        }
        Rewind();
        continue;
      }
      bool produced = false;
      if (in_flight_.size() < options_.max_in_flight) {
        auto entries = store_.ReadOutbox(
            produced_upto_, std::min(options_.read_batch, options_.max_in_flight - in_flight_.size()));
        if (!entries.ok()) {
          Log(LogLevel::kError, "outbox_read_failed", {{"error", entries.status().ToString()}});
          Wait(options_.retry_backoff);
          continue;
        }
        for (const eventstore::OutboxEntry& entry : *entries) {
          if (!Produce(entry)) break;
          produced = true;
        }
      }
      // Serves delivery reports; waits a little for them when there is nothing
      // else to do. The wait is short so that entries appended meanwhile are
      // produced without waiting for the batch in flight.
      rd_kafka_poll(producer_, produced || in_flight_.empty() ? 0 : 1);
      AdvancePublished();
      if (!produced && in_flight_.empty()) Wait(options_.idle_interval);
    }
  }

  eventstore::EventStore& store_;
  const OutboxRelayOptions options_;
  runtime::Counter& published_;
  runtime::Counter& errors_;
  runtime::CallbackGauge backlog_gauge_;

  std::mutex mu_;
  std::condition_variable wake_cv_;
  std::condition_variable published_cv_;
  bool notified_ = false;
  bool stopping_ = false;

  // Owned by the relay thread (after Init).
  rd_kafka_t* producer_ = nullptr;
  std::map<uint64_t, bool> in_flight_;  // position -> acknowledged
  uint64_t produced_upto_ = 0;
  bool rewind_ = false;
  bool rewinding_ = false;
  std::thread thread_;
  uint64_t listener_ = 0;  // the store's commit listener (0: none)
};

}  // namespace

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Start(eventstore::EventStore& store,
                                                                OutboxRelayOptions options) {
  if (options.brokers.empty()) return absl::InvalidArgumentError("brokers: required");
  if (options.topic.empty()) return absl::InvalidArgumentError("topic: required");
  if (options.source.empty()) return absl::InvalidArgumentError("source: required");
  if (options.max_in_flight == 0 || options.read_batch == 0) {
    return absl::InvalidArgumentError("max_in_flight and read_batch: must be positive");
  }
  if (options.metrics == nullptr) return absl::InvalidArgumentError("metrics: required");
  auto relay = std::make_unique<RelayImpl>(store, std::move(options));
  RETURN_IF_ERROR(relay->Init());
  return relay;
}

absl::StatusOr<std::unique_ptr<OutboxRelay>> StartRelayIfConfigured(eventstore::EventStore& store,
                                                                    const std::string& brokers,
                                                                    std::string_view topic,
                                                                    std::string_view source) {
  if (brokers.empty()) {
    Log(LogLevel::kWarn, "no_kafka",
        {{"message", "--kafka_brokers not set: events stay in the outbox"}});
    return nullptr;
  }
  return OutboxRelay::Start(store, {.brokers = brokers, .topic = std::string(topic),
                                    .source = std::string(source)});
}

void FlushAndStop(std::unique_ptr<OutboxRelay>& relay, absl::Duration timeout) {
  if (!relay) return;
  if (absl::Status s = relay->Flush(timeout); !s.ok()) {
    Log(LogLevel::kWarn, "outbox_not_flushed", {{"error", s.ToString()}});
  }
  relay.reset();
}

}  // namespace crm::messaging
