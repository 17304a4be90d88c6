#include "crm/classification/app/classification_app.h"

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/auth/access.h"
#include "crm/classification/consumer/inputs_handler.h"
#include "crm/classification/domain/rules.h"
#include "crm/classification/projection/classification_projection.h"
#include "crm/command/document.h"
#include "crm/command/page.h"
#include "crm/eventstore/index_walk.h"
#include "crm/command/rebuild.h"
#include "crm/command/serve.h"
#include "crm/common/proto_time.h"
#include "crm/common/status_macros.h"
#include "crm/directory/customer_directory.h"

namespace crm::classification {
namespace {

using auth::Principal;
using eventstore::ProjectionWrite;

// Queue key of a reclassification of everyone (sorts before customer ids).
constexpr char kAllPrefix[] = "*all/";
constexpr size_t kScanBatch = 500;
constexpr int kMaxQueuePasses = 100;
constexpr int kLifecycleProspect1 = 1, kLifecycleProspect2 = 2, kLifecycleCooperating = 3,
              kLifecycleChurned = 4;

// Who the reclassification acts as (and what its events record as actor).
const Principal& Worker() {
  static const Principal* const kWorker =
      new Principal{.subject = "crm-classification", .roles = {auth::Role::kService}};
  return *kWorker;
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

using Events = std::vector<v1::ClassificationEvent>;
using Rules = std::shared_ptr<const v1::RuleSet>;

// A customer to reclassify: its inputs (which outlive the command).
struct Reclassification {
  const v1::CustomerInputs* inputs = nullptr;
};
// What a reclassification decides with besides the current classification.
struct ClassifyContext {
  Rules rules;
  const v1::CustomerInputs* inputs = nullptr;
  bool loaded = false;  // the customer has a classification row yet
};
using ClassifyTarget = command::Target<v1::Classification, ClassifyContext>;
using ClassifyOutcome = command::Outcome<v1::Classification, v1::ClassificationEvent>;

// Whether a reclassification changed the classification.
struct Applied {
  bool changed = false;
};

// What a publication decides with: the customers it queues.
struct PublishContext {
  int64_t customers = 0;
};
using PublishTarget = command::Target<v1::RuleSet, PublishContext>;

// The customer's copy of owner, region and industry (from its inputs) on `c`;
// true when that changed it.
bool SetScope(const v1::CustomerInputs& in, v1::Classification& c) {
  const bool same = c.customer_id() == in.customer_id() && c.owner() == in.owner() &&
                    c.region() == in.region() && c.industry() == in.industry();
  c.set_customer_id(in.customer_id());
  c.set_owner(in.owner());
  c.set_region(in.region());
  c.set_industry(in.industry());
  return !same;
}

// The classification rows of the log, each with its customer's scope from the
// consumed inputs (which a rebuild keeps).
class ClassificationProjector final : public eventstore::ProjectionSetProjector {
 public:
  absl::Status Project(const eventstore::EventEnvelope& e, const eventstore::ProjectionReader& rows,
                       std::vector<ProjectionWrite>& out) const override {
    const ClassificationAggregate& a = Classifications();
    if (!absl::StartsWith(e.stream_id(), a.stream_prefix)) return absl::OkStatus();
    const std::string id = e.stream_id().substr(a.stream_prefix.size());
    v1::ClassificationEvent event;
    if (!event.ParseFromString(e.payload())) {
      return absl::DataLossError(absl::StrCat("corrupt classification event at position ",
                                              e.global_position()));
    }
    v1::Classification before;
    ASSIGN_OR_RETURN(std::optional<std::string> row, rows.Get(kClassificationsProjection, id));
    if (row && !before.ParseFromString(*row)) return absl::DataLossError("corrupt rebuilt row");
    v1::Classification after = before;
    const absl::Time at = FromProtoTimestamp(e.occurred_at());
    a.apply(after, event, {e.stream_version(), at, e.actor()});
    ASSIGN_OR_RETURN(std::optional<std::string> inputs_row, rows.Get(kInputsProjection, id));
    v1::CustomerInputs inputs;
    if (inputs_row && inputs.ParseFromString(*inputs_row)) SetScope(inputs, after);
    for (ProjectionWrite& w : a.rows(before, after, {event}, at)) out.push_back(std::move(w));
    return absl::OkStatus();
  }
};

}  // namespace

const ClassificationAggregate& Classifications() {
  static const ClassificationAggregate* const kClassifications = new ClassificationAggregate{
      .name = "classification of customer",
      .stream_prefix = StreamFor(""),
      .state_projection = std::string(kClassificationsProjection),
      .apply = [](v1::Classification& s, const v1::ClassificationEvent& e,
                  const domain::EventMeta& m) { Apply(s, e, m.version, m.occurred_at); },
      .event_type = [](const v1::ClassificationEvent& e) { return EventType(e); },
      .partition_key = [](const v1::ClassificationEvent& e) { return e.customer_id(); },
      .rows = [](const v1::Classification& before, const v1::Classification& after,
                 const Events&, absl::Time) { return RowWrites(before, after); }};
  return *kClassifications;
}

const RuleSetAggregate& RuleSets() {
  static const RuleSetAggregate* const kRuleSets =
      new RuleSetAggregate(command::DocumentAggregate<v1::RuleSet, v1::ClassificationEvent>(
          "rule set", std::string(kRuleSetStream), std::string(kRuleSetProjection),
          [](const v1::ClassificationEvent& e) {
            return e.has_rule_set_published() ? &e.rule_set_published().rule_set() : nullptr;
          },
          &EventType));
  return *kRuleSets;
}

std::unique_ptr<eventstore::ProjectionSetProjector> NewRebuildProjector() {
  return std::make_unique<command::Projectors>(
      std::vector<std::shared_ptr<const eventstore::ProjectionSetProjector>>{
          std::make_shared<ClassificationProjector>(),
          std::make_shared<command::AggregateProjector<RuleSetAggregate>>(RuleSets())});
}

std::vector<std::string> RebuildTargets() {
  return {std::string(kClassificationsProjection), std::string(kChurnRiskIndexProjection),
          std::string(kRuleSetProjection)};
}

class ClassificationApp::Impl {
 public:
  Impl(ClassificationAppOptions o, Rules rules)
      : o_(std::move(o)), store_(o_.pipeline->store()), rules_(std::move(rules)) {}

