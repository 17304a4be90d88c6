#include "crm/runtime/periodic_worker.h"

#include <pthread.h>

#include <chrono>
#include <utility>

namespace crm::runtime {
namespace {

// Longer waits overflow steady_clock arithmetic; treat them as "forever".
constexpr absl::Duration kForever = absl::Hours(24 * 365 * 100);

}  // namespace

PeriodicWorker::PeriodicWorker(std::string name, absl::Duration interval,
                               std::function<void()> tick)
    : name_(std::move(name)), interval_(interval), tick_(std::move(tick)) {}

void PeriodicWorker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void PeriodicWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // Start() leaves thread_ alone once stopping_ is set, so it is stable here;
  // join_mu_ makes a concurrent second Stop() wait for the join too.
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void PeriodicWorker::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void PeriodicWorker::Loop() {
  // Thread names are limited to 16 bytes including the terminator.
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    tick_();
    lock.lock();
    if (interval_ >= kForever) {
      cv_.wait(lock, [this] { return stopping_ || woken_; });
    } else {
      cv_.wait_for(lock, absl::ToChronoNanoseconds(interval_),
                   [this] { return stopping_ || woken_; });
    }
  }
}

}  // namespace crm::runtime
