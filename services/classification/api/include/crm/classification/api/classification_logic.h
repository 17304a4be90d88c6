// The classification service's behaviour over absl::Status: access checks, the
// reclassification of customers (queued by the consumer, by a new rule set, and
// by a clock-driven sweep), rule-set publication and simulation, history,
// reports and churn-risk lists. The gRPC adapter only moves calls onto threads
// and maps errors; tests drive this class with a fake clock.
//
//   ASSIGN_OR_RETURN(auto logic, ClassificationLogic::Create({.store = store.get()}));
//   logic->ReclassifyQueued();   // after consumed events
//   logic->Sweep();              // time passes: recency changes classes
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "crm/auth/principal.h"
#include "crm/classification/v1/classification_service.pb.h"
#include "crm/common/clock.h"
#include "crm/eventstore/event_store.h"
#include "crm/messaging/outbox_relay.h"

namespace crm::classification {

struct ClassificationLogicOptions {
  eventstore::EventStore* store = nullptr;  // required
  const Clock* clock = &SystemClock();
  messaging::OutboxRelay* relay = nullptr;
};

// Access: a customer's classification and history need access to the customer
// (libs/auth, with the grants consumed into the directory); reports and churn
// lists cover the caller's scope (all; region; owned customers; PERMISSION_DENIED
// for a caller whose roles cover nothing); publishing and simulating rule sets
// need executive or admin; GetRuleSet is open to every caller.
//
// Thread safety: calls may run concurrently; ReclassifyQueued and Sweep on one
// background thread at a time.
class ClassificationLogic {
 public:
  static absl::StatusOr<std::unique_ptr<ClassificationLogic>> Create(
      ClassificationLogicOptions options);
  ~ClassificationLogic();

  absl::StatusOr<v1::GetClassificationResponse> GetClassification(
      const auth::Principal& who, const v1::GetClassificationRequest& req);
  absl::StatusOr<v1::GetClassificationHistoryResponse> GetClassificationHistory(
      const auth::Principal& who, const v1::GetClassificationHistoryRequest& req);
  absl::StatusOr<v1::GetRuleSetResponse> GetRuleSet(const auth::Principal& who,
                                                    const v1::GetRuleSetRequest& req);
  absl::StatusOr<v1::PublishRuleSetResponse> PublishRuleSet(const auth::Principal& who,
                                                            const v1::PublishRuleSetRequest& req);
  absl::StatusOr<v1::SimulateRuleSetResponse> SimulateRuleSet(
      const auth::Principal& who, const v1::SimulateRuleSetRequest& req);
  absl::StatusOr<v1::GetReportResponse> GetReport(const auth::Principal& who,
                                                  const v1::GetReportRequest& req);
  absl::StatusOr<v1::ListChurnRisksResponse> ListChurnRisks(const auth::Principal& who,
                                                            const v1::ListChurnRisksRequest& req);

  // Reclassifies the customers the consumer queued (and everyone after a new rule
  // set). Returns how many customers' classification changed. Idempotent: a crash
  // half-way is finished by the next call.
  absl::StatusOr<int> ReclassifyQueued();
  // Reclassifies every customer at the current time. Returns how many changed.
  absl::StatusOr<int> Sweep();

 private:
  class Impl;
  explicit ClassificationLogic(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crm::classification