  Rules CurrentRules() const {
    std::lock_guard<std::mutex> lock(rules_mu_);
    return rules_;
  }

  absl::Time Now() const { return o_.pipeline->clock().Now(); }

  // Visits every CustomerInputs row in key order.
  absl::Status ForEachInputs(const std::function<absl::Status(const v1::CustomerInputs&)>& visit) {
    std::string after;
    while (true) {
      ASSIGN_OR_RETURN(auto rows, store_.ScanProjection(kInputsProjection, "", after, kScanBatch));
      for (const auto& [key, row] : rows) {
        v1::CustomerInputs in;
        if (!in.ParseFromString(row)) return absl::DataLossError("corrupt inputs row");
        RETURN_IF_ERROR(visit(in));
      }
      if (rows.size() < kScanBatch) return absl::OkStatus();
      after = rows.back().first;
    }
  }

  // Reclassifies `batch` at once: every command is decided on this thread and
  // its append queued, so different customers' synced appends share group
  // commits. Returns how many changed; the first error otherwise.
  absl::StatusOr<int> ReclassifyAll(const std::vector<v1::CustomerInputs>& batch) {
    std::mutex mu;
    std::condition_variable cv;
    size_t remaining = batch.size();
    absl::Status first_error;
    std::vector<Reclassification> requests(batch.size());
    std::vector<Applied> results(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      requests[i].inputs = &batch[i];
      o_.pipeline->Run(reclassify, Worker(), requests[i], &results[i], [&](absl::Status s) {
        std::lock_guard<std::mutex> lock(mu);
        first_error.Update(s);
        if (--remaining == 0) cv.notify_all();
      });
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return remaining == 0; });
    RETURN_IF_ERROR(first_error);
    int changed = 0;
    for (const Applied& a : results) changed += a.changed;
    return changed;
  }

