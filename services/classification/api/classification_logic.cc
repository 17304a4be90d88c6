#include "crm/classification/api/classification_logic.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/classification/inputs/inputs_handler.h"
#include "crm/classification/projection/classification_projection.h"
#include "crm/classification/rules/rules.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/common/thread_pool.h"
#include "crm/directory/customer_directory.h"

namespace crm::classification {
namespace {

using auth::Principal;
using eventstore::ExpectedVersion;
using eventstore::ProjectionWrite;

constexpr int kMaxContentionRetries = 5;
constexpr char kWorkerActor[] = "crm-classification";
constexpr char kCurrentKey[] = "current";
// Queue key of a reclassification of everyone (sorts before customer ids).
constexpr char kAllPrefix[] = "*all/";
constexpr size_t kScanBatch = 500;
constexpr int kMaxQueuePasses = 100;
constexpr size_t kReclassifyThreads = 16;
constexpr int kLifecycleProspect1 = 1, kLifecycleProspect2 = 2, kLifecycleCooperating = 3,
              kLifecycleChurned = 4;

absl::StatusOr<size_t> PageSize(int requested, size_t default_size) {
  if (requested == 0) return default_size;
  if (requested < 0 || requested > 500) return absl::InvalidArgumentError("page_size: must be 1..500");
  return static_cast<size_t>(requested);
}

bool CanManageRules(const Principal& who) {
  return who.Has(auth::Role::kExecutive) || who.Has(auth::Role::kAdmin);
}

// The class of `scheme` in `c`, "" when none.
std::string ClassOf(const v1::Classification& c, v1::Scheme scheme) {
  for (const v1::SchemeResult& r : c.schemes()) {
    if (r.scheme() == scheme) return r.class_name();
  }
  return "";
}

bool SameCredit(const v1::CreditResult& a, const v1::CreditResult& b) {
  return a.rating() == b.rating() && a.credit_limit_minor() == b.credit_limit_minor() &&
         a.payment_terms_days() == b.payment_terms_days();
}

// The customer's lifecycle at `t`, from its changes (oldest first) and current value.
int LifecycleAt(const v1::CustomerInputs& in, absl::Time t) {
  int at = 0;
  bool found = false;
  for (const v1::LifecycleChange& c : in.lifecycle_changes()) {
    if (FromProtoTimestamp(c.at()) <= t) {
      at = c.to();
      found = true;
    } else if (!found) {
      return c.from();
    }
  }
  return found ? at : in.lifecycle();
}

bool Within(const google::protobuf::Timestamp& ts, absl::Time from, absl::Time to) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return false;
  const absl::Time t = FromProtoTimestamp(ts);
  return t >= from && t < to;
}

}  // namespace

class ClassificationLogic::Impl {
 public:
  Impl(ClassificationLogicOptions o, std::shared_ptr<const v1::RuleSet> rules)
      : o_(std::move(o)), rules_(std::move(rules)) {}

  std::shared_ptr<const v1::RuleSet> Rules() const {
    std::lock_guard<std::mutex> lock(rules_mu_);
    return rules_;
  }

  // Visits every CustomerInputs row in key order.
  absl::Status ForEachInputs(const std::function<absl::Status(const v1::CustomerInputs&)>& visit) {
    std::string after;
    while (true) {
      ASSIGN_OR_RETURN(auto rows, o_.store->ScanProjection(kInputsProjection, "", after, kScanBatch));
      for (const auto& [key, row] : rows) {
        v1::CustomerInputs in;
        if (!in.ParseFromString(row)) return absl::DataLossError("corrupt inputs row");
        RETURN_IF_ERROR(visit(in));
      }
      if (rows.size() < kScanBatch) return absl::OkStatus();
      after = rows.back().first;
    }
  }

