#include "crm/messaging/topic_reader.h"

#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "kafka_util.h"

namespace crm::messaging {
namespace {

class ReaderImpl final : public TopicReader {
 public:
  explicit ReaderImpl(rd_kafka_t* rk, int partitions) : rk_(rk), partitions_(partitions) {}
  ~ReaderImpl() override {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }

  absl::StatusOr<std::optional<TopicRecord>> Next(absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, static_cast<int>(std::max<int64_t>(0, left)));
      if (m == nullptr) {
        if (left <= 0) return std::nullopt;
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        rd_kafka_message_destroy(m);
        continue;
      }
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        absl::Status s = absl::UnavailableError(rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return s;
      }
      TopicRecord r{rd_kafka_topic_name(m->rkt), m->partition, m->offset, internal::RecordOf(m)};
      rd_kafka_message_destroy(m);
      return r;
    }
  }

  int partitions() const override { return partitions_; }

 private:
  rd_kafka_t* rk_;
  int partitions_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TopicReader>> TopicReader::Open(
    const std::string& brokers, const std::string& topic, bool from_beginning,
    absl::Duration timeout, const std::vector<std::pair<std::string, std::string>>& properties) {
  // A group id is required by the consumer API but no group is joined: partitions
  // are assigned by hand and nothing is committed.
  ASSIGN_OR_RETURN(internal::ConfPtr conf,
                   internal::MakeConf(brokers,
                                      {{"group.id", "crm-topic-reader"},
                                       {"enable.auto.commit", "false"},
                                       {"enable.partition.eof", "false"}},
                                      properties));
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
  if (rk == nullptr) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", err));
  conf.release();
  rd_kafka_poll_set_consumer(rk);

  rd_kafka_topic_t* handle = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, handle, &metadata,
                                            static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  rd_kafka_topic_destroy(handle);
  int partitions = 0;
  absl::Status status;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::UnavailableError(absl::StrCat("metadata from ", brokers, ": ", rd_kafka_err2str(e)));
  } else if (metadata->topic_cnt != 1 || metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = absl::NotFoundError(absl::StrCat("topic ", topic, " not found"));
  } else {
    partitions = metadata->topics[0].partition_cnt;
  }
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
  if (!status.ok()) {
    rd_kafka_destroy(rk);
    return status;
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
        from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  return std::make_unique<ReaderImpl>(rk, partitions);
}

}  // namespace crm::messaging