  // Every customer, in chunks of kScanBatch.
  absl::StatusOr<int> ReclassifyEveryone() {
    int changed = 0;
    std::vector<v1::CustomerInputs> chunk;
    auto flush = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(int c, ReclassifyAll(chunk));
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
    // A publication committed a moment ago queued "*all/N" with it: reclassify
    // under that rule set, not the one this process swapped in before.
    RETURN_IF_ERROR(ReloadRules());
    int changed = 0;
    for (int pass = 0; pass < kMaxQueuePasses; ++pass) {
      ASSIGN_OR_RETURN(auto queued, store_.ScanProjection(kReclassifyQueueProjection, "", "", 1000));
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
          ASSIGN_OR_RETURN(std::optional<v1::CustomerInputs> in, LoadInputs(store_, id));
          if (in) batch.push_back(*std::move(in));
        }
        ASSIGN_OR_RETURN(int c, ReclassifyAll(batch));
        changed += c;
      }
      RETURN_IF_ERROR(store_.WriteProjections(handled));
    }
    return changed;
  }

  absl::StatusOr<int> Sweep() {
    std::lock_guard<std::mutex> lock(worker_mu_);
    return ReclassifyEveryone();
  }

  absl::Status CheckAccess(const Principal& who, const std::string& customer_id) {
    return directory::VisibleCustomer(store_, nullptr, who, customer_id, Now()).status();
  }

  absl::Status Publish(const Principal& who, const v1::PublishRuleSetRequest& req,
                       v1::PublishRuleSetResponse* resp) {
    ASSIGN_OR_RETURN(*resp, o_.pipeline->Execute(publish, who, req));
    return ReloadRules();  // in force from now (also after a replay)
  }

  // The rule set in force: the current row. Only ever moves forward: two
  // publications finishing in either order leave the newer one in force.
  absl::Status ReloadRules() {
    ASSIGN_OR_RETURN(std::optional<v1::RuleSet> current,
                     command::ReadCurrentDocument<v1::RuleSet>(store_, kRuleSetProjection));
    if (!current) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(rules_mu_);
    if (current->version() > rules_->version()) {
      rules_ = std::make_shared<const v1::RuleSet>(*std::move(current));
    }
    return absl::OkStatus();
  }

  absl::Status Simulate(const Principal& who, const v1::SimulateRuleSetRequest& req,
                        v1::SimulateRuleSetResponse* out) {
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
    candidate.set_version(CurrentRules()->version() + 1);
    const absl::Time now = Now();
    std::map<std::tuple<int, std::string, std::string>, int64_t> counts;
    v1::SimulateRuleSetResponse& resp = *out;
    RETURN_IF_ERROR(ForEachInputs([&](const v1::CustomerInputs& in) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<v1::Classification> loaded,
                       LoadClassification(store_, in.customer_id()));
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
    return absl::OkStatus();
  }

  // The classification as it was at `as_of` (folded from the stream).
  absl::StatusOr<v1::Classification> ClassificationAsOf(const std::string& id, absl::Time as_of) {
    ASSIGN_OR_RETURN(std::vector<eventstore::EventEnvelope> events,
                     store_.ReadStreamAsOf(StreamFor(id), as_of));
    v1::Classification c;
    c.set_customer_id(id);
    for (const eventstore::EventEnvelope& env : events) {
      v1::ClassificationEvent e;
      if (!e.ParseFromString(env.payload())) return absl::DataLossError("corrupt classification event");
      Apply(c, e, env.stream_version(), FromProtoTimestamp(env.occurred_at()));
    }
    return c;
  }

  absl::Status Report(const Principal& who, const v1::GetReportRequest& req,
                      v1::GetReportResponse* out) {
    const auth::ListScope scope = auth::ScopeFor(who);
    if (scope.Empty()) return absl::PermissionDeniedError("GetReport: the caller's roles cover no customers");
    const absl::Time now = Now();
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
    std::shared_ptr<const v1::RuleSet> rules = CurrentRules();

    struct Money {
      int64_t customers = 0;
      double revenue = 0, profit = 0;
    };
    std::map<std::pair<int, std::string>, Money> composition;
    std::map<std::string, Money> industries, regions;
    std::map<std::string, v1::ClassServiceRow> per_class;
    std::map<std::string, int64_t> satisfaction_sum;
    v1::GetReportResponse& resp = *out;
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
                         LoadClassification(store_, in.customer_id()));
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
    return absl::OkStatus();
  }

  const ClassificationAppOptions o_;
  eventstore::EventStore& store_;

 private:
  mutable std::mutex rules_mu_;
  Rules rules_;
  std::mutex worker_mu_;

 public:
  const command::Command<ClassificationAggregate, Reclassification, Applied, ClassifyContext>
      reclassify{
          .aggregate = &Classifications(),
          .rpc = "Reclassify",
          .load = [this](const Principal&,
                         const Reclassification& r) -> absl::StatusOr<ClassifyTarget> {
            const std::string& id = r.inputs->customer_id();
            ASSIGN_OR_RETURN(std::optional<v1::Classification> loaded,
                             LoadClassification(store_, id));
            const bool exists = loaded.has_value();
            return ClassifyTarget{
                .id = id,
                .state = std::move(loaded).value_or(v1::Classification()),
                .context = {.rules = CurrentRules(), .inputs = r.inputs, .loaded = exists}};
          },
          .decide = [](const ClassifyTarget& t, const Reclassification&,
                       const command::Decision& d) -> absl::StatusOr<Events> {
            const v1::Classification next = Evaluate(*t.context.inputs, *t.context.rules, d.now);
            Events events = Diff(t.state, next);
            for (v1::ClassificationEvent& e : events) {
              e.set_customer_id(t.id);
              if (e.has_churn_risk_raised()) {
                e.mutable_churn_risk_raised()->set_owner(next.owner());
                e.mutable_churn_risk_raised()->set_region(next.region());
              }
            }
            return events;
          },
          .respond = [](const ClassifyTarget&, const ClassifyOutcome& outcome, Applied& a) {
            a.changed = !outcome.events.empty();
          },
          // The row keeps the customer's scope for access and lists; a customer
          // without a row gets one.
          .refresh = [](const ClassifyTarget& t, v1::Classification& after) {
            return SetScope(*t.context.inputs, after) || !t.context.loaded;
          }};

  const command::Command<RuleSetAggregate, v1::PublishRuleSetRequest, v1::PublishRuleSetResponse,
                         PublishContext>
      publish{
          .aggregate = &RuleSets(),
          .rpc = "PublishRuleSet",
          .options = command::WriteOptions::OfRequest<v1::PublishRuleSetRequest>,
          .load = [this](const Principal& who,
                         const v1::PublishRuleSetRequest&) -> absl::StatusOr<PublishTarget> {
            if (!CanManageRules(who)) {
              return absl::PermissionDeniedError("PublishRuleSet needs the executive or admin role");
            }
            ASSIGN_OR_RETURN(std::optional<v1::RuleSet> current,
                             command::ReadCurrentDocument<v1::RuleSet>(store_, kRuleSetProjection));
            return PublishTarget{.state = std::move(current).value_or(v1::RuleSet())};
          },
          // After the replay check: every customer is queued for reclassification.
          .prepare = [this](PublishTarget& t, const v1::PublishRuleSetRequest&) -> absl::Status {
            return ForEachInputs([&](const v1::CustomerInputs&) {
              ++t.context.customers;
              return absl::OkStatus();
            });
          },
          .decide = [](const PublishTarget& t, const v1::PublishRuleSetRequest& req,
                       const command::Decision& d) -> absl::StatusOr<Events> {
            absl::StatusOr<v1::RuleSet> validated = ValidateRuleSet(req.rule_set());
            if (!validated.ok()) {
              return absl::Status(validated.status().code(),
                                  absl::StrCat("rule_set.", validated.status().message()));
            }
            v1::ClassificationEvent e;
            e.set_customer_id(std::string(kRuleSetStream));
            v1::RuleSet& rules = *e.mutable_rule_set_published()->mutable_rule_set();
            rules = *std::move(validated);
            rules.set_version(t.state.version() + 1);
            rules.set_published_by(d.actor);
            *rules.mutable_published_at() = ToProtoTimestamp(d.now);
            return Events{std::move(e)};
          },
          .respond = [](const PublishTarget& t,
                        const command::Outcome<v1::RuleSet, v1::ClassificationEvent>& outcome,
                        v1::PublishRuleSetResponse& r) {
            *r.mutable_rule_set() = outcome.after;
            r.set_customers_queued(t.context.customers);
          },
          .extra_rows = [](const PublishTarget&, const Events& events,
                           std::vector<ProjectionWrite>& out) {
            for (const v1::ClassificationEvent& e : events) {
              out.push_back(ProjectionWrite::Put(
                  std::string(kReclassifyQueueProjection),
                  absl::StrCat(kAllPrefix, e.rule_set_published().rule_set().version()), ""));
            }
          }};
};

