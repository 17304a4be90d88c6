#include "crm/messaging/consumer_runner.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/dead_letters.h"
#include "crm/messaging/dedupe.h"
#include "crm/runtime/log.h"
#include "dead_letter_producer.h"
#include "kafka_util.h"

namespace crm::messaging {
namespace {

using eventstore::ProjectionWrite;
using runtime::Log;
using runtime::LogLevel;

using PartitionKey = std::pair<std::string, int32_t>;  // topic, partition

// Ids listed per kind in a DeadLetterReplay, at most.
constexpr size_t kMaxReplayIdsListed = 1000;

// The record a dead letter keeps, as consumed.
KafkaRecord RecordOf(const events::v1::DeadLetter& letter) {
  KafkaRecord record;
  record.key = letter.key();
  record.value = letter.value();
  for (const events::v1::RecordHeader& h : letter.headers()) {
    record.headers.emplace_back(h.name(), h.value());
  }
  return record;
}

class RunnerImpl final : public ConsumerRunner {
 public:
  RunnerImpl(eventstore::EventStore& store, EventHandler& handler, ConsumerOptions options)
      : store_(store),
        handler_(handler),
        options_(std::move(options)),
        lag_(options_.metrics->GetGauge("crm_consumer_lag",
                                        "Records behind the partitions' high watermarks.",
                                        {{"group", options_.group_id}})),
        retrying_(options_.metrics->GetGauge(
            "crm_consumer_retrying", "1 while the consumer retries after a transient failure.",
            {{"group", options_.group_id}})),
        consecutive_failures_(options_.metrics->GetGauge(
            "crm_consumer_consecutive_failures",
            "Failed consumer batches in a row (0 after a success).", {{"group", options_.group_id}})),
        replayed_(options_.metrics->GetCounter(
            "crm_consumer_dead_letters_replayed_total",
            "Dead letters replayed successfully (their rows deleted).",
            {{"group", options_.group_id}})),
        readiness_name_(absl::StrCat("consumer/", options_.group_id)) {
    for (const std::string& topic : options_.topics) {
      processed_counters_[topic] = &options_.metrics->GetCounter(
          "crm_consumer_processed_total", "Consumed records handled and committed.",
          {{"group", options_.group_id}, {"topic", topic}});
      skipped_counters_[topic] = &options_.metrics->GetCounter(
          "crm_consumer_skipped_total", "Consumed records skipped as redelivered or duplicate.",
          {{"group", options_.group_id}, {"topic", topic}});
      dead_letter_counters_[topic] = &options_.metrics->GetCounter(
          "crm_consumer_dead_letters_total",
          "Consumed records dead-lettered: undecodable, or refused by the handler for good.",
          {{"group", options_.group_id}, {"topic", topic}});
    }
  }

  ~RunnerImpl() override { Stop(); }

  absl::Status Init() {
    ASSIGN_OR_RETURN(dead_letters_,
                     internal::DeadLetterProducer::Open(
                         options_.brokers, options_.group_id + "-dlq",
                         options_.dead_letter_topic.empty()
                             ? DeadLetterTopicFor(options_.group_id)
                             : options_.dead_letter_topic,
                         options_.dead_letter_timeout, options_.kafka_properties));
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
    {
      absl::MutexLock lock(&mu_);  // wakes a backoff wait
    }
    if (thread_.joinable()) thread_.join();
    if (consumer_ != nullptr) {
      rd_kafka_consumer_close(consumer_);
      rd_kafka_destroy(consumer_);
      consumer_ = nullptr;
    }
    dead_letters_.reset();
    options_.readiness->Clear(readiness_name_);
    // Calls that came after the thread's last round.
    absl::MutexLock lock(&mu_);
    for (auto& task : tasks_) task->Cancel();
    tasks_.clear();
    for (const PartitionKey& p : std::set<PartitionKey>(stalled_)) Unstall(p);
  }

