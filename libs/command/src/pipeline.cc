#include "crm/command/pipeline.h"


namespace crm::command {

Pipeline::Pipeline(PipelineOptions options)
    : store_(*options.store),
      clock_(*options.clock),
      limits_(options.limits),
      max_attempts_(options.max_attempts < 1 ? 1 : options.max_attempts),
      // Attempts of commands whose append lost a race must not run on the store's
      // completion thread (a decision reads the store, and the callbacks behind
      // would wait for it). A few threads, so that one attempt whose load waits
      // (a remote customer lookup) does not hold up every other stream's.
      retry_(std::make_unique<ThreadPool>(4)) {}

Pipeline::~Pipeline() {
  // Commands still running finish on the store's completion (or the retry) thread.
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return running_ == 0; });
  lock.unlock();
  retry_.reset();
}

void Pipeline::Retry(std::function<void()> attempt) { retry_->Submit(std::move(attempt)); }

bool Pipeline::WaitIfContended(const std::string& stream, std::function<void()> resume) {
  std::lock_guard<std::mutex> lock(turns_mu_);
  auto it = turns_.find(stream);
  if (it == turns_.end()) return false;
  it->second.push_back(std::move(resume));
  return true;
}

void Pipeline::TakeTurn(const std::string& stream, std::function<void()> resume) {
  {
    std::lock_guard<std::mutex> lock(turns_mu_);
    auto [it, taken] = turns_.try_emplace(stream);
    if (!taken) {
      it->second.push_back(std::move(resume));
      return;
    }
  }
  Retry(std::move(resume));
}

void Pipeline::ReleaseTurn(const std::string& stream) {
  std::function<void()> next;
  {
    std::lock_guard<std::mutex> lock(turns_mu_);
    auto it = turns_.find(stream);
    if (it == turns_.end()) return;
    if (it->second.empty()) {
      turns_.erase(it);
      return;
    }
    next = std::move(it->second.front());
    it->second.pop_front();
  }
  Retry(std::move(next));
}

void Pipeline::Started() {
  std::lock_guard<std::mutex> lock(mu_);
  ++running_;
}

void Pipeline::Finished() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--running_ == 0) idle_.notify_all();
}

}  // namespace crm::command
