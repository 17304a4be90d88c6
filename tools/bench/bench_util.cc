#include "bench_util.h"

#include <sys/vfs.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <latch>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace crm::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

// f_type magic numbers from linux/magic.h, for the few file systems worth naming.
std::string FileSystemName(long magic) {
  switch (static_cast<unsigned long>(magic)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x2FC12FC1:
      return "zfs";
    case 0x6969:
      return "nfs";
    default:
      return absl::StrCat("fs magic 0x", absl::Hex(static_cast<unsigned long>(magic)));
  }
}

}  // namespace

absl::StatusOr<ScratchDir> ScratchDir::Create(const std::string& parent) {
  const bool ours = parent.empty();
  std::string base = ours ? std::string("/tmp") : parent;
  if (!ours) {
    std::error_code ec;
    fs::create_directories(base, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot create ", base, ": ", ec.message()));
    }
  }
  std::string templ = base + "/crm-bench-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp under ", base, " failed: ", std::strerror(errno)));
  }
  return ScratchDir(std::move(templ), ours);
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept
    : path_(std::move(other.path_)), remove_at_exit_(other.remove_at_exit_) {
  other.remove_at_exit_ = false;
}

ScratchDir& ScratchDir::operator=(ScratchDir&& other) noexcept {
  if (this != &other) {
    this->~ScratchDir();
    path_ = std::move(other.path_);
    remove_at_exit_ = other.remove_at_exit_;
    other.remove_at_exit_ = false;
  }
  return *this;
}

ScratchDir::~ScratchDir() {
  if (remove_at_exit_ && !path_.empty()) {
    std::error_code ec;  // best effort: a leftover temp dir is not worth a crash
    fs::remove_all(path_, ec);
  }
  remove_at_exit_ = false;
}

std::string ScratchDir::Child(const std::string& name) const { return path_ + "/" + name; }

std::string ScratchDir::FileSystemType() const {
  struct statfs st;
  if (statfs(path_.c_str(), &st) != 0) return "unknown fs";
  return FileSystemName(st.f_type);
}

void FastRandom::Fill(std::string& out) {
  size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    uint64_t v = Next();
    std::memcpy(out.data() + i, &v, 8);
  }
  if (i < out.size()) {
    uint64_t v = Next();
    std::memcpy(out.data() + i, &v, out.size() - i);
  }
}

TimedRunResult RunTimed(const TimedRunOptions& options,
                        const std::function<WorkerOp(int thread_index)>& make_op) {
  const int n = options.threads;
  std::latch built(n);  // every worker has built its op
  std::latch go(1);     // the coordinator has fixed the window
  std::atomic<uint64_t> total_ops{0};
  std::atomic<uint64_t> total_errors{0};
  std::mutex error_mu;
  std::string first_error;
  // Written by the coordinator before go.count_down(); the latch orders that
  // before every worker's read.
  SteadyClock::time_point window_start;
  SteadyClock::time_point window_end;

  std::vector<std::thread> workers;
  workers.reserve(n);
  for (int t = 0; t < n; ++t) {
    workers.emplace_back([&, t] {
      WorkerOp op = make_op(t);
      built.count_down();
      go.wait();
      uint64_t ops = 0;
      uint64_t errors = 0;
      for (;;) {
        absl::Status status = op();
        SteadyClock::time_point done = SteadyClock::now();
        if (status.ok()) {
          if (done >= window_start && done < window_end) ++ops;
        } else {
          if (errors++ == 0) {
            std::lock_guard<std::mutex> lock(error_mu);
            if (first_error.empty()) first_error = status.ToString();
          }
        }
        if (done >= window_end) break;
      }
      total_ops.fetch_add(ops, std::memory_order_relaxed);
      total_errors.fetch_add(errors, std::memory_order_relaxed);
    });
  }

  const auto warmup = absl::ToChronoNanoseconds(options.warmup);
  const auto measure = absl::ToChronoNanoseconds(options.measure);
  built.wait();
  window_start = SteadyClock::now() + warmup;
  window_end = window_start + measure;
  go.count_down();

  std::this_thread::sleep_until(window_start);
  if (options.on_window_start) options.on_window_start();
  std::this_thread::sleep_until(window_end);
  if (options.on_window_end) options.on_window_end();
  for (std::thread& w : workers) w.join();

  TimedRunResult result;
  result.ops = total_ops.load();
  result.errors = total_errors.load();
  result.first_error = std::move(first_error);
  result.window = options.measure;
  return result;
}

}  // namespace crm::bench
