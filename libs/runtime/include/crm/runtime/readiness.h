// Readiness: the named conditions that keep a process from being ready.
//
//   crm::runtime::Readiness::Default().Block("store", "no space left on device");
//   ...
//   crm::runtime::Readiness::Default().Clear("store");
//
// While any block is present, ServiceRuntime reports gRPC health NOT_SERVING
// (overall "" and every registered service), /readyz answers 503 listing the
// blocks, and the gauge crm_ready is 0. Names are short and stable ("store",
// "consumer/crm.customer.v1.events"); the reason is free text for operators.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace crm::runtime {

// Lifecycle: Default() lives for the whole process; tests may construct their
// own. Thread safety: every method may be called from any thread.
class Readiness {
 public:
  Readiness() = default;
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  // The process's one instance.
  static Readiness& Default();

  // Adds (or updates the reason of) the block `name`. Idempotent: the same
  // name and reason again does nothing. Logs "not_ready" once per change.
  void Block(std::string_view name, std::string_view reason);

  // Removes the block `name` if present (logs "readiness_cleared").
  void Clear(std::string_view name);

  // True while there is no block.
  bool Ready() const;

  // The blocks, sorted by name: (name, reason).
  std::vector<std::pair<std::string, std::string>> Blocks() const;

  // `listener` is called after every change of Ready(), outside the state
  // lock but serialized (so listeners see changes in order), with the new
  // value. Listeners live as long as this object and must not call Block or
  // Clear themselves.
  void OnChange(std::function<void(bool ready)> listener);

 private:
  // Held while a change is applied and announced: keeps notifications ordered.
  absl::Mutex notify_mu_;
  mutable absl::Mutex mu_ ABSL_ACQUIRED_AFTER(notify_mu_);
  std::map<std::string, std::string, std::less<>> blocks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(bool)>> listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace crm::runtime
