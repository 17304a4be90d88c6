// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when
// the object is destroyed.
//
//   crm::testing::TempDir dir;
//   auto store = OpenEventStore({.path = dir.path() + "/db"});
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace crm::testing {

// Not thread-safe; one owner.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/crm-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace crm::testing
