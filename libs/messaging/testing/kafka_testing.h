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