ClassificationApp::ClassificationApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClassificationApp::~ClassificationApp() = default;

absl::StatusOr<std::unique_ptr<ClassificationApp>> ClassificationApp::Create(
    ClassificationAppOptions options) {
  if (options.pipeline == nullptr) return absl::InvalidArgumentError("pipeline: required");
  ASSIGN_OR_RETURN(std::optional<v1::RuleSet> rules,
                   command::ReadCurrentDocument<v1::RuleSet>(options.pipeline->store(),
                                                             kRuleSetProjection));
  return std::unique_ptr<ClassificationApp>(new ClassificationApp(std::make_unique<Impl>(
      std::move(options),
      std::make_shared<const v1::RuleSet>(std::move(rules).value_or(DefaultRuleSet())))));
}

void ClassificationApp::PublishRuleSet(const Principal& who, const v1::PublishRuleSetRequest& req,
                                       v1::PublishRuleSetResponse* resp, command::Done done) {
  command::RunOn(impl_->o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return impl_->Publish(who, req, resp); });
}

void ClassificationApp::SimulateRuleSet(const Principal& who,
                                        const v1::SimulateRuleSetRequest& req,
                                        v1::SimulateRuleSetResponse* resp, command::Done done) {
  command::RunOn(impl_->o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return impl_->Simulate(who, req, resp); });
}

