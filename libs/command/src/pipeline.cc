#include "crm/command/pipeline.h"

#include <deque>
#include <thread>

namespace crm::command {

// Runs the attempts of commands whose append lost a race: they must not run on
// the group committer's thread (a decision reads the store, and the groups behind
// would wait for it). Races are rare, so one thread serves them.
class Pipeline::RetryThread {
 public:
  RetryThread() : thread_([this] { Loop(); }) {}
  ~RetryThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  void Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

Pipeline::Pipeline(PipelineOptions options)
    : store_(*options.store),
      clock_(*options.clock),
      limits_(options.limits),
      max_attempts_(options.max_attempts < 1 ? 1 : options.max_attempts),
      retry_(std::make_unique<RetryThread>()) {}

Pipeline::~Pipeline() {
  // Commands still running finish on the committer's (or the retry) thread.
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
