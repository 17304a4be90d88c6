// Kafka fixtures for tests: an in-process mock cluster (for fault injection), the
// crm-devbroker process, and a plain consumer that reads a topic's records.
//
//   crm::messaging::testing::MockCluster kafka(/*partitions=*/3);
//   kafka.SetBrokerUp(false);  // outage
//   auto records = ReadTopic(kafka.bootstrap(), "crm.customer.v1.events", 3, 1000,
//                            absl::Seconds(30));
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/testing/subprocess.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/topic_reader.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafka_mock.h"

namespace crm::messaging::testing {

// librdkafka's mock cluster inside the test process, with the suite's topics.
class MockCluster {
 public:
  explicit MockCluster(int partitions = 3) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    for (std::string_view t : {kCustomerTopic, kInteractionTopic, kClassificationTopic, kTicketTopic}) {
      rd_kafka_mock_topic_create(cluster_, std::string(t).c_str(), partitions, 1);
    }
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  // Takes the (only) broker down or brings it back: connections are refused.
  void SetBrokerUp(bool up) {
    if (up) {
      rd_kafka_mock_broker_set_up(cluster_, 1);
    } else {
      rd_kafka_mock_broker_set_down(cluster_, 1);
    }
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

// A crm-devbroker process (path from the build), stopped with SIGTERM.
class DevBroker {
 public:
  DevBroker(const std::string& binary, const std::string& dir, int partitions = 3)
      : file_(dir + "/bootstrap"),
        process_({binary, "--partitions=" + std::to_string(partitions), "--bootstrap_file=" + file_}) {
    process_.WaitForLine("\"event\":\"ready\"", absl::Seconds(30));
    std::ifstream(file_) >> bootstrap_;
  }
  ~DevBroker() {
    process_.Kill(SIGTERM);
    process_.Wait();
  }
  const std::string& bootstrap() const { return bootstrap_; }
  // SIGUSR1: every broker down; SIGUSR2: back up with its records.
  void Signal(int sig) { process_.Kill(sig); }

 private:
  std::string file_;
  crm::testing::Subprocess process_;
  std::string bootstrap_;
};

// Produces `records` to `topic` as they are (key, value, headers), in order, to
// `partition` (default: the one of the key), and waits until all are
// acknowledged. For records no relay would send: duplicates, garbage, unknown
// kinds. False on any failure.
inline bool ProduceRecords(const std::string& brokers, const std::string& topic,
                           const std::vector<KafkaRecord>& records,
                           int32_t partition = RD_KAFKA_PARTITION_UA) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
  int failed = 0;
  rd_kafka_conf_set_opaque(conf, &failed);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++*static_cast<int*>(opaque);
  });
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (producer == nullptr) return false;
  bool ok = true;
  for (const KafkaRecord& r : records) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(r.headers.size());
    for (const auto& [n, v] : r.headers) {
      rd_kafka_header_add(h, n.data(), static_cast<ssize_t>(n.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    }
    if (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                          RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                          RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(h);
      ok = false;
      break;
    }
  }
  if (rd_kafka_flush(producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) ok = false;
  rd_kafka_destroy(producer);
  return ok && failed == 0;
}

// Every record of `topic` (all partitions, from the beginning) until `expected`
// records arrived or `timeout` passed, in partition order then offset order.
inline std::vector<KafkaRecord> ReadTopic(const std::string& brokers, const std::string& topic,
                                          int partitions, size_t expected, absl::Duration timeout) {
  std::vector<std::vector<KafkaRecord>> by_partition(partitions);
  auto reader = TopicReader::Open(brokers, topic, /*from_beginning=*/true, timeout);
  if (!reader.ok()) return {};
  size_t total = 0;
  const absl::Time deadline = absl::Now() + timeout;
  while (total < expected && absl::Now() < deadline) {
    auto next = (*reader)->Next(absl::Milliseconds(100));
    if (!next.ok() || !next->has_value()) continue;
    if ((**next).partition < partitions) {
      by_partition[(**next).partition].push_back(std::move((**next).record));
      ++total;
    }
  }
  std::vector<KafkaRecord> out;
  for (auto& part : by_partition) {
    for (auto& r : part) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace crm::messaging::testing
