#include "crm/interaction/api/interaction_logic.h"

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/common/ids.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/interaction/projection/interaction_projection.h"

namespace crm::interaction {
namespace {

using auth::Principal;
using eventstore::AppendResult;
using eventstore::ExpectedVersion;
using eventstore::ProjectionWrite;

constexpr int kMaxContentionRetries = 5;
constexpr char kPlannerActor[] = "crm-interaction";

absl::StatusOr<size_t> PageSize(int requested, int default_size) {
  if (requested == 0) return static_cast<size_t>(default_size);
  if (requested < 0 || requested > 500) return absl::InvalidArgumentError("page_size: must be 1..500");
  return static_cast<size_t>(requested);
}

void FillWrite(const AppendResult& r, v1::WriteResponse* out) {
  out->set_version(r.last_version);
  for (const std::string& id : r.event_ids) out->add_event_ids(id);
}

absl::Status ValidateOptions(const v1::WriteOptions& o) {
  if (o.command_id().size() > 256) return absl::InvalidArgumentError("options.command_id: longer than 256");
  return absl::OkStatus();
}

}  // namespace

class InteractionLogic::Impl {
 public:
  explicit Impl(InteractionLogicOptions o) : o_(std::move(o)) {}

  using CreateFn = std::function<absl::StatusOr<Events>(const CustomerRef&, const std::string& id,
                                                        const DecideContext&)>;
  using MutateFn =
      std::function<absl::StatusOr<Events>(const v1::Interaction&, const DecideContext&)>;

  // The customer, if it exists (directory, else the lookup) and the caller may see it.
  absl::StatusOr<CustomerRef> VisibleCustomer(const Principal& who, const std::string& customer_id) {
    ASSIGN_OR_RETURN(directory::CustomerRef c,
                     directory::VisibleCustomer(*o_.store, o_.customers, who, customer_id,
                                                o_.clock->Now()));
    return CustomerRef{std::move(c.customer_id), std::move(c.owner), std::move(c.region)};
  }

  absl::StatusOr<v1::Interaction> LoadVisible(const Principal& who, const std::string& id) {
    if (id.empty()) return absl::InvalidArgumentError("interaction_id: required");
    ASSIGN_OR_RETURN(std::optional<v1::Interaction> i, LoadInteraction(*o_.store, id));
    if (!i) return absl::NotFoundError(absl::StrCat("interaction ", id, " not found"));
    RETURN_IF_ERROR(VisibleCustomer(who, i->customer_id()).status());
    return *std::move(i);
  }

  absl::StatusOr<v1::CreateResponse> Create(const Principal& who, const std::string& customer_id,
                                            const v1::WriteOptions& options, const CreateFn& decide) {
    RETURN_IF_ERROR(ValidateOptions(options));
    v1::CreateResponse resp;
    if (!options.command_id().empty()) {
      ASSIGN_OR_RETURN(std::optional<AppendResult> first, o_.store->LookupCommand(options.command_id()));
      if (first) {
        resp.set_interaction_id(first->stream_id.substr(StreamFor("").size()));
        FillWrite(*first, resp.mutable_write());
        return resp;
      }
    }
    ASSIGN_OR_RETURN(CustomerRef info, VisibleCustomer(who, customer_id));
    const std::string id = NewId();
    const DecideContext ctx{who.subject, o_.clock->Now()};
    ASSIGN_OR_RETURN(Events events, decide(info, id, ctx));
    ASSIGN_OR_RETURN(AppendResult r,
                     Append(who.subject, v1::Interaction(), events, options.command_id(), ctx.now, {}));
    resp.set_interaction_id(id);
    FillWrite(r, resp.mutable_write());
    return resp;
  }