  // Evaluates one customer now and appends what changed. Returns true when the
  // classification changed.
  absl::StatusOr<bool> Reclassify(const v1::CustomerInputs& inputs) {
    const std::string& id = inputs.customer_id();
    for (int attempt = 0; attempt < kMaxContentionRetries; ++attempt) {
      ASSIGN_OR_RETURN(std::optional<v1::Classification> loaded, LoadClassification(*o_.store, id));
      const v1::Classification before = loaded.value_or(v1::Classification());
      const absl::Time now = o_.clock->Now();
      std::shared_ptr<const v1::RuleSet> rules = Rules();
      const v1::Classification next = Evaluate(inputs, *rules, now);
      std::vector<v1::ClassificationEvent> events = Diff(before, next);
      v1::Classification after = before;
      after.set_customer_id(id);
      after.set_owner(next.owner());
      after.set_region(next.region());
      after.set_industry(next.industry());
      if (events.empty()) {
        if (after.owner() == before.owner() && after.region() == before.region() &&
            after.industry() == before.industry() && loaded.has_value()) {
          return false;
        }
        RETURN_IF_ERROR(o_.store->WriteProjections(RowWrites(before, after)));
        return false;
      }
      eventstore::AppendRequest req;
      req.stream_id = StreamFor(id);
      req.expected_version = before.version() == 0 ? ExpectedVersion::NoStream()
                                                   : ExpectedVersion::Exactly(before.version());
      uint64_t version = before.version();
      for (v1::ClassificationEvent& e : events) {
        e.set_customer_id(id);
        if (e.has_churn_risk_raised()) {
          e.mutable_churn_risk_raised()->set_owner(next.owner());
          e.mutable_churn_risk_raised()->set_region(next.region());
        }
        Apply(after, e, ++version, now);
        req.events.push_back({.event_type = EventType(e), .partition_key = id,
                              .payload = e.SerializeAsString(), .actor = kWorkerActor,
                              .occurred_at = now});
      }
      req.projection_writes = RowWrites(before, after);
      absl::StatusOr<eventstore::AppendResult> r = o_.store->Append(req);
      if (r.status().code() == absl::StatusCode::kAborted) continue;
      RETURN_IF_ERROR(r.status());
      if (o_.relay != nullptr) o_.relay->Notify();
      return true;
    }
    return absl::AbortedError(absl::StrCat("classification of ", id, " is being changed concurrently"));
  }

