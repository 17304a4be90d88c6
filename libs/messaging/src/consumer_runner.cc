#include "crm/messaging/consumer_runner.h"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/messaging/cloudevents.h"
#include "crm/runtime/log.h"
#include "kafka_util.h"

namespace crm::messaging {
namespace {

using eventstore::ProjectionWrite;
using runtime::Log;
using runtime::LogLevel;

using PartitionKey = std::pair<std::string, int32_t>;  // topic, partition

class RunnerImpl final : public ConsumerRunner {
 public:
  RunnerImpl(eventstore::EventStore& store, EventHandler& handler, ConsumerOptions options)
      : store_(store),
        handler_(handler),
        options_(std::move(options)),
        lag_(options_.metrics->GetGauge("crm_consumer_lag",
                                        "Records behind the partitions' high watermarks.",
                                        {{"group", options_.group_id}})) {
    for (const std::string& topic : options_.topics) {
      processed_counters_[topic] = &options_.metrics->GetCounter(
          "crm_consumer_processed_total", "Consumed records handled and committed.",
          {{"group", options_.group_id}, {"topic", topic}});
      skipped_counters_[topic] = &options_.metrics->GetCounter(
          "crm_consumer_skipped_total",
          "Consumed records skipped as redelivered, duplicate or undecodable.",
          {{"group", options_.group_id}, {"topic", topic}});
    }
  }

  ~RunnerImpl() override { Stop(); }

  absl::Status Init() {
    ASSIGN_OR_RETURN(internal::ConfPtr conf,
                     internal::MakeConf(options_.brokers,
                                        {{"group.id", options_.group_id},
                                         {"client.id", options_.group_id + "-consumer"},
                                         {"enable.auto.commit", "false"},
                                         {"enable.auto.offset.store", "false"},
                                         {"auto.offset.reset", "earliest"},
                                         // Real Kafka answers a fetch as soon as records
                                         // arrive; the dev broker waits the full time, so
                                         // keep it short (500 ms by default).
                                         {"fetch.wait.max.ms", "20"}},
                                        options_.kafka_properties));
    rd_kafka_conf_set_rebalance_cb(conf.get(), &RunnerImpl::Rebalance);
    rd_kafka_conf_set_opaque(conf.get(), this);
    char err[512];
    consumer_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
    if (consumer_ == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", err));
    }
    conf.release();
    rd_kafka_poll_set_consumer(consumer_);
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size()));
    for (const std::string& t : options_.topics) {
      rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(consumer_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InvalidArgumentError(absl::StrCat("subscribe: ", rd_kafka_err2str(e)));
    }
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  uint64_t Processed() const override { return processed_.load(); }

  void Stop() override {
    if (stopping_.exchange(true)) return;
    if (thread_.joinable()) thread_.join();
    if (consumer_ != nullptr) {
      rd_kafka_consumer_close(consumer_);
      rd_kafka_destroy(consumer_);
      consumer_ = nullptr;
    }
  }

 private:
  std::string OffsetKey(const PartitionKey& p) const {
    return absl::StrCat(options_.group_id, "/", p.first, "/", p.second);
  }

  // The stored next offset of a partition, or nullopt when none is stored.
  absl::StatusOr<std::optional<int64_t>> LoadOffset(const PartitionKey& p) {
    ASSIGN_OR_RETURN(std::optional<std::string> row,
                     store_.GetProjection(kConsumerOffsetsProjection, OffsetKey(p)));
    if (!row) return std::nullopt;
    int64_t offset = 0;
    if (!absl::SimpleAtoi(*row, &offset)) return absl::DataLossError("corrupt consumer offset");
    return offset;
  }

  static void Rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    static_cast<RunnerImpl*>(opaque)->OnRebalance(rk, err, partitions);
  }