  absl::StatusOr<DeadLetterReplay> ReplayDeadLetters(const std::vector<std::string>& ids, bool all,
                                                     absl::Duration timeout) override {
    if (ids.empty() == !all) {
      return absl::InvalidArgumentError("ids: give dead letter ids, or all (not both)");
    }
    std::vector<std::string> keys;
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(std::string key, DeadLetterKeyOfId(id));
      keys.push_back(std::move(key));
    }
    return OnRunnerThread<DeadLetterReplay>(
        [this, keys = std::move(keys), all]() -> absl::StatusOr<DeadLetterReplay> {
          DeadLetterReplay report;
          RETURN_IF_ERROR(Replay(keys, all, report));
          return report;
        },
        timeout, "finish the replay");
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
      // Not ours any more; checked again if assigned again.
      for (const PartitionKey& p : std::set<PartitionKey>(stalled_)) Unstall(p);
      return;
    }
    std::vector<std::pair<PartitionKey, std::string>> beyond_end;
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
      // A stored offset beyond the partition's end: the topic was recreated or
      // the broker lost records. (When the broker cannot be asked, a record
      // below the stored offset shows it later.)
      int64_t low = 0, high = 0;
      if (next > 0 &&
          rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low, &high, 5000) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          next > high) {
        beyond_end.emplace_back(key, absl::StrCat("its stored next offset ", next,
                                                  " is beyond the partition's end (", high, ")"));
      }
    }
    rd_kafka_assign(rk, partitions);
    for (const auto& [key, why] : beyond_end) Stall(key, why);
    Log(LogLevel::kInfo, "consumer_assigned",
        {{"group", options_.group_id}, {"partitions", partitions->cnt}});
  }

  void Loop() {
    std::vector<rd_kafka_message_t*> batch;
    while (!stopping_.load()) {
      ServeTasks();
      if (absl::Now() < retry_at_) {  // backing off after a failure
        WaitForReplayOrStop(retry_at_);
        continue;
      }
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
      bool had_records = false;
      for (const rd_kafka_message_t* m : batch) had_records |= m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
      absl::Status s = ProcessBatch(batch);
      for (rd_kafka_message_t* m : batch) rd_kafka_message_destroy(m);
      if (!s.ok()) {
        BatchFailed(s);
      } else if (had_records) {
        BatchSucceeded();
      }
      UpdateLag();
    }
  }

  // A transient failure: consume again from the stored offsets after a backoff
  // that doubles per consecutive failure; readiness is blocked after a few.
  void BatchFailed(const absl::Status& error) {
    ++failures_;
    const absl::Duration backoff =
        std::min(options_.max_retry_backoff,
                 options_.retry_backoff * static_cast<double>(uint64_t{1} << std::min(failures_ - 1, 20)));
    retry_at_ = absl::Now() + backoff;
    retrying_.Set(1);
    consecutive_failures_.Set(failures_);
    Log(LogLevel::kError, "consumer_batch_failed",
        {{"group", options_.group_id},
         {"error", error.ToString()},
         {"consecutive_failures", failures_},
         {"retry_in_ms", absl::ToInt64Milliseconds(backoff)}});
    if (failures_ >= options_.unready_after_failures) {
      options_.readiness->Block(
          readiness_name_,
          absl::StrCat("consumer ", options_.group_id, " failing (", failures_,
                       " batches in a row), retrying with backoff: ", error.message()));
    }
    RewindToStoredOffsets();
  }

  void BatchSucceeded() {
    if (failures_ == 0) return;
    Log(LogLevel::kInfo, "consumer_recovered",
        {{"group", options_.group_id}, {"after_failures", failures_}});
    failures_ = 0;
    retry_at_ = absl::InfinitePast();
    retrying_.Set(0);
    consecutive_failures_.Set(0);
    options_.readiness->Clear(readiness_name_);
  }

  void WaitForReplayOrStop(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stopping_.load() || !tasks_.empty();
    };
    mu_.AwaitWithDeadline(absl::Condition(&woken), deadline);
  }

  // A dead letter of the consumed `record`: what the runner keeps and produces.
  events::v1::DeadLetter DeadLetterOf(const PartitionKey& partition, int64_t offset,
                                      const KafkaRecord& record, std::string reason,
                                      const eventstore::EventEnvelope* event) {
    Log(LogLevel::kError, "consumer_dead_letter",
        {{"group", options_.group_id}, {"topic", partition.first}, {"partition", partition.second},
         {"offset", offset}, {"reason", reason}});
    events::v1::DeadLetter letter;
    letter.set_topic(partition.first);
    letter.set_partition(partition.second);
    letter.set_offset(offset);
    letter.set_key(record.key);
    letter.set_value(record.value);
    for (const auto& [name, value] : record.headers) {
      events::v1::RecordHeader* h = letter.add_headers();
      h->set_name(name);
      h->set_value(value);
    }
    letter.set_reason(std::move(reason));
    *letter.mutable_dead_lettered_at() = ToProtoTimestamp(absl::Now());
    if (event != nullptr) {
      letter.set_event_type(event->event_type());
      letter.set_event_id(event->event_id());
    }
    return letter;
  }

  // An operator call (a replay, an offset reset) that runs on the runner's
  // thread between batches, so that it never races the batch being applied.
  struct Task {
    std::function<void()> run;     // sets the caller's result
    std::function<void()> cancel;  // sets UNAVAILABLE instead
    std::atomic<bool> abandoned{false};
    absl::Notification done;
    void Cancel() {
      cancel();
      done.Notify();
    }
  };

  // Runs `call` on the runner's thread and waits for its result up to
  // `timeout` (then DEADLINE_EXCEEDED: "the consumer did not <what> in time").
  template <typename T>
  absl::StatusOr<T> OnRunnerThread(std::function<absl::StatusOr<T>()> call,
                                   absl::Duration timeout, std::string_view what) {
    auto result = std::make_shared<absl::StatusOr<T>>(absl::UnknownError("not run"));
    auto task = std::make_shared<Task>();
    task->run = [call = std::move(call), result] { *result = call(); };
    task->cancel = [result] { *result = absl::UnavailableError("the consumer is stopping"); };
    {
      absl::MutexLock lock(&mu_);
      if (stopping_.load()) return absl::UnavailableError("the consumer is stopping");
      tasks_.push_back(task);
    }
    if (!task->done.WaitForNotificationWithTimeout(timeout)) {
      task->abandoned.store(true);
      return absl::DeadlineExceededError(absl::StrCat(
          "the consumer did not ", std::string(what), " in time (it may still do so)"));
    }
    return *result;
  }

  // Runner thread: the calls asked for since the last round.
  void ServeTasks() {
    std::deque<std::shared_ptr<Task>> tasks;
    {
      absl::MutexLock lock(&mu_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) {
      if (task->abandoned.load()) continue;
      task->run();
      task->done.Notify();
    }
  }

  // Runner thread: replays the rows `keys` (every row when `all`).
  absl::Status Replay(const std::vector<std::string>& keys, bool all, DeadLetterReplay& report) {
    if (!all) {
      for (size_t i = 0; i < keys.size(); i += options_.max_batch) {
        std::vector<std::pair<std::string, std::string>> rows;
        for (size_t j = i; j < std::min(keys.size(), i + options_.max_batch); ++j) {
          ASSIGN_OR_RETURN(std::optional<std::string> row,
                           store_.GetProjection(kDeadLettersProjection, keys[j]));
          if (row) {
            rows.emplace_back(keys[j], *std::move(row));
          } else if (report.not_found_ids.size() < kMaxReplayIdsListed) {
            report.not_found_ids.push_back(keys[j]);
          }
        }
        RETURN_IF_ERROR(ReplayRows(rows, report));
      }
      return absl::OkStatus();
    }
    // Rows that fail again stay, with keys before the next chunk: no row is
    // tried twice.
    std::string after;
    for (;;) {
      if (stopping_.load()) return absl::UnavailableError("the consumer is stopping");
      ASSIGN_OR_RETURN(auto rows,
                       store_.ScanProjection(kDeadLettersProjection, "", after, options_.max_batch));
      if (rows.empty()) return absl::OkStatus();
      after = rows.back().first;
      RETURN_IF_ERROR(ReplayRows(rows, report));
      if (rows.size() < options_.max_batch) return absl::OkStatus();
    }
  }

  // Handles `rows` (key, DeadLetter) again and commits the outcome in one write.
  absl::Status ReplayRows(const std::vector<std::pair<std::string, std::string>>& rows,
                          DeadLetterReplay& report) {
    PendingWritesView view(&store_);
    std::vector<ProjectionWrite> writes, handler_out;
    DeadLetterReplay done;  // merged into `report` once committed
    absl::Status transient;
    for (const auto& [key, value] : rows) {
      events::v1::DeadLetter letter;
      if (!letter.ParseFromString(value)) {
        return absl::DataLossError(absl::StrCat("corrupt dead-letter row ", key));
      }
      const std::string id = DeadLetterId(letter);
      absl::Status s;
      absl::StatusOr<eventstore::EventEnvelope> event = FromKafkaRecord(RecordOf(letter));
      if (!event.ok()) {
        s = absl::InvalidArgumentError(absl::StrCat("undecodable record: ", event.status().message()));
      } else {
        ConsumedEvent consumed{letter.topic(), letter.partition(), letter.offset(), *std::move(event)};
        handler_out.clear();
        s = handler_.Handle(consumed, view, handler_out);
        if (s.ok()) {
          ASSIGN_OR_RETURN(std::optional<ProjectionWrite> dedupe, RaisedDedupeRow(consumed, view));
          if (dedupe) handler_out.push_back(*std::move(dedupe));
          handler_out.push_back(
              ProjectionWrite::Delete(std::string(kDeadLettersProjection), key));
          for (ProjectionWrite& w : handler_out) {
            view.Apply(w);
            writes.push_back(std::move(w));
          }
          ++done.replayed;
          if (done.replayed_ids.size() < kMaxReplayIdsListed) done.replayed_ids.push_back(id);
          continue;
        }
        if (!IsPermanentHandlerError(s)) {
          transient = s;
          break;
        }
      }
      letter.set_reason(s.ToString());
      letter.set_replay_attempts(letter.replay_attempts() + 1);
      *letter.mutable_last_replay_at() = ToProtoTimestamp(absl::Now());
      ProjectionWrite w = ProjectionWrite::Put(std::string(kDeadLettersProjection), key,
                                               letter.SerializeAsString());
      view.Apply(w);
      writes.push_back(std::move(w));
      ++done.failed;
      if (done.failures.size() < kMaxReplayIdsListed) done.failures.emplace_back(id, s.ToString());
      Log(LogLevel::kWarn, "dead_letter_replay_failed",
          {{"group", options_.group_id}, {"id", id}, {"reason", s.ToString()}});
    }
    if (!writes.empty()) RETURN_IF_ERROR(store_.WriteProjections(writes));
    report.replayed += done.replayed;
    report.failed += done.failed;
    for (std::string& id : done.replayed_ids) {
      if (report.replayed_ids.size() < kMaxReplayIdsListed) report.replayed_ids.push_back(std::move(id));
    }
    for (auto& f : done.failures) {
      if (report.failures.size() < kMaxReplayIdsListed) report.failures.push_back(std::move(f));
    }
    replayed_.Inc(done.replayed);
    if (done.replayed > 0) {
      Log(LogLevel::kInfo, "dead_letters_replayed",
          {{"group", options_.group_id}, {"replayed", done.replayed}});
      if (options_.on_committed) options_.on_committed();
    }
    if (!transient.ok()) {
      return absl::UnavailableError(
          absl::StrCat("replay stopped by a transient failure: ", transient.ToString()));
    }
    return absl::OkStatus();
  }

  // The "$dedupe" row after applying a replayed `consumed`, when it raises it.
  absl::StatusOr<std::optional<ProjectionWrite>> RaisedDedupeRow(const ConsumedEvent& consumed,
                                                                 const BatchView& view) {
    return DecideDedupe(view, options_.group_id, consumed.topic, consumed.event);
  }

  absl::Status ProcessBatch(const std::vector<rd_kafka_message_t*>& batch) {
    PendingWritesView view(&store_);
    std::vector<ProjectionWrite> writes;
    std::vector<ProjectionWrite> handler_out;
    std::map<PartitionKey, int64_t> advanced;
    std::map<std::string, uint64_t> processed_by_topic, skipped_by_topic;
    uint64_t processed = 0;
    std::vector<events::v1::DeadLetter> dead;
    absl::Status failure;  // transient: the batch stops at the failing record

    for (const rd_kafka_message_t* msg : batch) {
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          Log(LogLevel::kWarn, "consumer_error", {{"error", rd_kafka_message_errstr(msg)}});
        }
        continue;
      }
      const PartitionKey partition{rd_kafka_topic_name(msg->rkt), msg->partition};
      if (stalled_.contains(partition)) continue;  // fetched before the pause
      auto known = advanced.find(partition);
      const int64_t next =
          known != advanced.end() ? known->second : next_offsets_[partition];
      if (msg->offset < next) {
        // Consumption resumes at the stored offsets, so a record below them means
        // the offsets went backwards: the topic was recreated or the broker lost
        // records (and the consumer was reset to the start). Not skipped: the
        // partition waits for an operator.
        Stall(partition, absl::StrCat("a record at offset ", msg->offset,
                                      " arrived below its stored next offset ", next));
        continue;
      }
      advanced[partition] = msg->offset + 1;

      const KafkaRecord record = internal::RecordOf(msg);
      absl::StatusOr<eventstore::EventEnvelope> event = FromKafkaRecord(record);
      if (!event.ok()) {
        // A record that can never decode must not block the partition forever.
        dead.push_back(DeadLetterOf(partition, msg->offset, record,
                                    absl::StrCat("undecodable record: ", event.status().message()),
                                    nullptr));
        continue;
      }
      // Applied before (same producer incarnation, position not above): skip.
      ASSIGN_OR_RETURN(std::optional<ProjectionWrite> dedupe_write,
                       DecideDedupe(view, options_.group_id, partition.first, *event));
      if (!dedupe_write) {
        ++skipped_by_topic[partition.first];
        continue;
      }

      ConsumedEvent consumed{partition.first, partition.second, msg->offset, *std::move(event)};
      handler_out.clear();
      if (absl::Status handled = handler_.Handle(consumed, view, handler_out); !handled.ok()) {
        if (IsPermanentHandlerError(handled)) {
          // Poison: none of its writes, its offset passed, a dead letter instead.
          dead.push_back(
              DeadLetterOf(partition, msg->offset, record, handled.ToString(), &consumed.event));
          continue;
        }
        // Transient: commit what came before; this record and the rest of the
        // batch are consumed again after the backoff.
        advanced[partition] = msg->offset;
        failure = std::move(handled);
        break;
      }
      handler_out.push_back(*std::move(dedupe_write));
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
    for (const events::v1::DeadLetter& letter : dead) {
      writes.push_back(ProjectionWrite::Put(
          std::string(kDeadLettersProjection),
          DeadLetterKey(letter.topic(), letter.partition(), letter.offset()),
          letter.SerializeAsString()));
    }
    // On the topic before the rows commit: a failed produce fails the batch.
    if (!dead.empty()) RETURN_IF_ERROR(dead_letters_->Produce(dead, stopping_));
    if (!writes.empty()) RETURN_IF_ERROR(store_.WriteProjections(writes));
    for (const auto& [partition, next] : advanced) next_offsets_[partition] = next;
    processed_.fetch_add(processed);
    for (const auto& [topic, n] : processed_by_topic) CounterFor(processed_counters_, topic).Inc(n);
    for (const auto& [topic, n] : skipped_by_topic) CounterFor(skipped_counters_, topic).Inc(n);
    for (const events::v1::DeadLetter& letter : dead) {
      CounterFor(dead_letter_counters_, letter.topic()).Inc();
    }
    CommitToKafka(advanced);
    if (processed > 0 && options_.on_committed) options_.on_committed();
    return failure;
  }

  runtime::Gauge& StalledGauge(const PartitionKey& p) {
    return options_.metrics->GetGauge(
        "crm_consumer_stalled",
        "1 while a partition is paused because its offsets went backwards (topic recreated, "
        "broker lost records); fix: crmctl admin reset-consumer-offsets.",
        {{"group", options_.group_id}, {"topic", p.first}, {"partition", absl::StrCat(p.second)}});
  }

  static std::string StallName(const PartitionKey& p) {
    return absl::StrCat("consumer/", p.first, "/", p.second);
  }

  // Runner thread: pauses `p` (the other partitions go on) and says so.
  void Stall(const PartitionKey& p, const std::string& why) {
    if (!stalled_.insert(p).second) return;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, p.first.c_str(), p.second);
    rd_kafka_pause_partitions(consumer_, list);
    rd_kafka_topic_partition_list_destroy(list);
    StalledGauge(p).Set(1);
    const std::string fix = absl::StrCat(
        "crmctl admin reset-consumer-offsets --addr <this service> --topic ", p.first,
        " (forgets the stored offsets and reads the topic again from its start; events "
        "applied before are dropped by the dedupe rows)");
    options_.readiness->Block(
        StallName(p), absl::StrCat("partition ", p.first, "/", p.second, " stalled: ", why,
                                   "; fix: ", fix));
    Log(LogLevel::kError, "consumer_partition_stalled",
        {{"group", options_.group_id}, {"topic", p.first}, {"partition", p.second},
         {"reason", absl::StrCat(why, ": the topic was recreated or the broker lost records; "
                                      "nothing of this partition is consumed until reset")},
         {"fix", fix}});
  }

  // Runner thread: forgets the stall of `p` (the caller resumes or drops it).
  void Unstall(const PartitionKey& p) {
    if (stalled_.erase(p) == 0) return;
    StalledGauge(p).Set(0);
    options_.readiness->Clear(StallName(p));
  }

  absl::StatusOr<OffsetReset> ResetOffsets(std::string_view topic,
                                           absl::Duration timeout) override {
    if (std::find(options_.topics.begin(), options_.topics.end(), topic) ==
        options_.topics.end()) {
      return absl::NotFoundError(absl::StrCat("topic: ", std::string(topic),
                                              " is not consumed by ", options_.group_id));
    }
    return OnRunnerThread<OffsetReset>(
        [this, topic = std::string(topic)] { return ResetTopic(topic); }, timeout,
        "reset the offsets");
  }

  absl::StatusOr<OffsetReset> ResetTopic(const std::string& topic) {
    OffsetReset report;
    const std::string prefix = absl::StrCat(options_.group_id, "/", topic, "/");
    std::vector<ProjectionWrite> deletes;
    for (std::string after;;) {
      ASSIGN_OR_RETURN(auto rows, store_.ScanProjection(kConsumerOffsetsProjection, prefix, after, 1000));
      for (const auto& [key, value] : rows) {
        deletes.push_back(ProjectionWrite::Delete(std::string(kConsumerOffsetsProjection), key));
      }
      if (rows.size() < 1000) break;
      after = rows.back().first;
    }
    if (!deletes.empty()) RETURN_IF_ERROR(store_.WriteProjections(deletes));
    report.offsets_deleted = deletes.size();
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(4);
    for (auto& [partition, next] : next_offsets_) {
      if (partition.first != topic) continue;
      next = 0;
      rd_kafka_topic_partition_list_add(list, topic.c_str(), partition.second)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
      report.partitions_rewound.push_back(partition.second);
    }
    if (list->cnt > 0) {
      if (rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_, list, 5000)) {
        const std::string error = rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
        rd_kafka_topic_partition_list_destroy(list);
        return absl::UnavailableError(absl::StrCat("seeking ", topic, " to its start: ", error));
      }
      rd_kafka_resume_partitions(consumer_, list);
    }
    rd_kafka_topic_partition_list_destroy(list);
    for (int32_t partition : report.partitions_rewound) {
      const PartitionKey p{topic, partition};
      if (stalled_.contains(p)) report.partitions_resumed.push_back(partition);
      Unstall(p);
    }
    Log(LogLevel::kWarn, "consumer_offsets_reset",
        {{"group", options_.group_id}, {"topic", topic},
         {"offsets_deleted", report.offsets_deleted},
         {"partitions_rewound", report.partitions_rewound.size()},
         {"partitions_resumed", report.partitions_resumed.size()}});
    return report;
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
  runtime::Gauge& retrying_;
  runtime::Gauge& consecutive_failures_;
  runtime::Counter& replayed_;
  const std::string readiness_name_;
  std::map<std::string, runtime::Counter*> processed_counters_;
  std::map<std::string, runtime::Counter*> skipped_counters_;
  std::map<std::string, runtime::Counter*> dead_letter_counters_;
  std::unique_ptr<internal::DeadLetterProducer> dead_letters_;
  // Runner thread only: consecutive failed batches, and when to consume again.
  int failures_ = 0;
  absl::Time retry_at_ = absl::InfinitePast();
  absl::Mutex mu_;  // guards tasks_; a change wakes a backoff wait
  std::deque<std::shared_ptr<Task>> tasks_ ABSL_GUARDED_BY(mu_);
  // Runner thread only: partitions paused because their offsets went backwards.
  std::set<PartitionKey> stalled_;

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
