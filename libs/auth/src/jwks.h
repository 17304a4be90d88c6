// JSON Web Key Sets (RFC 7517 §5) of verification keys, and the JWKS file a
// TokenVerifier re-reads when it changes. Internal to crm::auth; the verifier
// (jwt.cc) picks the key a token's `kid` names.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "crm/common/clock.h"
#include "jws.h"

namespace crm::auth::internal {

// The whole file as bytes. NOT_FOUND when it cannot be read, INVALID_ARGUMENT
// for a directory.
absl::StatusOr<std::string> ReadKeyFile(std::string_view path);

// The usable keys of one JWKS, by `kid`. Immutable once built.
struct KeySet {
  absl::flat_hash_map<std::string, std::shared_ptr<const SigningKey>> keys;
  // "<kid or keys[i]>: <why>" for each key left out as not meant for us
  // (`use` other than "sig", an algorithm or curve other than RS256 / ES256).
  std::vector<std::string> skipped;
  // Bumped by JwksFile on each successful reload (1 for the first load); the
  // verifier's cache of verified tokens starts over when it changes.
  uint64_t generation = 0;
};

// Parses a JWKS: {"keys": [JWK, ...]}. Used: kty "RSA" (n, e; RS256, at least
// 2048 bits) and kty "EC" with crv "P-256" (x, y; ES256). A key with `use`
// other than "sig", `key_ops` without "verify", an `alg` other than its key
// type's, another curve or another kty is skipped (listed in `skipped`).
// INVALID_ARGUMENT for: not JSON, no "keys" array, a usable key without a
// non-empty string `kid`, a duplicate `kid`, malformed or weak key parameters,
// private key parameters (`d`, `p`, `q`, `k`, ...), or no usable key at all.
absl::StatusOr<KeySet> ParseJwks(std::string_view text);

// A JWKS file, re-read at most once per `check_interval` (on the clock) when
// Current() is called; the content is compared byte for byte, so a rewrite
// that keeps the size and mtime is seen too. A file that cannot be read or
// parsed keeps the previous keys and logs one error line (once per distinct
// content / error). Thread-safe; Current() never blocks on a reload another
// thread is doing (it returns the keys it has).
class JwksFile {
 public:
  // The first read must succeed: NOT_FOUND / INVALID_ARGUMENT (prefixed with
  // the path) otherwise. `clock` must outlive the object.
  static absl::StatusOr<std::unique_ptr<JwksFile>> Open(std::string path, const Clock* clock,
                                                        absl::Duration check_interval);

  // The current keys, after re-reading the file if the last check is at least
  // check_interval old. Never null.
  std::shared_ptr<const KeySet> Current();

  const std::string& path() const { return path_; }

 private:
  JwksFile(std::string path, const Clock* clock, absl::Duration check_interval);
  // Reads and, when the bytes changed, parses and installs the file.
  // Returns the error of the first load; later errors are logged only.
  absl::Status Reload(bool first) ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);

  const std::string path_;
  const Clock* const clock_;
  const absl::Duration check_interval_;
  std::atomic<int64_t> next_check_unix_nanos_{0};

  absl::Mutex reload_mu_;  // one reader of the file at a time; taken with TryLock
  std::string last_text_ ABSL_GUARDED_BY(reload_mu_);
  std::string last_error_ ABSL_GUARDED_BY(reload_mu_);
  uint64_t generation_ ABSL_GUARDED_BY(reload_mu_) = 0;

  mutable absl::Mutex mu_;
  std::shared_ptr<const KeySet> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace crm::auth::internal