  // Runs on the runner thread (inside consumer_poll).
  void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                   rd_kafka_topic_partition_list_t* partitions) {
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      rd_kafka_assign(rk, nullptr);
      next_offsets_.clear();
      return;
    }
    for (int i = 0; i < partitions->cnt; ++i) {
      rd_kafka_topic_partition_t& tp = partitions->elems[i];
      const PartitionKey key{tp.topic, tp.partition};
      absl::StatusOr<std::optional<int64_t>> stored = LoadOffset(key);
      if (!stored.ok()) {
        // Position dedupe still keeps a replay from applying anything twice.
        Log(LogLevel::kError, "consumer_offset_read_failed", {{"error", stored.status().ToString()}});
      }
      const int64_t next = stored.ok() && stored->has_value() ? **stored : 0;
      tp.offset = next > 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
      next_offsets_[key] = next;
    }
    rd_kafka_assign(rk, partitions);
    Log(LogLevel::kInfo, "consumer_assigned",
        {{"group", options_.group_id}, {"partitions", partitions->cnt}});
  }

  void Loop() {
    std::vector<rd_kafka_message_t*> batch;
    while (!stopping_.load()) {
      batch.clear();
      rd_kafka_message_t* first =
          rd_kafka_consumer_poll(consumer_, static_cast<int>(absl::ToInt64Milliseconds(options_.poll_timeout)));
      if (first == nullptr) continue;
      batch.push_back(first);
      while (batch.size() < options_.max_batch) {
        rd_kafka_message_t* next = rd_kafka_consumer_poll(consumer_, 0);
        if (next == nullptr) break;
        batch.push_back(next);
      }
      absl::Status s = ProcessBatch(batch);
      for (rd_kafka_message_t* m : batch) rd_kafka_message_destroy(m);
      if (!s.ok()) {
        Log(LogLevel::kError, "consumer_batch_failed",
            {{"group", options_.group_id}, {"error", s.ToString()}});
        RewindToStoredOffsets();
        std::this_thread::sleep_for(absl::ToChronoNanoseconds(options_.retry_backoff));
      }
      UpdateLag();
    }
  }

  absl::Status ProcessBatch(const std::vector<rd_kafka_message_t*>& batch) {
    PendingWritesView view(&store_);
    std::vector<ProjectionWrite> writes;
    std::vector<ProjectionWrite> handler_out;
    std::map<PartitionKey, int64_t> advanced;
    std::map<std::string, uint64_t> processed_by_topic, skipped_by_topic;
    uint64_t processed = 0;

    for (const rd_kafka_message_t* msg : batch) {
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          Log(LogLevel::kWarn, "consumer_error", {{"error", rd_kafka_message_errstr(msg)}});
        }
        continue;
      }
      const PartitionKey partition{rd_kafka_topic_name(msg->rkt), msg->partition};
      auto known = advanced.find(partition);
      const int64_t next =
          known != advanced.end() ? known->second : next_offsets_[partition];
      if (msg->offset < next) {  // redelivered: already committed
        ++skipped_by_topic[partition.first];
        // After the seek to the stored offsets this should not happen; when it
        // does, the topic was most likely recreated (or the broker lost it) and
        // the stored offsets are beyond its end: say so once per partition.
        if (warned_below_stored_.insert(partition).second) {
          Log(LogLevel::kWarn, "consumer_record_below_stored_offset",
              {{"topic", partition.first}, {"partition", partition.second},
               {"offset", msg->offset}, {"stored_next_offset", next},
               {"hint", "records below the stored offset are skipped as already "
                        "applied; if the topic was recreated, the stored offsets are stale"}});
        }
        continue;
      }
      advanced[partition] = msg->offset + 1;

      absl::StatusOr<eventstore::EventEnvelope> event = FromKafkaRecord(internal::RecordOf(msg));
      if (!event.ok()) {
        // A record that can never decode must not block the partition forever.
        Log(LogLevel::kError, "consumer_undecodable_record",
            {{"topic", partition.first}, {"partition", partition.second}, {"offset", msg->offset},
             {"error", event.status().ToString()}});
        ++skipped_by_topic[partition.first];
        continue;
      }
      const std::string dedupe_key =
          absl::StrCat(options_.group_id, "/", partition.first, "/", event->partition_key());
      ASSIGN_OR_RETURN(std::optional<std::string> last,
                       view.Get(kConsumerDedupeProjection, dedupe_key));
      uint64_t last_position = 0;
      if (last && !absl::SimpleAtoi(*last, &last_position)) {
        return absl::DataLossError("corrupt dedupe row");
      }
      if (event->global_position() <= last_position) {  // a duplicate from the producer
        ++skipped_by_topic[partition.first];
        continue;
      }

      ConsumedEvent consumed{partition.first, partition.second, msg->offset, *std::move(event)};
      handler_out.clear();
      RETURN_IF_ERROR(handler_.Handle(consumed, view, handler_out));
      handler_out.push_back(ProjectionWrite::Put(std::string(kConsumerDedupeProjection), dedupe_key,
                                                 absl::StrCat(consumed.event.global_position())));
      for (ProjectionWrite& w : handler_out) {
        view.Apply(w);
        writes.push_back(std::move(w));
      }
      ++processed;
      ++processed_by_topic[partition.first];
    }

    for (const auto& [partition, next] : advanced) {
      writes.push_back(ProjectionWrite::Put(std::string(kConsumerOffsetsProjection),
                                            OffsetKey(partition), absl::StrCat(next)));
    }
    if (!writes.empty()) RETURN_IF_ERROR(store_.WriteProjections(writes));
    for (const auto& [partition, next] : advanced) next_offsets_[partition] = next;
    processed_.fetch_add(processed);
    for (const auto& [topic, n] : processed_by_topic) CounterFor(processed_counters_, topic).Inc(n);
    for (const auto& [topic, n] : skipped_by_topic) CounterFor(skipped_counters_, topic).Inc(n);
    CommitToKafka(advanced);
    if (processed > 0 && options_.on_committed) options_.on_committed();
    return absl::OkStatus();
  }

  runtime::Counter& CounterFor(std::map<std::string, runtime::Counter*>& counters,
                            const std::string& topic) {
    return *counters.at(topic);
  }

  // Kafka's committed offsets are informational (lag in standard tools); the
  // store's rows are what the runner resumes from.
  void CommitToKafka(const std::map<PartitionKey, int64_t>& advanced) {
    if (advanced.empty()) return;
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(advanced.size()));
    for (const auto& [partition, next] : advanced) {
      rd_kafka_topic_partition_list_add(list, partition.first.c_str(), partition.second)->offset =
          next;
    }
    rd_kafka_commit(consumer_, list, /*async=*/1);
    rd_kafka_topic_partition_list_destroy(list);
  }

  // After a failed batch: consume again from what the store holds.
  void RewindToStoredOffsets() {
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets_.size()));
    for (const auto& [partition, next] : next_offsets_) {
      rd_kafka_topic_partition_list_add(list, partition.first.c_str(), partition.second)->offset =
          next > 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    if (rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_, list, 5000)) {
      Log(LogLevel::kError, "consumer_seek_failed", {{"error", rd_kafka_error_string(e)}});
      rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  void UpdateLag() {
    int64_t lag = 0;
    for (const auto& [partition, next] : next_offsets_) {
      int64_t low = 0, high = 0;
      if (rd_kafka_get_watermark_offsets(consumer_, partition.first.c_str(), partition.second,
                                         &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
          high >= 0) {
        lag += std::max<int64_t>(0, high - std::max(next, low));
      }
    }
    lag_.Set(static_cast<double>(lag));
  }

  eventstore::EventStore& store_;
  EventHandler& handler_;
  const ConsumerOptions options_;
  runtime::Gauge& lag_;
  std::map<std::string, runtime::Counter*> processed_counters_;
  std::map<std::string, runtime::Counter*> skipped_counters_;
  std::set<PartitionKey> warned_below_stored_;  // consumer thread only

  rd_kafka_t* consumer_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> processed_{0};
  // Runner thread only: the next offset to apply per assigned partition.
  std::map<PartitionKey, int64_t> next_offsets_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ConsumerRunner>> ConsumerRunner::Start(eventstore::EventStore& store,
                                                                      EventHandler& handler,
                                                                      ConsumerOptions options) {
  if (options.brokers.empty()) return absl::InvalidArgumentError("brokers: required");
  if (options.group_id.empty()) return absl::InvalidArgumentError("group_id: required");
  if (options.topics.empty()) return absl::InvalidArgumentError("topics: at least one required");
  if (options.max_batch == 0) return absl::InvalidArgumentError("max_batch: must be positive");
  if (options.metrics == nullptr) return absl::InvalidArgumentError("metrics: required");
  auto runner = std::make_unique<RunnerImpl>(store, handler, std::move(options));
  RETURN_IF_ERROR(runner->Init());
  return runner;
}

absl::StatusOr<std::optional<std::string>> PendingWritesView::Get(std::string_view projection,
                                                                  std::string_view key) const {
  auto it = pending_.find({std::string(projection), std::string(key)});
  if (it != pending_.end()) return it->second;
  if (store_ == nullptr) return std::nullopt;
  return store_->GetProjection(projection, key);
}

void PendingWritesView::Apply(const ProjectionWrite& w) {
  pending_[{w.projection, w.key}] =
      w.kind == ProjectionWrite::Kind::kPut ? std::optional<std::string>(w.value) : std::nullopt;
}

void PendingWritesView::Apply(const std::vector<ProjectionWrite>& writes) {
  for (const ProjectionWrite& w : writes) Apply(w);
}

std::string EventToken(const ConsumedEvent& event) {
  if (!event.event.event_id().empty()) return event.event.event_id();
  return absl::StrCat(event.topic, "@", event.event.global_position());
}

eventstore::EventEnvelope QueuedCopy(const ConsumedEvent& event) {
  eventstore::EventEnvelope copy;
  copy.set_event_id(EventToken(event));
  copy.set_event_type(event.event.event_type());
  *copy.mutable_occurred_at() = event.event.occurred_at();
  copy.set_actor(event.event.actor());
  copy.set_correlation_id(event.event.correlation_id());
  copy.set_payload(event.event.payload());
  return copy;
}

absl::StatusOr<std::unique_ptr<ConsumerRunner>> StartConsumerIfConfigured(
    eventstore::EventStore& store, EventHandler& handler, const std::string& brokers,
    std::string_view group_id, const std::vector<std::string_view>& topics,
    int session_timeout_ms, std::function<void()> on_committed) {
  if (brokers.empty()) return nullptr;
  ConsumerOptions options{.brokers = brokers, .group_id = std::string(group_id)};
  options.on_committed = std::move(on_committed);
  for (std::string_view topic : topics) options.topics.emplace_back(topic);
  options.kafka_properties = {{"session.timeout.ms", absl::StrCat(session_timeout_ms)}};
  return ConsumerRunner::Start(store, handler, std::move(options));
}

}  // namespace crm::messaging