  absl::StatusOr<v1::WriteResponse> Mutate(const Principal& who, const std::string& id,
                                           const v1::WriteOptions& options, const MutateFn& decide) {
    RETURN_IF_ERROR(ValidateOptions(options));
    v1::WriteResponse resp;
    if (!options.command_id().empty()) {
      ASSIGN_OR_RETURN(std::optional<AppendResult> first, o_.store->LookupCommand(options.command_id()));
      if (first) {
        FillWrite(*first, &resp);
        return resp;
      }
    }
    for (int attempt = 0; attempt < kMaxContentionRetries; ++attempt) {
      ASSIGN_OR_RETURN(v1::Interaction state, LoadVisible(who, id));
      if (options.has_expected_version() && options.expected_version() != state.version()) {
        return absl::AbortedError(absl::StrCat("interaction ", id, " is at version ", state.version(),
                                               ", expected ", options.expected_version()));
      }
      const DecideContext ctx{who.subject, o_.clock->Now()};
      ASSIGN_OR_RETURN(Events events, decide(state, ctx));
      if (events.empty()) {
        resp.set_version(state.version());
        return resp;
      }
      // A completed revisit queues its customer, so the next one gets planned.
      std::vector<ProjectionWrite> extra;
      if (events.front().has_revisit_completed()) {
        extra.push_back(ProjectionWrite::Put(
            std::string(kPlanQueueProjection),
            absl::StrCat(state.customer_id(), "/done-", state.interaction_id()), ""));
      }
      absl::StatusOr<AppendResult> r = Append(who.subject, state, events, options.command_id(), ctx.now, extra);
      if (r.status().code() == absl::StatusCode::kAborted && !options.has_expected_version()) continue;
      RETURN_IF_ERROR(r.status());
      FillWrite(*r, &resp);
      return resp;
    }
    return absl::AbortedError("interaction is being changed concurrently; retry");
  }

  absl::StatusOr<AppendResult> Append(const std::string& actor, const v1::Interaction& before,
                                      const Events& events, const std::string& command_id,
                                      absl::Time now, std::vector<ProjectionWrite> extra) {
    v1::Interaction after = before;
    eventstore::AppendRequest req;
    req.stream_id = StreamFor(events.front().interaction_id());
    req.expected_version = before.version() == 0 ? ExpectedVersion::NoStream()
                                                 : ExpectedVersion::Exactly(before.version());
    req.command_id = command_id;
    for (const v1::InteractionEvent& e : events) {
      Apply(after, e, {after.version() + 1, now, actor});
      req.events.push_back({.event_type = EventType(e), .partition_key = e.customer_id(),
                            .payload = e.SerializeAsString(), .actor = actor, .occurred_at = now});
    }
    req.projection_writes = RowWrites(before, after);
    for (ProjectionWrite& w : extra) req.projection_writes.push_back(std::move(w));
    ASSIGN_OR_RETURN(AppendResult r, o_.store->Append(req));
    if (o_.relay != nullptr) o_.relay->Notify();
    return r;
  }

  // Visibility of a listed interaction: through its customer's current scope.
  std::function<bool(const v1::Interaction&)> VisibleFilter(const Principal& who) {
    auto cache = std::make_shared<directory::VisibilityCache>(*o_.store, o_.customers, who,
                                                              o_.clock->Now());
    return [cache](const v1::Interaction& i) { return cache->Visible(i.customer_id()); };
  }

  absl::StatusOr<int> PlanRevisits() {
    ASSIGN_OR_RETURN(auto queued, o_.store->ScanProjection(kPlanQueueProjection, "", "", 1000));
    std::map<std::string, std::vector<std::string>> keys_by_customer;
    for (const auto& [key, unused] : queued) {
      keys_by_customer[key.substr(0, key.find('/'))].push_back(key);
    }
    int handled = 0;
    for (const auto& [customer_id, keys] : keys_by_customer) {
      RETURN_IF_ERROR(PlanFor(customer_id));
      std::vector<ProjectionWrite> done;
      for (const std::string& k : keys) {
        done.push_back(ProjectionWrite::Delete(std::string(kPlanQueueProjection), k));
      }
      RETURN_IF_ERROR(o_.store->WriteProjections(done));
      ++handled;
    }
    return handled;
  }

