#include "crm/runtime/admission.h"

#include <algorithm>
#include <cmath>

#include "absl/random/distributions.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl_view.h"

namespace crm::runtime {

constexpr std::string_view kRejectedHelp =
    "Calls refused with RESOURCE_EXHAUSTED before running, by reason.";

Admission::Admission(MetricsRegistry* registry)
    : rejected_in_flight_(registry->GetCounter("crm_grpc_server_rejected_total", kRejectedHelp,
                                               {{"reason", "in_flight"}})),
      rejected_overload_(registry->GetCounter("crm_grpc_server_rejected_total", kRejectedHelp,
                                              {{"reason", "overload"}})),
      rejected_queue_full_(registry->GetCounter("crm_grpc_server_rejected_total", kRejectedHelp,
                                                {{"reason", "queue_full"}})),
      in_flight_gauge_(registry->AddCallbackGauge(
          "crm_grpc_server_in_flight", "Calls admitted (authenticated) and not finished yet.", {},
          [this] { return static_cast<double>(in_flight()); })) {}

Admission& Admission::Default() {
  static Admission* const instance = new Admission(&MetricsRegistry::Default());
  return *instance;
}

void Admission::SetLimit(int64_t max_in_flight) {
  limit_.store(max_in_flight < 0 ? 0 : max_in_flight, std::memory_order_relaxed);
}

bool Admission::TryEnter() {
  const int64_t limit = limit_.load(std::memory_order_relaxed);
  const int64_t before = in_flight_.fetch_add(1, std::memory_order_relaxed);
  if (limit == 0 || before < limit) return true;
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  rejected_in_flight_.Inc();
  return false;
}

void Admission::Leave() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

void Admission::SetShedFraction(double fraction) {
  shed_fraction_.store(std::isnan(fraction) ? 0.0 : std::clamp(fraction, 0.0, 1.0),
                       std::memory_order_relaxed);
}

bool Admission::Shed() {
  const double fraction = shed_fraction();
  if (fraction <= 0) return false;
  thread_local absl::InsecureBitGen gen;
  if (!absl::Bernoulli(gen, fraction)) return false;
  rejected_overload_.Inc();
  return true;
}

absl::Status Admission::Overloaded() const {
  return absl::ResourceExhaustedError(
      absl::StrCat("server overloaded: CPU saturated, ", std::lround(shed_fraction() * 100),
                   "% of calls refused; retry later"));
}

absl::Status Admission::Busy() const {
  return absl::ResourceExhaustedError(
      absl::StrCat("server busy: ", limit(), " calls in flight (--max_in_flight); retry later"));
}

absl::Status Admission::QueueFull(std::string_view queue) {
  rejected_queue_full_.Inc();
  return absl::ResourceExhaustedError(
      absl::StrCat("server busy: the ", internal::AbslView(queue), " queue is full; retry later"));
}

}  // namespace crm::runtime
