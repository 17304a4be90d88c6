#include "info_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <filesystem>
#include <mutex>

namespace crm::eventstore::internal {
namespace {

constexpr off_t kRollBytes = 16 << 20;

class BestEffortLogger final : public rocksdb::Logger {
 public:
  explicit BestEffortLogger(std::string dir)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
        path_(dir + "/LOG"),
        old_path_(dir + "/LOG.old") {
    std::lock_guard<std::mutex> lock(mu_);
    RollLocked();
  }
  ~BestEffortLogger() override {
    if (fd_ >= 0) close(fd_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[4096];
    struct timeval now;
    gettimeofday(&now, nullptr);
    struct tm t;
    localtime_r(&now.tv_sec, &t);
    int n = snprintf(line, sizeof(line), "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %lx ",
                     t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                     static_cast<long>(now.tv_usec), static_cast<unsigned long>(pthread_self()));
    if (n < 0) return;
    va_list copy;
    va_copy(copy, ap);
    int m = vsnprintf(line + n, sizeof(line) - static_cast<size_t>(n) - 1, format, copy);
    va_end(copy);
    if (m < 0) return;
    size_t size = std::min(sizeof(line) - 2, static_cast<size_t>(n) + static_cast<size_t>(m));
    if (size == 0 || line[size - 1] != '\n') line[size++] = '\n';
    std::lock_guard<std::mutex> lock(mu_);
    if (fd_ < 0) return;
    if (write(fd_, line, size) > 0) written_ += static_cast<off_t>(size);
    if (written_ > kRollBytes) RollLocked();
  }

 private:
  void RollLocked() {
    if (fd_ >= 0) close(fd_);
    std::error_code ignored;
    std::filesystem::rename(path_, old_path_, ignored);
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    written_ = 0;
  }

  const std::string path_;
  const std::string old_path_;
  std::mutex mu_;
  int fd_ = -1;
  off_t written_ = 0;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewBestEffortInfoLog(const std::string& dir) {
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  return std::make_shared<BestEffortLogger>(dir);
}

}  // namespace crm::eventstore::internal