void ClassificationApp::GetReport(const Principal& who, const v1::GetReportRequest& req,
                                  v1::GetReportResponse* resp, command::Done done) {
  command::RunOn(impl_->o_.slow_queries, std::move(done),
                 [this, who, &req, resp] { return impl_->Report(who, req, resp); });
}

absl::Status ClassificationApp::GetClassification(const Principal& who,
                                                  const v1::GetClassificationRequest& req,
                                                  v1::GetClassificationResponse* resp) {
  if (req.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
  RETURN_IF_ERROR(impl_->CheckAccess(who, req.customer_id()));
  ASSIGN_OR_RETURN(std::optional<v1::Classification> c,
                   LoadClassification(impl_->store_, req.customer_id()));
  if (!c) {
    return absl::NotFoundError(absl::StrCat("customer ", req.customer_id(), " is not classified yet"));
  }
  *resp->mutable_classification() = *std::move(c);
  // The inputs as every metric's value now, under the rule set in force.
  ASSIGN_OR_RETURN(std::optional<v1::CustomerInputs> inputs,
                   LoadInputs(impl_->store_, req.customer_id()));
  if (inputs) {
    const Metrics metrics = ComputeMetrics(*inputs, *impl_->CurrentRules(), impl_->Now());
    for (const auto& [metric, value] : metrics) {  // std::map: by metric number
      v1::MetricValue* m = resp->add_metrics();
      m->set_metric(metric);
      m->set_value(value);
    }
  }
  return absl::OkStatus();
}

absl::Status ClassificationApp::GetClassificationHistory(
    const Principal& who, const v1::GetClassificationHistoryRequest& req,
    v1::GetClassificationHistoryResponse* resp) {
  if (req.customer_id().empty()) return absl::InvalidArgumentError("customer_id: required");
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 100));
  RETURN_IF_ERROR(impl_->CheckAccess(who, req.customer_id()));
  ASSIGN_OR_RETURN(
      eventstore::StreamPage page,
      eventstore::ReadStreamPage(
          impl_->store_, StreamFor(req.customer_id()),
          {.page_size = page_size,
           .page_token = req.page_token(),
           .binding = command::PageBinding("GetClassificationHistory", req, who)}));
  for (const eventstore::EventEnvelope& e : page.events) {
    v1::HistoryEntry* entry = resp->add_entries();
    entry->set_version(e.stream_version());
    *entry->mutable_at() = e.occurred_at();
    if (!entry->mutable_event()->ParseFromString(e.payload())) {
      return absl::DataLossError("corrupt classification event");
    }
  }
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::Status ClassificationApp::GetRuleSet(const Principal&, const v1::GetRuleSetRequest&,
                                           v1::GetRuleSetResponse* resp) {
  *resp->mutable_rule_set() = *impl_->CurrentRules();
  return absl::OkStatus();
}

absl::Status ClassificationApp::ListChurnRisks(const Principal& who,
                                               const v1::ListChurnRisksRequest& req,
                                               v1::ListChurnRisksResponse* resp) {
  ASSIGN_OR_RETURN(size_t page_size, command::PageSize(req.page_size(), 50));
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
                       impl_->store_, index, value, page_size, req.page_token(),
                       command::PageBinding("ListChurnRisks", req, who),
                       [&](const v1::Classification& c) {
                         return (req.owner().empty() || c.owner() == req.owner()) &&
                                scope.Allows({c.customer_id(), c.owner(), c.region()});
                       }));
  for (v1::Classification& c : page.customers) *resp->add_customers() = std::move(c);
  resp->set_next_page_token(page.next_page_token);
  return absl::OkStatus();
}

absl::StatusOr<int> ClassificationApp::ReclassifyQueued() { return impl_->ReclassifyQueued(); }
absl::StatusOr<int> ClassificationApp::Sweep() { return impl_->Sweep(); }

}  // namespace crm::classification
