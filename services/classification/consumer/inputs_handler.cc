// InputsHandler and LoadInputs: the CustomerInputs rows kept from the customer,
// interaction (interactions and opportunities) and ticket topics, and the
// reclassification queue entries.
#include "crm/classification/consumer/inputs_handler.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/customer/v1/customer_events.pb.h"
#include "crm/interaction/v1/interaction_events.pb.h"
#include "crm/messaging/cloudevents.h"
#include "crm/messaging/dead_letters.h"
#include "crm/ticket/v1/ticket_events.pb.h"

namespace crm::classification {
namespace {

using eventstore::ProjectionWrite;
using google::protobuf::Timestamp;
namespace cv1 = ::crm::customer::v1;
namespace iv1 = ::crm::interaction::v1;
namespace tv1 = ::crm::ticket::v1;

// Per-customer bounds: beyond them the oldest entries are dropped (see DropOldest).
constexpr int kMaxTransactions = 2000;
constexpr int kMaxInteractions = 2000;
constexpr int kMaxTickets = 500;
constexpr int kMaxOpportunities = 500;

absl::StatusOr<std::optional<v1::CustomerInputs>> ParseRow(const std::optional<std::string>& row) {
  if (!row) return std::nullopt;
  v1::CustomerInputs inputs;
  if (!inputs.ParseFromString(*row))
    return absl::DataLossError("corrupt classification inputs row");
  return inputs;
}

bool IsSet(const Timestamp& t) { return t.seconds() != 0 || t.nanos() != 0; }

std::pair<int64_t, int32_t> Key(const Timestamp& t) { return {t.seconds(), t.nanos()}; }

// `at` when set, else `fallback` (the envelope's occurred_at).
Timestamp OrElse(const Timestamp& at, const Timestamp& fallback) {
  return IsSet(at) ? at : fallback;
}

// While `items` holds more than `bound` entries, removes the oldest (smallest
// `age_key`) among those `still_open` says are closed; only when all are open,
// the oldest of all. Ties: the earliest kept. Deterministic.
template <typename T, typename AgeKey, typename StillOpen>
void DropOldest(google::protobuf::RepeatedPtrField<T>* items, int bound, AgeKey age_key,
                StillOpen still_open) {
  while (items->size() > bound) {
    int victim = 0;
    for (int i = 1; i < items->size(); ++i) {
      const auto candidate = std::make_tuple(still_open(items->Get(i)), age_key(items->Get(i)));
      const auto current =
          std::make_tuple(still_open(items->Get(victim)), age_key(items->Get(victim)));
      if (candidate < current) victim = i;
    }
    items->DeleteSubrange(victim, 1);
  }
}

template <typename T, typename Id>
T* FindById(google::protobuf::RepeatedPtrField<T>* items, const std::string& id, Id id_of) {
  for (T& item : *items) {
    if (id_of(item) == id) return &item;
  }
  return nullptr;
}

// STRONG 4, MODERATE 3, WEAK 2, NONE 1, unassessed 0.
int32_t IntentScore(iv1::CooperationIntent intent) {
  switch (intent) {
    case iv1::COOPERATION_INTENT_STRONG:
      return 4;
    case iv1::COOPERATION_INTENT_MODERATE:
      return 3;
    case iv1::COOPERATION_INTENT_WEAK:
      return 2;
    case iv1::COOPERATION_INTENT_NONE:
      return 1;
    default:
      return 0;
  }
}

// --- crm.customer.v1 ----------------------------------------------------------

void ApplyUpdatePath(const cv1::CustomerUpdated& e, const std::string& path,
                     v1::CustomerInputs& in) {
  const bool whole_basic = path == "basic";
  const bool whole_characteristics = path == "characteristics";
  if (whole_basic || path == "basic.name") in.set_name(e.basic().name());
  if (whole_basic || path == "basic.industry") in.set_industry(e.basic().industry());
  if (whole_characteristics || path == "characteristics.employee_count") {
    in.set_employees(e.characteristics().employee_count());
  }
  if (whole_characteristics || path == "characteristics.annual_revenue") {
    in.set_annual_revenue_minor(e.characteristics().annual_revenue().amount_minor());
  }
}

void ApplyCustomerEvent(const cv1::CustomerEvent& e, const Timestamp& occurred_at,
                        v1::CustomerInputs& in) {
  switch (e.kind_case()) {
    case cv1::CustomerEvent::kRegistered: {
      const cv1::CustomerRegistered& r = e.registered();
      in.set_name(r.basic().name());
      in.set_owner(r.owner());
      in.set_region(r.region());
      in.set_industry(r.basic().industry());
      in.set_employees(r.characteristics().employee_count());
      in.set_annual_revenue_minor(r.characteristics().annual_revenue().amount_minor());
      // As the customer service folds it: POTENTIAL unless given.
      in.set_lifecycle(r.lifecycle() == cv1::LIFECYCLE_UNSPECIFIED ? cv1::LIFECYCLE_POTENTIAL
                                                                   : r.lifecycle());
      *in.mutable_registered_at() = occurred_at;
      break;
    }
    case cv1::CustomerEvent::kUpdated:
      for (const std::string& path : e.updated().paths()) ApplyUpdatePath(e.updated(), path, in);
      break;
    case cv1::CustomerEvent::kTransactionRecorded: {
      const cv1::Transaction& t = e.transaction_recorded().transaction();
      v1::TransactionInput* kept = FindById(
          in.mutable_transactions(), t.transaction_id(),
          [](const v1::TransactionInput& x) -> const std::string& { return x.transaction_id(); });
      if (kept == nullptr) kept = in.add_transactions();
      kept->set_transaction_id(t.transaction_id());
      kept->set_own_company(t.party() == cv1::TRANSACTION_PARTY_OWN_COMPANY);
      kept->set_amount_minor(t.amount().amount_minor());
      kept->set_currency_code(t.amount().currency_code());
      kept->set_date(t.date());
      kept->set_paid_date(t.paid_date());
      // Unpaid transactions are kept longest (credit looks at overdue ones).
      DropOldest(
          in.mutable_transactions(), kMaxTransactions,
          [](const v1::TransactionInput& x) { return x.date(); },
          [](const v1::TransactionInput& x) { return x.paid_date().empty(); });
      break;
    }
    case cv1::CustomerEvent::kLifecycleChanged: {
      const cv1::LifecycleChanged& c = e.lifecycle_changed();
      in.set_lifecycle(c.to());
      v1::LifecycleChange& change = *in.add_lifecycle_changes();
      change.set_from(c.from());
      change.set_to(c.to());
      *change.mutable_at() = occurred_at;
      break;
    }
    case cv1::CustomerEvent::kOwnerAssigned:
      in.set_owner(e.owner_assigned().change().to_owner());
      in.set_region(e.owner_assigned().change().to_region());
      break;
    default:
      break;  // nothing classification looks at
  }
}

// --- crm.interaction.v1 -------------------------------------------------------

// What an interaction event says happened; nullopt for planning events and
// those that carry nothing kept.
std::optional<v1::InteractionInput> InteractionOf(const iv1::InteractionEvent& e,
                                                  const Timestamp& occurred_at) {
  v1::InteractionInput out;
  out.set_interaction_id(e.interaction_id());
  switch (e.kind_case()) {
    case iv1::InteractionEvent::kVisitRecorded:
      *out.mutable_at() = OrElse(e.visit_recorded().record().visited_at(), occurred_at);
      out.set_intent(IntentScore(e.visit_recorded().record().cooperation_intent()));
      return out;
    case iv1::InteractionEvent::kFollowUpLogged:
      *out.mutable_at() = OrElse(e.follow_up_logged().follow_up().performed_at(), occurred_at);
      return out;
    case iv1::InteractionEvent::kRevisitCompleted:
      *out.mutable_at() = OrElse(e.revisit_completed().record().performed_at(), occurred_at);
      out.set_satisfaction(e.revisit_completed().record().satisfaction());
      return out;
    case iv1::InteractionEvent::kCareDone:
      *out.mutable_at() = OrElse(e.care_done().done_at(), occurred_at);
      return out;
    case iv1::InteractionEvent::kSatisfactionRecorded:
      *out.mutable_at() = OrElse(e.satisfaction_recorded().survey().surveyed_at(), occurred_at);
      out.set_satisfaction(e.satisfaction_recorded().survey().score());
      return out;
    default:
      // VisitPlanned, VisitRescheduled, VisitCancelled, RevisitScheduled,
      // RevisitReplanned, RevisitOverdue, CarePlanned: nothing happened yet;
      // CareEvaluated: no satisfaction of the customer.
      return std::nullopt;
  }
}

void ApplyInteraction(const v1::InteractionInput& happened, v1::CustomerInputs& in) {
  v1::InteractionInput* kept = FindById(
      in.mutable_interactions(), happened.interaction_id(),
      [](const v1::InteractionInput& x) -> const std::string& { return x.interaction_id(); });
  if (kept == nullptr) {
    *in.add_interactions() = happened;
  } else {
    *kept->mutable_at() = happened.at();
    if (happened.satisfaction() != 0) kept->set_satisfaction(happened.satisfaction());
    if (happened.intent() != 0) kept->set_intent(happened.intent());
  }
  DropOldest(
      in.mutable_interactions(), kMaxInteractions,
      [](const v1::InteractionInput& x) { return Key(x.at()); },
      [](const v1::InteractionInput&) { return false; });
}

// An opportunity event (kinds 30..40, opportunity_id set): the opportunity's
// OpportunityInput becomes what the event's figures say after it.
bool IsOpportunityEvent(const iv1::InteractionEvent& e) {
  switch (e.kind_case()) {
    case iv1::InteractionEvent::kOpportunityCreated:
    case iv1::InteractionEvent::kOpportunityUpdated:
    case iv1::InteractionEvent::kOpportunityAssigned:
    case iv1::InteractionEvent::kOpportunityStageChanged:
    case iv1::InteractionEvent::kOpportunityProbabilitySet:
    case iv1::InteractionEvent::kOpportunityWon:
    case iv1::InteractionEvent::kOpportunityLost:
    case iv1::InteractionEvent::kOpportunityReopened:
    case iv1::InteractionEvent::kPlanStepAdded:
    case iv1::InteractionEvent::kPlanStepCompleted:
    case iv1::InteractionEvent::kPlanStepOverdue:
      return !e.opportunity_id().empty() && e.has_opportunity_figures();
    default:
      return false;
  }
}

bool IsClosedStage(iv1::OpportunityStage stage) {
  return stage == iv1::OPPORTUNITY_STAGE_WON || stage == iv1::OPPORTUNITY_STAGE_LOST;
}

void ApplyOpportunityEvent(const iv1::InteractionEvent& e, const Timestamp& occurred_at,
                           v1::CustomerInputs& in) {
  const iv1::OpportunityFigures& figures = e.opportunity_figures();
  v1::OpportunityInput* kept = FindById(
      in.mutable_opportunities(), e.opportunity_id(),
      [](const v1::OpportunityInput& x) -> const std::string& { return x.opportunity_id(); });
  if (kept == nullptr) {
    kept = in.add_opportunities();
    kept->set_opportunity_id(e.opportunity_id());
    *kept->mutable_created_at() = occurred_at;
  }
  kept->set_stage(figures.stage());
  kept->set_probability(figures.probability());
  kept->set_currency_code(figures.expected_amount().currency_code());
  kept->set_expected_amount_minor(figures.expected_amount().amount_minor());
  if (figures.stage() == iv1::OPPORTUNITY_STAGE_WON) {
    kept->set_won_currency_code(figures.final_amount().currency_code());
    kept->set_won_amount_minor(figures.final_amount().amount_minor());
  } else {
    kept->clear_won_currency_code();
    kept->clear_won_amount_minor();
  }
  if (!IsClosedStage(figures.stage())) {
    kept->clear_closed_at();
  } else if (e.has_opportunity_won() || e.has_opportunity_lost() || !kept->has_closed_at()) {
    // Closed by this event (or first seen closed: the best time known).
    *kept->mutable_closed_at() = occurred_at;
  }
  // Closed ones go first, the longest closed first; only then the oldest open one.
  DropOldest(
      in.mutable_opportunities(), kMaxOpportunities,
      [](const v1::OpportunityInput& x) {
        return Key(x.has_closed_at() ? x.closed_at() : x.created_at());
      },
      [](const v1::OpportunityInput& x) { return !x.has_closed_at(); });
}

// --- crm.ticket.v1 ------------------------------------------------------------

void ApplyTicketEvent(const tv1::TicketEvent& e, const Timestamp& occurred_at,
                      v1::CustomerInputs& in) {
  v1::TicketInput* kept =
      FindById(in.mutable_tickets(), e.ticket_id(),
               [](const v1::TicketInput& x) -> const std::string& { return x.ticket_id(); });
  switch (e.kind_case()) {
    case tv1::TicketEvent::kOpened:
      if (kept == nullptr) kept = in.add_tickets();
      kept->set_ticket_id(e.ticket_id());
      kept->set_complaint(e.opened().type() == tv1::TICKET_TYPE_COMPLAINT);
      *kept->mutable_opened_at() = occurred_at;
      // Unresolved tickets are kept longest (open complaints count).
      DropOldest(
          in.mutable_tickets(), kMaxTickets,
          [](const v1::TicketInput& x) { return Key(x.opened_at()); },
          [](const v1::TicketInput& x) { return !x.has_resolved_at(); });
      break;
    // The rest only change a kept ticket (one opened before and not dropped).
    case tv1::TicketEvent::kResolved:
      if (kept != nullptr) {
        *kept->mutable_resolved_at() = OrElse(e.resolved().resolved_at(), occurred_at);
      }
      break;
    case tv1::TicketEvent::kReopened:
      if (kept != nullptr) kept->clear_resolved_at();
      break;
    case tv1::TicketEvent::kFeedbackRecorded:
      if (kept != nullptr) kept->set_satisfaction(e.feedback_recorded().feedback().score());
      break;
    default:
      break;
  }
}

// Loads the customer's row (through the batch), lets `apply` change it and, when
// its bytes changed, writes it and queues the customer. A missing row counts as
// one holding only the customer id.
template <typename Apply>
absl::Status Update(const std::string& customer_id, const std::string& token,
                    const messaging::BatchView& view, std::vector<ProjectionWrite>& out,
                    Apply apply) {
  if (customer_id.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> row, view.Get(kInputsProjection, customer_id));
  ASSIGN_OR_RETURN(std::optional<v1::CustomerInputs> existing, ParseRow(row));
  v1::CustomerInputs in = existing.value_or(v1::CustomerInputs());
  in.set_customer_id(customer_id);
  const std::string before = in.SerializeAsString();
  apply(in);
  std::string after = in.SerializeAsString();
  if (after == before) return absl::OkStatus();
  out.push_back(
      ProjectionWrite::Put(std::string(kInputsProjection), customer_id, std::move(after)));
  out.push_back(ProjectionWrite::Put(std::string(kReclassifyQueueProjection),
                                     absl::StrCat(customer_id, "/", token), ""));
  return absl::OkStatus();
}

}  // namespace

absl::Status InputsHandler::Handle(const messaging::ConsumedEvent& event,
                                   const messaging::BatchView& view,
                                   std::vector<ProjectionWrite>& out) {
  const std::string token = messaging::EventToken(event);
  const Timestamp& occurred_at = event.event.occurred_at();
  // A payload that does not parse, or of a kind this binary does not know, is a
  // permanent error: the runner dead-letters the record and goes on.
  if (event.topic == messaging::kCustomerTopic) {
    cv1::CustomerEvent e;
    RETURN_IF_ERROR(messaging::ParsePayload(event, e));
    return Update(e.customer_id(), token, view, out,
                  [&](v1::CustomerInputs& in) { ApplyCustomerEvent(e, occurred_at, in); });
  }
  if (event.topic == messaging::kInteractionTopic) {
    iv1::InteractionEvent e;
    RETURN_IF_ERROR(messaging::ParsePayload(event, e));
    if (IsOpportunityEvent(e)) {
      return Update(e.customer_id(), token, view, out,
                    [&](v1::CustomerInputs& in) { ApplyOpportunityEvent(e, occurred_at, in); });
    }
    const std::optional<v1::InteractionInput> happened = InteractionOf(e, occurred_at);
    if (!happened.has_value() || e.interaction_id().empty()) return absl::OkStatus();
    return Update(e.customer_id(), token, view, out,
                  [&](v1::CustomerInputs& in) { ApplyInteraction(*happened, in); });
  }
  if (event.topic == messaging::kTicketTopic) {
    tv1::TicketEvent e;
    RETURN_IF_ERROR(messaging::ParsePayload(event, e));
    if (e.ticket_id().empty()) return absl::OkStatus();
    return Update(e.customer_id(), token, view, out,
                  [&](v1::CustomerInputs& in) { ApplyTicketEvent(e, occurred_at, in); });
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::CustomerInputs>> LoadInputs(eventstore::EventStore& store,
                                                             std::string_view customer_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   store.GetProjection(kInputsProjection, customer_id));
  return ParseRow(row);
}

}  // namespace crm::classification