  // Reclassifies `batch` on the worker threads: different customers are different
  // streams, so their synced appends share group commits instead of queueing one
  // after the other. Returns how many changed; the first error otherwise.
  absl::StatusOr<int> ReclassifyInParallel(const std::vector<v1::CustomerInputs>& batch) {
    std::mutex mu;
    std::condition_variable cv;
    size_t remaining = batch.size();
    int changed = 0;
    absl::Status first_error;
    for (const v1::CustomerInputs& in : batch) {
      pool_.Submit([&, in_ptr = &in] {
        absl::StatusOr<bool> c = Reclassify(*in_ptr);
        std::lock_guard<std::mutex> lock(mu);
        if (!c.ok()) {
          first_error.Update(c.status());
        } else {
          changed += *c;
        }
        if (--remaining == 0) cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return remaining == 0; });
    RETURN_IF_ERROR(first_error);
    return changed;
  }

  // Every customer, in chunks of kScanBatch.
  absl::StatusOr<int> ReclassifyEveryone() {
    int changed = 0;
    std::vector<v1::CustomerInputs> chunk;
    auto flush = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(int c, ReclassifyInParallel(chunk));
      changed += c;
      chunk.clear();
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(ForEachInputs([&](const v1::CustomerInputs& in) -> absl::Status {
      chunk.push_back(in);
      if (chunk.size() >= kScanBatch) RETURN_IF_ERROR(flush());
      return absl::OkStatus();
    }));
    RETURN_IF_ERROR(flush());
    return changed;
  }

  // Drains the queue (up to kMaxQueuePasses pages of 1000 entries per call).
  absl::StatusOr<int> ReclassifyQueued() {
    std::lock_guard<std::mutex> lock(worker_mu_);
    int changed = 0;
    for (int pass = 0; pass < kMaxQueuePasses; ++pass) {
      ASSIGN_OR_RETURN(auto queued, o_.store->ScanProjection(kReclassifyQueueProjection, "", "", 1000));
      if (queued.empty()) break;
      bool everyone = false;
      std::set<std::string> ids;
      std::vector<ProjectionWrite> handled;
      for (const auto& [key, unused] : queued) {
        handled.push_back(ProjectionWrite::Delete(std::string(kReclassifyQueueProjection), key));
        if (absl::StartsWith(key, kAllPrefix)) {
          everyone = true;
        } else {
          ids.insert(key.substr(0, key.find('/')));
        }
      }
      if (everyone) {
        ASSIGN_OR_RETURN(int c, ReclassifyEveryone());
        changed += c;
      } else {
        std::vector<v1::CustomerInputs> batch;
        for (const std::string& id : ids) {
          ASSIGN_OR_RETURN(std::optional<v1::CustomerInputs> in, LoadInputs(*o_.store, id));
          if (in) batch.push_back(*std::move(in));
        }
        ASSIGN_OR_RETURN(int c, ReclassifyInParallel(batch));
        changed += c;
      }
      RETURN_IF_ERROR(o_.store->WriteProjections(handled));
    }
    return changed;
  }

  absl::StatusOr<int> Sweep() {
    std::lock_guard<std::mutex> lock(worker_mu_);
    return ReclassifyEveryone();
  }

  absl::Status CheckAccess(const Principal& who, const std::string& customer_id) {
    return directory::VisibleCustomer(*o_.store, nullptr, who, customer_id, o_.clock->Now()).status();
  }

  absl::StatusOr<v1::PublishRuleSetResponse> Publish(const Principal& who,
                                                     const v1::PublishRuleSetRequest& req) {
    if (!CanManageRules(who)) {
      return absl::PermissionDeniedError("PublishRuleSet needs the executive or admin role");
    }
    absl::StatusOr<v1::RuleSet> validated = ValidateRuleSet(req.rule_set());
    if (!validated.ok()) {
      return absl::Status(validated.status().code(),
                          absl::StrCat("rule_set.", validated.status().message()));
    }
    v1::RuleSet rules = *std::move(validated);
    {
      std::lock_guard<std::mutex> lock(publish_mu_);
      ASSIGN_OR_RETURN(uint64_t current, o_.store->StreamVersion(kRuleSetStream));
      if (req.has_expected_version() && req.expected_version() != current) {
        return absl::AbortedError(absl::StrCat("rule set is at version ", current, ", expected ",
                                               req.expected_version()));
      }
      const absl::Time now = o_.clock->Now();
      rules.set_version(current + 1);
      rules.set_published_by(who.subject);
      *rules.mutable_published_at() = ToProtoTimestamp(now);
      v1::ClassificationEvent e;
      e.set_customer_id(std::string(kRuleSetStream));
      *e.mutable_rule_set_published()->mutable_rule_set() = rules;
      eventstore::AppendRequest append;
      append.stream_id = std::string(kRuleSetStream);
      append.expected_version =
          current == 0 ? ExpectedVersion::NoStream() : ExpectedVersion::Exactly(current);
      append.events.push_back({.event_type = EventType(e), .partition_key = e.customer_id(),
                               .payload = e.SerializeAsString(), .actor = who.subject,
                               .occurred_at = now});
      append.projection_writes = {
          ProjectionWrite::Put(std::string(kRuleSetProjection), kCurrentKey, rules.SerializeAsString()),
          ProjectionWrite::Put(std::string(kReclassifyQueueProjection),
                               absl::StrCat(kAllPrefix, rules.version()), "")};
      RETURN_IF_ERROR(o_.store->Append(append).status());
      if (o_.relay != nullptr) o_.relay->Notify();
      std::lock_guard<std::mutex> rules_lock(rules_mu_);
      rules_ = std::make_shared<const v1::RuleSet>(rules);
    }
    int64_t customers = 0;
    RETURN_IF_ERROR(ForEachInputs([&](const v1::CustomerInputs&) {
      ++customers;
      return absl::OkStatus();
    }));
    v1::PublishRuleSetResponse resp;
    *resp.mutable_rule_set() = std::move(rules);
    resp.set_customers_queued(customers);
    return resp;
  }

  absl::StatusOr<v1::SimulateRuleSetResponse> Simulate(const Principal& who,
                                                       const v1::SimulateRuleSetRequest& req) {
    if (!CanManageRules(who)) {
      return absl::PermissionDeniedError("SimulateRuleSet needs the executive or admin role");
    }
    if (req.max_customers() < 0 || req.max_customers() > 1000) {
      return absl::InvalidArgumentError("max_customers: must be 0..1000");
    }
    const int max_examples = req.max_customers() == 0 ? 100 : req.max_customers();
    absl::StatusOr<v1::RuleSet> validated = ValidateRuleSet(req.rule_set());
    if (!validated.ok()) {
      return absl::Status(validated.status().code(),
                          absl::StrCat("rule_set.", validated.status().message()));
    }
    v1::RuleSet candidate = *std::move(validated);
    candidate.set_version(Rules()->version() + 1);
    const absl::Time now = o_.clock->Now();
    std::map<std::tuple<int, std::string, std::string>, int64_t> counts;
    v1::SimulateRuleSetResponse resp;
    RETURN_IF_ERROR(ForEachInputs([&](const v1::CustomerInputs& in) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<v1::Classification> loaded,
                       LoadClassification(*o_.store, in.customer_id()));
      const v1::Classification current = loaded.value_or(v1::Classification());
      const v1::Classification next = Evaluate(in, candidate, now);
      resp.set_customers_evaluated(resp.customers_evaluated() + 1);
      bool changing = false;
      for (const v1::SchemeResult& r : next.schemes()) {
        const std::string from = ClassOf(current, r.scheme());
        if (from == r.class_name()) continue;
        changing = true;
        ++counts[{r.scheme(), from, r.class_name()}];
        if (resp.examples_size() < max_examples) {
          v1::SimulatedChange* ex = resp.add_examples();
          ex->set_customer_id(in.customer_id());
          ex->set_scheme(r.scheme());
          ex->set_from_class(from);
          ex->set_to_class(r.class_name());
        }
      }
      if (changing) resp.set_customers_changing(resp.customers_changing() + 1);
      if (!SameCredit(current.credit(), next.credit())) resp.set_credit_changes(resp.credit_changes() + 1);
      if (current.churn().at_risk() != next.churn().at_risk()) {
        resp.set_churn_risk_changes(resp.churn_risk_changes() + 1);
      }
      return absl::OkStatus();
    }));
    for (const auto& [key, n] : counts) {
      v1::ClassChangeCount* c = resp.add_changes();
      c->set_scheme(static_cast<v1::Scheme>(std::get<0>(key)));
      c->set_from_class(std::get<1>(key));
      c->set_to_class(std::get<2>(key));
      c->set_customers(n);
    }
    return resp;
  }

  // The classification as it was at `as_of` (folded from the stream).
  absl::StatusOr<v1::Classification> ClassificationAsOf(const std::string& id, absl::Time as_of) {
    ASSIGN_OR_RETURN(std::vector<eventstore::EventEnvelope> events,
                     o_.store->ReadStreamAsOf(StreamFor(id), as_of));
    v1::Classification c;
    c.set_customer_id(id);
    for (const eventstore::EventEnvelope& env : events) {
      v1::ClassificationEvent e;
      if (!e.ParseFromString(env.payload())) return absl::DataLossError("corrupt classification event");
      Apply(c, e, env.stream_version(), FromProtoTimestamp(env.occurred_at()));
    }
    return c;
  }

  absl::StatusOr<v1::GetReportResponse> Report(const Principal& who, const v1::GetReportRequest& req) {
    const auth::ListScope scope = auth::ScopeFor(who);
    if (scope.Empty()) return absl::PermissionDeniedError("GetReport: the caller's roles cover no customers");
    const absl::Time now = o_.clock->Now();
    const bool historic = req.has_as_of();
    const absl::Time as_of = historic ? FromProtoTimestamp(req.as_of()) : now;
    if (as_of > now) return absl::InvalidArgumentError("as_of: in the future");
    const absl::Time to = req.has_to() ? FromProtoTimestamp(req.to()) : as_of;
    const absl::Time from = req.has_from() ? FromProtoTimestamp(req.from()) : to - absl::Hours(24 * 365);
    if (to <= from) return absl::InvalidArgumentError("to: must be after from");
    if (!v1::Scheme_IsValid(req.scheme())) {
      return absl::InvalidArgumentError(absl::StrCat("scheme: unknown value ", req.scheme()));
    }
    const v1::Scheme scheme = req.scheme() == v1::SCHEME_UNSPECIFIED ? v1::SCHEME_TIER : req.scheme();
    std::shared_ptr<const v1::RuleSet> rules = Rules();

    struct Money {
      int64_t customers = 0;
      double revenue = 0, profit = 0;
    };
    std::map<std::pair<int, std::string>, Money> composition;
    std::map<std::string, Money> industries, regions;
    std::map<std::string, v1::ClassServiceRow> per_class;
    std::map<std::string, int64_t> satisfaction_sum;
    v1::GetReportResponse resp;
    double total_revenue = 0, total_profit = 0;
    RETURN_IF_ERROR(ForEachInputs([&](const v1::CustomerInputs& in) -> absl::Status {
      if (!in.has_registered_at() || FromProtoTimestamp(in.registered_at()) > as_of) {
        return absl::OkStatus();
      }
      if (!req.region().empty() && in.region() != req.region()) return absl::OkStatus();
      if (!scope.Allows({in.customer_id(), in.owner(), in.region()})) return absl::OkStatus();
      v1::Classification c;
      if (historic) {
        ASSIGN_OR_RETURN(c, ClassificationAsOf(in.customer_id(), as_of));
      } else {
        ASSIGN_OR_RETURN(std::optional<v1::Classification> loaded,
                         LoadClassification(*o_.store, in.customer_id()));
        c = loaded.value_or(v1::Classification());
      }
      const Metrics metrics = ComputeMetrics(in, *rules, as_of);
      auto metric = [&](v1::Metric m) {
        auto it = metrics.find(m);
        return it == metrics.end() ? 0.0 : it->second;
      };
      const double revenue = metric(v1::METRIC_REVENUE_12M), profit = metric(v1::METRIC_PROFIT_12M);
      resp.set_customers(resp.customers() + 1);
      total_revenue += revenue;
      total_profit += profit;
      for (const v1::SchemeResult& r : c.schemes()) {
        Money& m = composition[{r.scheme(), r.class_name()}];
        ++m.customers;
        m.revenue += revenue;
        m.profit += profit;
      }
      for (auto* dim : {&industries[in.industry()], &regions[in.region()]}) {
        ++dim->customers;
        dim->revenue += revenue;
      }
      // Churn and conversion over [from, to).
      const int at_start = LifecycleAt(in, from);
      bool churned = false, converted = false;
      for (const v1::LifecycleChange& lc : in.lifecycle_changes()) {
        if (!Within(lc.at(), from, to)) continue;
        churned = churned || lc.to() == kLifecycleChurned;
        converted = converted || lc.to() == kLifecycleCooperating;
      }
      if (at_start == kLifecycleCooperating) {
        resp.set_cooperating_at_start(resp.cooperating_at_start() + 1);
        if (churned) resp.set_churned(resp.churned() + 1);
      }
      if (at_start == kLifecycleProspect1 || at_start == kLifecycleProspect2) {
        resp.set_prospects_at_start(resp.prospects_at_start() + 1);
        if (converted) resp.set_converted(resp.converted() + 1);
      }
      // Complaints and satisfaction per class of the report's scheme.
      std::string cls = ClassOf(c, scheme);
      if (cls.empty()) cls = "unclassified";
      v1::ClassServiceRow& row = per_class[cls];
      row.set_class_name(cls);
      for (const v1::TicketInput& t : in.tickets()) {
        if (t.complaint()) {
          if (Within(t.opened_at(), from, to)) row.set_complaints(row.complaints() + 1);
          if (Within(t.resolved_at(), from, to)) row.set_complaints_resolved(row.complaints_resolved() + 1);
          const bool opened_before_end = FromProtoTimestamp(t.opened_at()) < to;
          const bool unresolved_at_end = !t.has_resolved_at() || FromProtoTimestamp(t.resolved_at()) >= to;
          if (opened_before_end && unresolved_at_end) row.set_open_complaints(row.open_complaints() + 1);
        }
        if (t.satisfaction() > 0 && Within(t.resolved_at(), from, to)) {
          row.set_satisfaction_answers(row.satisfaction_answers() + 1);
          satisfaction_sum[cls] += t.satisfaction();
        }
      }
      for (const v1::InteractionInput& i : in.interactions()) {
        if (i.satisfaction() > 0 && Within(i.at(), from, to)) {
          row.set_satisfaction_answers(row.satisfaction_answers() + 1);
          satisfaction_sum[cls] += i.satisfaction();
        }
      }
      return absl::OkStatus();
    }));
    auto share = [](double part, double whole) { return whole == 0 ? 0.0 : part / whole; };
    for (const auto& [key, m] : composition) {
      v1::CompositionRow* r = resp.add_composition();
      r->set_scheme(static_cast<v1::Scheme>(key.first));
      r->set_class_name(key.second);
      r->set_customers(m.customers);
      r->set_customer_share(share(m.customers, resp.customers()));
      r->set_revenue(m.revenue);
      r->set_revenue_share(share(m.revenue, total_revenue));
      r->set_profit(m.profit);
      r->set_profit_share(share(m.profit, total_profit));
    }
    auto dims = [&](const std::map<std::string, Money>& in,
                    google::protobuf::RepeatedPtrField<v1::DimensionRow>* out) {
      for (const auto& [key, m] : in) {
        v1::DimensionRow* r = out->Add();
        r->set_key(key);
        r->set_customers(m.customers);
        r->set_revenue(m.revenue);
        r->set_revenue_share(share(m.revenue, total_revenue));
      }
    };
    dims(industries, resp.mutable_by_industry());
    dims(regions, resp.mutable_by_region());
    for (auto& [cls, row] : per_class) {
      row.set_average_satisfaction(share(satisfaction_sum[cls], row.satisfaction_answers()));
      *resp.add_per_class() = row;
    }
    resp.set_churn_rate(share(resp.churned(), resp.cooperating_at_start()));
    resp.set_conversion_rate(share(resp.converted(), resp.prospects_at_start()));
    *resp.mutable_as_of() = ToProtoTimestamp(as_of);
    *resp.mutable_from() = ToProtoTimestamp(from);
    *resp.mutable_to() = ToProtoTimestamp(to);
    return resp;
  }

  const ClassificationLogicOptions o_;

 private:
  mutable std::mutex rules_mu_;
  std::shared_ptr<const v1::RuleSet> rules_;
  std::mutex worker_mu_;
  // Runs reclassifications of different customers at once (see ReclassifyInParallel).
  ThreadPool pool_{kReclassifyThreads};
  std::mutex publish_mu_;
};

