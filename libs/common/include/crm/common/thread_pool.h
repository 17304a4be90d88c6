// A fixed pool of worker threads for blocking work (e.g. gRPC callback handlers
// that wait on a synced disk write, which must not block gRPC's own threads).
//
//   crm::ThreadPool pool(64);
//   pool.Submit([reactor, ...] { reactor->Finish(Handle(...)); });
//
//   crm::ThreadPool bounded(4, /*max_queued=*/256);   // at most 256 tasks waiting
//   if (!bounded.Submit(task)) ... refuse the work (RESOURCE_EXHAUSTED) ...
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace crm {

// Thread safety: Submit may be called from any thread. The destructor runs every
// task already submitted, then joins the workers.
class ThreadPool {
 public:
  // `max_queued`: how many tasks may wait for a worker (0: no bound).
  explicit ThreadPool(size_t threads, size_t max_queued = 0) : max_queued_(max_queued) {
    if (threads == 0) threads = 1;
    workers_.reserve(threads);
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; false (and `task` dropped unrun) when `max_queued` tasks
  // already wait. A pool without a bound always takes it.
  bool Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (max_queued_ != 0 && tasks_.size() >= max_queued_) return false;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  size_t size() const { return workers_.size(); }
  size_t max_queued() const { return max_queued_; }
  // Tasks waiting for a worker now.
  size_t queued() {
    std::lock_guard<std::mutex> lock(mu_);
    return tasks_.size();
  }

 private:
  void Work() {
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

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace crm
