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

 private:
  std::string file_;
  crm::testing::Subprocess process_;
  std::string bootstrap_;
};

// Every record of `topic` (all `partitions`, from the beginning) until `expected`
// records arrived or `timeout` passed, in partition order then offset order.
inline std::vector<KafkaRecord> ReadTopic(const std::string& brokers, const std::string& topic,
                                          int partitions, size_t expected, absl::Duration timeout) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "test-reader", err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);

  std::vector<std::vector<KafkaRecord>> by_partition(partitions);
  size_t total = 0;
  const absl::Time deadline = absl::Now() + timeout;
  while (total < expected && absl::Now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      KafkaRecord r;
      r.key.assign(static_cast<const char*>(m->key), m->key_len);
      r.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0;
             rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          r.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
        }
      }
      by_partition[m->partition].push_back(std::move(r));
      ++total;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  std::vector<KafkaRecord> out;
  for (auto& part : by_partition) {
    for (auto& r : part) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace crm::messaging::testing
