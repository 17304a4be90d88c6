// A tmpfs mounted for a test: a small volume to fill (a full disk). Mounting
// needs root (CAP_SYS_ADMIN); where it is refused, mounted() is false and
// error() says why, for GTEST_SKIP.
//
//   crm::testing::ScopedTmpfs tmpfs(dir.path() + "/mnt", "24m");
//   if (!tmpfs.mounted()) GTEST_SKIP() << tmpfs.error();
//   ... fill tmpfs.path() ...
//   ASSERT_TRUE(tmpfs.Resize("128m"));   // space returns
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace crm::testing {

// Lifecycle: mounts in the constructor, unmounts (lazily: MNT_DETACH, so a
// process still holding files there does not keep it busy) in the destructor.
// Stop what uses the volume first.
class ScopedTmpfs {
 public:
  ScopedTmpfs(std::string path, const std::string& size) : path_(std::move(path)) {
    std::error_code ignored;
    std::filesystem::create_directories(path_, ignored);
    const std::string options = "size=" + size;
    if (mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = "cannot mount a tmpfs at " + path_ + " (needs root): " + std::strerror(errno);
    }
  }
  ~ScopedTmpfs() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  // Changes the volume's size in place (files stay): "128m".
  bool Resize(const std::string& size) {
    const std::string options = "size=" + size;
    if (mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0) return true;
    error_ = "cannot resize the tmpfs at " + path_ + ": " + std::strerror(errno);
    return false;
  }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace crm::testing
