#include "write_health.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace crm::eventstore::internal {
namespace {

class ErrorListener final : public rocksdb::EventListener {
 public:
  explicit ErrorListener(WriteHealth* health) : health_(health) {}

  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    // Soft errors (a compaction without space) leave writes going.
    if (error->ok() || error->severity() < rocksdb::Status::Severity::kHardError) return;
    health_->MarkUnwritable(error->ToString());
  }

  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    // WriteHealth's thread resumes the database instead (see write_health.h).
    *auto_recovery = false;
  }

 private:
  WriteHealth* const health_;
};

constexpr auto kFirstBackoff = std::chrono::milliseconds(200);
constexpr auto kMaxBackoff = std::chrono::seconds(5);

}  // namespace

WriteHealth::WriteHealth(std::function<void(bool, std::string_view)> on_change)
    : on_change_(std::move(on_change)) {}

WriteHealth::~WriteHealth() { Stop(); }

std::shared_ptr<rocksdb::EventListener> WriteHealth::Listener() {
  return std::make_shared<ErrorListener>(this);
}

void WriteHealth::MarkUnwritable(std::string_view reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reason_ = std::string(reason);
    ++generation_;
    writable_.store(false, std::memory_order_release);
  }
  cv_.notify_all();
}

absl::Status WriteHealth::WriteStatus() const {
  if (writable()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  return absl::UnavailableError(absl::StrCat(
      "event store cannot write (it resumes by itself once the cause is gone): ", reason_,
      "; retry later"));
}

void WriteHealth::Start(std::function<rocksdb::Status()> resume) {
  resume_ = std::move(resume);
  thread_ = std::thread([this] { Loop(); });
}

void WriteHealth::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WriteHealth::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !writable_.load(); });
    if (stopping_) return;
    std::string announced = reason_;
    lock.unlock();
    if (on_change_) on_change_(false, announced);
    lock.lock();
    auto backoff = kFirstBackoff;
    while (!stopping_) {
      cv_.wait_for(lock, backoff, [&] { return stopping_; });
      if (stopping_) return;
      const uint64_t generation = generation_;
      lock.unlock();
      const rocksdb::Status resumed = resume_();
      lock.lock();
      if (resumed.ok() && generation == generation_) {
        writable_.store(true, std::memory_order_release);
        reason_.clear();
        break;
      }
      if (!resumed.ok()) {
        // The reason shown is the latest: a full disk during the resume's flush
        // says so rather than the first write's error.
        reason_ = resumed.ToString();
        if (reason_ != announced) {
          announced = reason_;
          lock.unlock();
          if (on_change_) on_change_(false, announced);
          lock.lock();
        }
      }
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
    }
    if (stopping_) return;
    lock.unlock();
    if (on_change_) on_change_(true, "");
    lock.lock();
  }
}

}  // namespace crm::eventstore::internal