ClassificationLogic::ClassificationLogic(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClassificationLogic::~ClassificationLogic() = default;

absl::StatusOr<std::unique_ptr<ClassificationLogic>> ClassificationLogic::Create(
    ClassificationLogicOptions options) {
  if (options.store == nullptr) return absl::InvalidArgumentError("store: required");
  ASSIGN_OR_RETURN(std::optional<std::string> row,
                   options.store->GetProjection(kRuleSetProjection, kCurrentKey));
  v1::RuleSet rules = DefaultRuleSet();
  if (row && !rules.ParseFromString(*row)) return absl::DataLossError("corrupt rule set row");
  return std::unique_ptr<ClassificationLogic>(new ClassificationLogic(std::make_unique<Impl>(
      std::move(options), std::make_shared<const v1::RuleSet>(std::move(rules)))));
}

absl::StatusOr<v1::GetClassificationResponse> ClassificationLogic::GetClassification(
    const Principal& who, const v1::GetClassificationRequest& req) {
  if (req.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
  RETURN_IF_ERROR(impl_->CheckAccess(who, req.customer_id()));
  ASSIGN_OR_RETURN(std::optional<v1::Classification> c,
                   LoadClassification(*impl_->o_.store, req.customer_id()));
  if (!c) {
    return absl::NotFoundError(absl::StrCat("customer ", req.customer_id(), " is not classified yet"));
  }
  v1::GetClassificationResponse resp;
  *resp.mutable_classification() = *std::move(c);
  return resp;
}

absl::StatusOr<v1::GetClassificationHistoryResponse> ClassificationLogic::GetClassificationHistory(
    const Principal& who, const v1::GetClassificationHistoryRequest& req) {
  if (req.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
  ASSIGN_OR_RETURN(size_t page_size, PageSize(req.page_size(), 100));
  uint64_t from_version = 1;
  if (!req.page_token().empty() &&
      (!absl::SimpleAtoi(req.page_token(), &from_version) || from_version < 1)) {
    return absl::InvalidArgumentError("page_token: not a token of this query");
  }
  RETURN_IF_ERROR(impl_->CheckAccess(who, req.customer_id()));
  ASSIGN_OR_RETURN(std::vector<eventstore::EventEnvelope> events,
                   impl_->o_.store->ReadStream(StreamFor(req.customer_id()), from_version, page_size + 1));
  v1::GetClassificationHistoryResponse resp;
  for (size_t i = 0; i < events.size() && i < page_size; ++i) {
    v1::HistoryEntry* entry = resp.add_entries();
    entry->set_version(events[i].stream_version());
    *entry->mutable_at() = events[i].occurred_at();
    if (!entry->mutable_event()->ParseFromString(events[i].payload())) {
      return absl::DataLossError("corrupt classification event");
    }
  }
  if (events.size() > page_size) resp.set_next_page_token(absl::StrCat(events[page_size].stream_version()));
  return resp;
}

absl::StatusOr<v1::GetRuleSetResponse> ClassificationLogic::GetRuleSet(const Principal&,
                                                                       const v1::GetRuleSetRequest&) {
  v1::GetRuleSetResponse resp;
  *resp.mutable_rule_set() = *impl_->Rules();
  return resp;
}

absl::StatusOr<v1::PublishRuleSetResponse> ClassificationLogic::PublishRuleSet(
    const Principal& who, const v1::PublishRuleSetRequest& req) {
  return impl_->Publish(who, req);
}

absl::StatusOr<v1::SimulateRuleSetResponse> ClassificationLogic::SimulateRuleSet(
    const Principal& who, const v1::SimulateRuleSetRequest& req) {
  return impl_->Simulate(who, req);
}

absl::StatusOr<v1::GetReportResponse> ClassificationLogic::GetReport(const Principal& who,
                                                                     const v1::GetReportRequest& req) {
  return impl_->Report(who, req);
}

absl::StatusOr<v1::ListChurnRisksResponse> ClassificationLogic::ListChurnRisks(
    const Principal& who, const v1::ListChurnRisksRequest& req) {
  ASSIGN_OR_RETURN(size_t page_size, PageSize(req.page_size(), 50));
  const auth::ListScope scope = auth::ScopeFor(who);
  if (scope.Empty()) {
    return absl::PermissionDeniedError("ListChurnRisks: the caller's roles cover no customers");
  }
  RiskIndex index = RiskIndex::kAll;
  std::string value;
  if (!req.region().empty()) {
    index = RiskIndex::kRegion;
    value = req.region();
  } else if (!req.owner().empty()) {
    index = RiskIndex::kOwner;
    value = req.owner();
  }
  ASSIGN_OR_RETURN(RiskPage page,
                   classification::ListChurnRisks(
                       *impl_->o_.store, index, value, page_size, req.page_token(),
                       [&](const v1::Classification& c) {
                         return (req.owner().empty() || c.owner() == req.owner()) &&
                                scope.Allows({c.customer_id(), c.owner(), c.region()});
                       }));
  v1::ListChurnRisksResponse resp;
  for (v1::Classification& c : page.customers) *resp.add_customers() = std::move(c);
  resp.set_next_page_token(page.next_page_token);
  return resp;
}

absl::StatusOr<int> ClassificationLogic::ReclassifyQueued() { return impl_->ReclassifyQueued(); }
absl::StatusOr<int> ClassificationLogic::Sweep() { return impl_->Sweep(); }

}  // namespace crm::classification