  absl::Status PlanFor(const std::string& customer_id) {
    ASSIGN_OR_RETURN(std::optional<customer::v1::Customer> entry,
                     directory::LoadDirectoryEntry(*o_.store, customer_id));
    if (!entry) return absl::OkStatus();  // planned once its registration is consumed
    ASSIGN_OR_RETURN(auto raw_classes, directory::LoadClasses(*o_.store, customer_id));
    std::map<classification::v1::Scheme, std::string> classes;
    for (const auto& [scheme, cls] : raw_classes) {
      classes[static_cast<classification::v1::Scheme>(scheme)] = cls;
    }
    const Cadence cadence = CadenceFor(classes, o_.cadence);
    const DecideContext ctx{kPlannerActor, o_.clock->Now()};
    const CustomerRef info{customer_id, entry->owner(), entry->region()};
    ASSIGN_OR_RETURN(std::vector<v1::Interaction> open, LoadOpenRevisits(*o_.store, customer_id));
    std::string keep;
    for (const v1::Interaction& r : open) {
      if (r.revisit().cadence_class() == cadence.cadence_class &&
          r.revisit().cadence_days() == cadence.days) {
        keep = r.interaction_id();
        break;
      }
    }
    if (keep.empty()) {
      keep = NewId();
      ASSIGN_OR_RETURN(Events events,
                       DecideScheduleRevisit(keep, info, NextDue(std::nullopt, ctx.now, cadence),
                                             cadence, ctx));
      RETURN_IF_ERROR(Append(kPlannerActor, v1::Interaction(), events, "", ctx.now, {}).status());
    }
    for (const v1::Interaction& r : open) {
      if (r.interaction_id() == keep) continue;
      ASSIGN_OR_RETURN(Events events, DecideReplanRevisit(r, keep, cadence.cadence_class, ctx));
      RETURN_IF_ERROR(Append(kPlannerActor, r, events, "", ctx.now, {}).status());
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int> ReportOverdue() {
    const DecideContext ctx{kPlannerActor, o_.clock->Now()};
    int reported = 0;
    std::string token;
    do {
      Query q{.index = Index::kDue, .page_size = 200, .page_token = token, .due_until = ctx.now};
      ASSIGN_OR_RETURN(Page page, interaction::ListInteractions(*o_.store, q,
                                                                [](const v1::Interaction&) { return true; }));
      for (const v1::Interaction& r : page.interactions) {
        ASSIGN_OR_RETURN(Events events, DecideReportOverdue(r, ctx));
        if (events.empty()) continue;
        absl::StatusOr<AppendResult> appended = Append(
            kPlannerActor, r, events, absl::StrCat("overdue-", r.interaction_id()), ctx.now, {});
        // A revisit completed or replanned meanwhile is no longer overdue.
        if (appended.status().code() == absl::StatusCode::kAborted) continue;
        RETURN_IF_ERROR(appended.status());
        if (!appended->duplicate) ++reported;
      }
      token = page.next_page_token;
    } while (!token.empty());
    return reported;
  }

  const InteractionLogicOptions o_;
};

InteractionLogic::InteractionLogic(InteractionLogicOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

absl::StatusOr<v1::CreateResponse> InteractionLogic::PlanVisit(const Principal& who,
                                                               const v1::PlanVisitRequest& req) {
  return impl_->Create(who, req.customer_id(), req.options(),
                       [&](const CustomerRef& c, const std::string& id, const DecideContext& ctx) {
                         return DecidePlanVisit(req, id, c, ctx);
                       });
}

absl::StatusOr<v1::CreateResponse> InteractionLogic::LogFollowUp(const Principal& who,
                                                                 const v1::LogFollowUpRequest& req) {
  return impl_->Create(who, req.customer_id(), req.options(),
                       [&](const CustomerRef& c, const std::string& id, const DecideContext& ctx) {
                         return DecideLogFollowUp(req, id, c, ctx);
                       });
}

absl::StatusOr<v1::CreateResponse> InteractionLogic::PlanCare(const Principal& who,
                                                              const v1::PlanCareRequest& req) {
  return impl_->Create(who, req.customer_id(), req.options(),
                       [&](const CustomerRef& c, const std::string& id, const DecideContext& ctx) {
                         return DecidePlanCare(req, id, c, ctx);
                       });
}

absl::StatusOr<v1::CreateResponse> InteractionLogic::RecordSatisfaction(
    const Principal& who, const v1::RecordSatisfactionRequest& req) {
  return impl_->Create(who, req.customer_id(), req.options(),
                       [&](const CustomerRef& c, const std::string& id, const DecideContext& ctx) {
                         return DecideRecordSatisfaction(req, id, c, ctx);
                       });
}

// Commands on an existing interaction differ only in their decide function.
#define CRM_INTERACTION_MUTATE(Method, Request, Decide)                                       \
  absl::StatusOr<v1::WriteResponse> InteractionLogic::Method(const Principal& who,            \
                                                             const v1::Request& req) {        \
    return impl_->Mutate(who, req.interaction_id(), req.options(),                            \
                         [&](const v1::Interaction& s, const DecideContext& ctx) {             \
                           return Decide(s, req, ctx);                                        \
                         });                                                                  \
  }

CRM_INTERACTION_MUTATE(RescheduleVisit, RescheduleVisitRequest, DecideRescheduleVisit)
CRM_INTERACTION_MUTATE(CancelVisit, CancelVisitRequest, DecideCancelVisit)
CRM_INTERACTION_MUTATE(RecordVisit, RecordVisitRequest, DecideRecordVisit)
CRM_INTERACTION_MUTATE(RecordRevisit, RecordRevisitRequest, DecideRecordRevisit)
CRM_INTERACTION_MUTATE(CompleteCare, CompleteCareRequest, DecideCompleteCare)
CRM_INTERACTION_MUTATE(EvaluateCare, EvaluateCareRequest, DecideEvaluateCare)

absl::StatusOr<v1::GetInteractionResponse> InteractionLogic::GetInteraction(
    const Principal& who, const v1::GetInteractionRequest& req) {
  ASSIGN_OR_RETURN(v1::Interaction i, impl_->LoadVisible(who, req.interaction_id()));
  v1::GetInteractionResponse resp;
  *resp.mutable_interaction() = std::move(i);
  return resp;
}

absl::StatusOr<v1::ListInteractionsResponse> InteractionLogic::ListInteractions(
    const Principal& who, const v1::ListInteractionsRequest& req) {
  ASSIGN_OR_RETURN(size_t page_size, PageSize(req.page_size(), 50));
  if (!v1::InteractionType_IsValid(req.type())) {
    return absl::InvalidArgumentError(absl::StrCat("type: unknown value ", req.type()));
  }
  Query q{.page_size = page_size, .page_token = req.page_token()};
  if (!req.customer_id().empty()) {
    RETURN_IF_ERROR(impl_->VisibleCustomer(who, req.customer_id()).status());
    q.index = Index::kCustomerNewest;
    q.value = req.customer_id();
  } else if (!req.owner().empty()) {
    q.index = Index::kOwner;
    q.value = req.owner();
  } else if (!req.region().empty()) {
    q.index = Index::kRegion;
    q.value = req.region();
  }
  const bool has_from = req.has_from(), has_to = req.has_to();
  const absl::Time from = FromProtoTimestamp(req.from()), to = FromProtoTimestamp(req.to());
  if (has_from && has_to && to <= from) return absl::InvalidArgumentError("to: must be after from");
  auto visible = impl_->VisibleFilter(who);
  ASSIGN_OR_RETURN(Page page, interaction::ListInteractions(
                                  *impl_->o_.store, q, [&](const v1::Interaction& i) {
                                    const absl::Time at = FromProtoTimestamp(i.occurs_at());
                                    return (req.type() == 0 || i.type() == req.type()) &&
                                           (req.owner().empty() || i.owner() == req.owner()) &&
                                           (req.region().empty() || i.region() == req.region()) &&
                                           (!has_from || at >= from) && (!has_to || at < to) &&
                                           visible(i);
                                  }));
  v1::ListInteractionsResponse resp;
  for (v1::Interaction& i : page.interactions) *resp.add_interactions() = std::move(i);
  resp.set_next_page_token(page.next_page_token);
  return resp;
}

absl::StatusOr<v1::ListDueRevisitsResponse> InteractionLogic::ListDueRevisits(
    const Principal& who, const v1::ListDueRevisitsRequest& req) {
  ASSIGN_OR_RETURN(size_t page_size, PageSize(req.page_size(), 50));
  if (req.within_days() < 0 || req.within_days() > 3660) {
    return absl::InvalidArgumentError("within_days: must be 0..3660");
  }
  Query q{.index = Index::kDue, .page_size = page_size, .page_token = req.page_token(),
          .due_until = impl_->o_.clock->Now() + absl::Hours(24) * req.within_days()};
  auto visible = impl_->VisibleFilter(who);
  ASSIGN_OR_RETURN(Page page, interaction::ListInteractions(
                                  *impl_->o_.store, q, [&](const v1::Interaction& i) {
                                    return (req.owner().empty() || i.owner() == req.owner()) &&
                                           (req.region().empty() || i.region() == req.region()) &&
                                           visible(i);
                                  }));
  v1::ListDueRevisitsResponse resp;
  for (v1::Interaction& i : page.interactions) *resp.add_revisits() = std::move(i);
  resp.set_next_page_token(page.next_page_token);
  return resp;
}

absl::StatusOr<v1::GetTimelineResponse> InteractionLogic::GetTimeline(
    const Principal& who, const v1::GetTimelineRequest& req) {
  ASSIGN_OR_RETURN(size_t page_size, PageSize(req.page_size(), 100));
  RETURN_IF_ERROR(impl_->VisibleCustomer(who, req.customer_id()).status());
  Query q{.index = Index::kTimeline, .value = req.customer_id(), .page_size = page_size,
          .page_token = req.page_token()};
  ASSIGN_OR_RETURN(Page page, interaction::ListInteractions(
                                  *impl_->o_.store, q, [](const v1::Interaction&) { return true; }));
  v1::GetTimelineResponse resp;
  for (v1::Interaction& i : page.interactions) *resp.add_interactions() = std::move(i);
  resp.set_next_page_token(page.next_page_token);
  return resp;
}

absl::StatusOr<v1::ListUpcomingBirthdaysResponse> InteractionLogic::ListUpcomingBirthdays(
    const Principal& who, const v1::ListUpcomingBirthdaysRequest& req) {
  const int days = req.within_days() == 0 ? 30 : req.within_days();
  if (days < 1 || days > 366) return absl::InvalidArgumentError("within_days: must be 1..366");
  const absl::Time now = impl_->o_.clock->Now();
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  v1::ListUpcomingBirthdaysResponse resp;
  // Walks the directory: O(customers); fine for the sizes this serves today.
  ASSIGN_OR_RETURN(auto rows, impl_->o_.store->ScanProjection(directory::kDirectoryProjection, "", "", SIZE_MAX));
  const auth::ListScope scope = auth::ScopeFor(who);
  for (const auto& [id, row] : rows) {
    customer::v1::Customer c;
    if (!c.ParseFromString(row)) return absl::DataLossError("corrupt directory row");
    if ((!req.owner().empty() && c.owner() != req.owner()) ||
        (!req.region().empty() && c.region() != req.region()) ||
        !scope.Allows({id, c.owner(), c.region()})) {
      continue;
    }
    for (const auto& contact : c.contacts()) {
      const std::string& b = contact.personal().birthday();
      if (b.size() < 5) continue;
      int month = 0, day = 0;
      if (sscanf(b.substr(b.size() - 5).c_str(), "%2d-%2d", &month, &day) != 2) continue;
      for (int year_offset = 0; year_offset <= 1; ++year_offset) {
        const absl::CivilDay next(today.year() + year_offset, month, day);
        if (next.month() != month) break;  // 02-29 outside leap years
        const auto ahead = next - today;
        if (ahead < 0) continue;
        if (ahead < days) {
          v1::UpcomingBirthday* u = resp.add_birthdays();
          u->set_customer_id(id);
          u->set_contact_id(contact.contact_id());
          u->set_contact_name(contact.personal().name());
          u->set_birthday(b.substr(b.size() - 5));
          *u->mutable_next_on() = ToProtoTimestamp(absl::FromCivil(next, absl::UTCTimeZone()));
        }
        break;
      }
    }
  }
  return resp;
}

absl::StatusOr<int> InteractionLogic::PlanRevisits() { return impl_->PlanRevisits(); }
absl::StatusOr<int> InteractionLogic::ReportOverdue() { return impl_->ReportOverdue(); }

void QueueRevisitPlanning(const directory::DirectoryChange& change,
                          std::vector<ProjectionWrite>& out) {
  // A new customer gets its first revisit planned; a class change may change the
  // cadence. Keys are "<customer>/<cause>", one per cause, so that the planner
  // deletes exactly the entries it handled and never one that arrived meanwhile.
  if (change.kind != directory::DirectoryChange::kNewCustomer &&
      change.kind != directory::DirectoryChange::kClassChanged) {
    return;
  }
  out.push_back(ProjectionWrite::Put(std::string(kPlanQueueProjection),
                                     absl::StrCat(change.customer_id, "/", change.event),
                                     ""));
}

}  // namespace crm::interaction
