#include "crm/runtime/readiness.h"

#include "crm/runtime/log.h"

namespace crm::runtime {

Readiness& Readiness::Default() {
  static Readiness* const instance = new Readiness();
  return *instance;
}

void Readiness::Block(std::string_view name, std::string_view reason) {
  absl::MutexLock notify(&notify_mu_);
  bool was_ready;
  std::vector<std::function<void(bool)>> listeners;
  {
    absl::MutexLock lock(&mu_);
    auto it = blocks_.find(name);
    if (it != blocks_.end() && it->second == reason) return;
    was_ready = blocks_.empty();
    if (it == blocks_.end()) {
      blocks_.emplace(std::string(name), std::string(reason));
    } else {
      it->second = std::string(reason);
    }
    if (was_ready) listeners = listeners_;
  }
  Log(LogLevel::kWarn, "not_ready",
      {{"block", std::string(name)}, {"reason", std::string(reason)}});
  for (const auto& listener : listeners) listener(false);
}

void Readiness::Clear(std::string_view name) {
  absl::MutexLock notify(&notify_mu_);
  bool now_ready;
  std::vector<std::function<void(bool)>> listeners;
  {
    absl::MutexLock lock(&mu_);
    auto it = blocks_.find(name);
    if (it == blocks_.end()) return;
    blocks_.erase(it);
    now_ready = blocks_.empty();
    if (now_ready) listeners = listeners_;
  }
  Log(now_ready ? LogLevel::kInfo : LogLevel::kWarn, "readiness_cleared",
      {{"block", std::string(name)}, {"ready", now_ready}});
  for (const auto& listener : listeners) listener(true);
}

bool Readiness::Ready() const {
  absl::MutexLock lock(&mu_);
  return blocks_.empty();
}

std::vector<std::pair<std::string, std::string>> Readiness::Blocks() const {
  absl::MutexLock lock(&mu_);
  return {blocks_.begin(), blocks_.end()};
}

void Readiness::OnChange(std::function<void(bool ready)> listener) {
  absl::MutexLock notify(&notify_mu_);
  absl::MutexLock lock(&mu_);
  listeners_.push_back(std::move(listener));
}

}  // namespace crm::runtime
