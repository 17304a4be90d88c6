// crm-devbroker: a Kafka-protocol broker for tests and local runs, hosting
// librdkafka's mock cluster on loopback. See README.md for what it is not.
//
//   crm-devbroker --partitions=3 --bootstrap_file=/tmp/crm/bootstrap
//   {"ts":"...","level":"info","service":"crm-devbroker","event":"ready",
//    "bootstrap":"127.0.0.1:40123","topics":[...]}
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "crm/runtime/log.h"
#include "librdkafka/rdkafka.h"
#include "librdkafka/rdkafka_mock.h"

namespace {

using crm::runtime::Log;
using crm::runtime::LogLevel;

// The events topics and each consuming service's dead-letter topic.
const std::vector<std::string> kSuiteTopics = {
    "crm.customer.v1.events", "crm.interaction.v1.events", "crm.classification.v1.events",
    "crm.ticket.v1.events",   "crm.customer.v1.dlq",       "crm.interaction.v1.dlq",
    "crm.classification.v1.dlq", "crm.ticket.v1.dlq"};

int Fail(const std::string& what) {
  Log(LogLevel::kError, "failed", {{"error", what}});
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kafka-protocol dev/test broker (librdkafka mock cluster) on loopback"};
  int partitions = 3;
  int brokers = 1;
  std::string bootstrap_file;
  std::vector<std::string> extra_topics;
  app.add_option("--partitions", partitions, "Partitions per topic")
      ->envname("CRM_DEVBROKER_PARTITIONS")
      ->check(CLI::Range(1, 256));
  app.add_option("--brokers", brokers, "Number of mock brokers")
      ->envname("CRM_DEVBROKER_BROKERS")
      ->check(CLI::Range(1, 8));
  app.add_option("--bootstrap_file", bootstrap_file,
                 "Write the bootstrap address (host:port,...) to this file once ready")
      ->envname("CRM_DEVBROKER_BOOTSTRAP_FILE");
  app.add_option("--topic", extra_topics, "Extra topic to create (repeatable)");
  CLI11_PARSE(app, argc, argv);
  crm::runtime::SetLogService("crm-devbroker");

  // SIGTERM/SIGINT are taken by sigwait below, not by default handlers.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The mock cluster needs a client handle to live in; this producer is never used.
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) return Fail(err);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) return Fail("could not create the mock cluster");

  std::vector<std::string> topics = kSuiteTopics;
  topics.insert(topics.end(), extra_topics.begin(), extra_topics.end());
  for (const std::string& topic : topics) {
    rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, std::min(brokers, 3));
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return Fail(topic + ": " + rd_kafka_err2str(e));
  }

  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  if (!bootstrap_file.empty()) {
    // Write then rename, so a reader never sees a half-written file.
    const std::string tmp = bootstrap_file + ".tmp";
    std::ofstream(tmp) << bootstrap << "\n";
    if (std::rename(tmp.c_str(), bootstrap_file.c_str()) != 0) {
      return Fail("cannot write " + bootstrap_file);
    }
  }
  Log(LogLevel::kInfo, "ready",
      {{"bootstrap", bootstrap}, {"topics", topics}, {"partitions", partitions}});

  // SIGUSR1 takes every broker down (its connections closed, new ones refused),
  // SIGUSR2 brings them back with their data: an outage for fault drills.
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGUSR1 && sig != SIGUSR2) break;
    for (int id = 1; id <= brokers; ++id) {
      if (sig == SIGUSR1) {
        rd_kafka_mock_broker_set_down(cluster, id);
      } else {
        rd_kafka_mock_broker_set_up(cluster, id);
      }
    }
    Log(LogLevel::kInfo, sig == SIGUSR1 ? "brokers_down" : "brokers_up", {{"brokers", brokers}});
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  Log(LogLevel::kInfo, "stopped", {{"signal", sig}});
  return 0;
}
