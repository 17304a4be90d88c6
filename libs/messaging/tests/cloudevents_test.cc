#include "crm/messaging/cloudevents.h"

#include "gtest/gtest.h"

namespace crm::messaging {
namespace {

EventEnvelope Sample() {
  EventEnvelope e;
  e.set_event_id("0190c2a4-7b1e-7c3d-8f00-1a2b3c4d5e6f");
  e.set_event_type("crm.customer.v1.CustomerRegistered");
  e.set_stream_id("customer-42");
  e.set_stream_version(3);
  e.set_global_position(1234);
  e.set_partition_key("42");
  e.mutable_occurred_at()->set_seconds(1700000000);
  e.mutable_occurred_at()->set_nanos(123456789);
  e.set_actor("user:alice");
  e.set_correlation_id("corr-1");
  e.set_causation_id("cause-1");
  e.set_schema_version(2);
  e.set_payload(std::string("\x0a\x02hi\x00\xff", 6));
  e.set_command_id("cmd-9");
  e.set_incarnation("0190c2a4-0000-7000-8000-00000000abcd");
  return e;
}

TEST(CloudEventsTest, BinaryModeHeadersKeyAndValue) {
  KafkaRecord r = ToKafkaRecord(Sample(), "crm-customer");
  EXPECT_EQ(r.key, "42");
  EXPECT_EQ(r.value, Sample().payload());
  EXPECT_EQ(*FindHeader(r, "ce_specversion"), "1.0");
  EXPECT_EQ(*FindHeader(r, "ce_id"), "0190c2a4-7b1e-7c3d-8f00-1a2b3c4d5e6f");
  EXPECT_EQ(*FindHeader(r, "ce_source"), "crm-customer");
  EXPECT_EQ(*FindHeader(r, "ce_type"), "crm.customer.v1.CustomerRegistered");
  EXPECT_EQ(*FindHeader(r, "ce_subject"), "42");
  EXPECT_EQ(*FindHeader(r, "ce_time"), "2023-11-14T22:13:20.123456789Z");
  EXPECT_EQ(*FindHeader(r, "content-type"), "application/protobuf");
  EXPECT_EQ(*FindHeader(r, "ce_crmposition"), "1234");
  EXPECT_EQ(*FindHeader(r, "ce_crmincarnation"), "0190c2a4-0000-7000-8000-00000000abcd");
  EXPECT_EQ(FindHeader(r, "ce_nothing"), nullptr);
}

TEST(CloudEventsTest, RoundTripsTheWholeEnvelope) {
  auto back = FromKafkaRecord(ToKafkaRecord(Sample(), "crm-customer"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), Sample().SerializeAsString());

  EventEnvelope minimal = Sample();
  minimal.clear_actor();
  minimal.clear_correlation_id();
  minimal.clear_causation_id();
  minimal.clear_command_id();
  minimal.clear_incarnation();  // an event from before incarnations
  minimal.mutable_occurred_at()->set_nanos(0);
  KafkaRecord r = ToKafkaRecord(minimal, "s");
  EXPECT_EQ(FindHeader(r, "ce_crmactor"), nullptr);
  EXPECT_EQ(FindHeader(r, "ce_crmincarnation"), nullptr);
  EXPECT_EQ(*FindHeader(r, "ce_time"), "2023-11-14T22:13:20Z");
  back = FromKafkaRecord(r);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->SerializeAsString(), minimal.SerializeAsString());
}

TEST(CloudEventsTest, ForeignRecordsAreRejectedNamingTheHeader) {
  KafkaRecord r = ToKafkaRecord(Sample(), "crm-customer");
  for (const char* header : {"ce_specversion", "ce_id", "ce_type", "ce_crmstream",
                             "ce_crmversion", "ce_crmposition", "ce_time"}) {
    KafkaRecord without = r;
    std::erase_if(without.headers, [&](const auto& h) { return h.first == header; });
    auto e = FromKafkaRecord(without);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << header;
    EXPECT_NE(e.status().message().find(header), std::string::npos) << e.status();
  }
  KafkaRecord bad = r;
  for (auto& [name, value] : bad.headers) {
    if (name == "ce_crmposition") value = "twelve";
  }
  EXPECT_EQ(FromKafkaRecord(bad).status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& incarnation : {std::string("a,b"), std::string("x@y"), std::string(65, 'a')}) {
    KafkaRecord odd = r;
    for (auto& [name, value] : odd.headers) {
      if (name == "ce_crmincarnation") value = incarnation;
    }
    auto e = FromKafkaRecord(odd);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << incarnation;
    EXPECT_NE(e.status().message().find("ce_crmincarnation"), std::string::npos) << e.status();
  }
  KafkaRecord v2 = r;
  for (auto& [name, value] : v2.headers) {
    if (name == "ce_specversion") value = "2.0";
  }
  EXPECT_EQ(FromKafkaRecord(v2).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace crm::messaging
