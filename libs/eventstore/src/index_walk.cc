#include "crm/eventstore/index_walk.h"

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "openssl/evp.h"
#include "openssl/rand.h"

namespace crm::eventstore {
namespace {

// Token layout (before web-safe base64): format byte, nonce, ciphertext, tag.
constexpr char kTokenFormat = 1;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
// Longer tokens are refused before any work (the longest position is an index
// key, well under this).
constexpr size_t kMaxTokenChars = 4096;

absl::Status NotATokenOfThisList() {
  return absl::InvalidArgumentError("page_token: not a token of this list");
}

// The associated data: each part length-prefixed, so that no two lists of parts
// give the same bytes.
std::string AssociatedData(std::initializer_list<std::string_view> parts) {
  std::string out = "crm.page_token.v1";
  for (std::string_view p : parts) absl::StrAppend(&out, "\n", p.size(), ":", std::string(p));
  return out;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

}  // namespace

absl::StatusOr<std::string> SealPageToken(const EventStore& store, std::string_view binding,
                                          std::string_view position) {
  const std::string& key = store.PageTokenKey();
  const std::string aad = AssociatedData({binding});
  std::string sealed(1 + kNonceBytes + position.size() + kTagBytes, '\0');
  sealed[0] = kTokenFormat;
  unsigned char* nonce = Bytes(sealed) + 1;
  unsigned char* body = nonce + kNonceBytes;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (key.size() != 32 || ctx == nullptr || RAND_bytes(nonce, kNonceBytes) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), body, &len, Bytes(position),
                        static_cast<int>(position.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          body + position.size()) != 1) {
    return absl::InternalError("sealing a page token failed");
  }
  return absl::WebSafeBase64Escape(sealed);
}

absl::StatusOr<std::string> OpenPageToken(const EventStore& store, std::string_view binding,
                                          std::string_view token) {
  std::string sealed;
  if (token.size() > kMaxTokenChars || !absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &sealed) ||
      sealed.size() < 1 + kNonceBytes + kTagBytes || sealed[0] != kTokenFormat) {
    return NotATokenOfThisList();
  }
  const std::string& key = store.PageTokenKey();
  const std::string aad = AssociatedData({binding});
  const size_t body_size = sealed.size() - 1 - kNonceBytes - kTagBytes;
  const unsigned char* nonce = Bytes(sealed) + 1;
  const unsigned char* body = nonce + kNonceBytes;
  std::string tag = sealed.substr(sealed.size() - kTagBytes);
  std::string position(body_size, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (key.size() != 32 || ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), Bytes(position), &len, body, static_cast<int>(body_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, Bytes(tag)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), Bytes(position) + len, &len) != 1) {
    return NotATokenOfThisList();
  }
  return position;
}

void IndexKeyWrites(std::string_view projection, const std::vector<std::string>& old_keys,
                    const std::vector<std::string>& new_keys, std::vector<ProjectionWrite>& out) {
  // A few keys (the usual case): compared directly. Many (an opportunity's plan
  // steps): looked up in a set of the other side, so the cost stays linear in
  // the number of keys instead of growing with their product.
  constexpr size_t kDirect = 16;
  const bool direct = old_keys.size() <= kDirect && new_keys.size() <= kDirect;
  using KeySet = absl::flat_hash_set<absl::string_view>;
  const KeySet old_set = direct ? KeySet() : KeySet(old_keys.begin(), old_keys.end());
  const KeySet new_set = direct ? KeySet() : KeySet(new_keys.begin(), new_keys.end());
  const auto contains = [direct](const std::vector<std::string>& v, const KeySet& set,
                                 const std::string& k) {
    return direct ? std::find(v.begin(), v.end(), k) != v.end() : set.contains(k);
  };
  for (const std::string& k : old_keys) {
    if (!contains(new_keys, new_set, k)) {
      out.push_back(ProjectionWrite::Delete(std::string(projection), k));
    }
  }
  for (const std::string& k : new_keys) {
    if (!contains(old_keys, old_set, k)) {
      out.push_back(ProjectionWrite::Put(std::string(projection), k, ""));
    }
  }
}

std::string TimeKey(absl::Time t, bool newest_first) {
  uint64_t v = static_cast<uint64_t>(absl::ToUnixMicros(t)) ^ (uint64_t{1} << 63);
  if (newest_first) v = ~v;
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xFF);
  return out;
}

absl::StatusOr<std::string> WalkIndex(
    EventStore& store, std::string_view projection, const std::string& prefix,
    const WalkOptions& options,
    const std::function<absl::StatusOr<WalkStep>(const std::string& key)>& visit) {
  // The walk, not only the list, is in the associated data: a token of one
  // index never positions a walk of another.
  const std::string binding = AssociatedData({options.binding, "index", projection, prefix});
  std::string after;
  if (!options.page_token.empty()) {
    ASSIGN_OR_RETURN(after, OpenPageToken(store, binding, options.page_token));
    if (!absl::StartsWith(after, prefix)) return NotATokenOfThisList();
  }
  size_t kept = 0, examined = 0;
  const size_t chunk = std::max<size_t>(options.page_size * 2, 64);
  while (kept < options.page_size && examined < options.max_examined) {
    ASSIGN_OR_RETURN(auto rows, store.ScanProjection(projection, prefix, after, chunk));
    for (const auto& [key, unused] : rows) {
      ASSIGN_OR_RETURN(WalkStep step, visit(key));
      if (step == WalkStep::kStop) return std::string();
      after = key;
      ++examined;
      if (step == WalkStep::kKept) ++kept;
      if (kept == options.page_size || examined >= options.max_examined) break;
    }
    // A short chunk read to its end: the prefix holds nothing more.
    if (rows.size() < chunk && (rows.empty() || after == rows.back().first) &&
        kept < options.page_size && examined < options.max_examined) {
      return std::string();
    }
  }
  // Full page: `after` is the last row returned. Cut short by max_examined: the
  // last row examined, so that the next call goes on from there.
  return SealPageToken(store, binding, after);
}

absl::StatusOr<StreamPage> ReadStreamPage(EventStore& store, std::string_view stream,
                                          const WalkOptions& options) {
  const std::string binding = AssociatedData({options.binding, "stream", stream});
  uint64_t last_returned = 0;
  if (!options.page_token.empty()) {
    ASSIGN_OR_RETURN(std::string position, OpenPageToken(store, binding, options.page_token));
    if (!absl::SimpleAtoi(position, &last_returned)) return NotATokenOfThisList();
  }
  const size_t page_size = std::max<size_t>(options.page_size, 1);
  StreamPage page;
  ASSIGN_OR_RETURN(page.events, store.ReadStream(stream, last_returned + 1, page_size + 1));
  if (page.events.size() > page_size) {
    page.events.resize(page_size);
    ASSIGN_OR_RETURN(page.next_page_token,
                     SealPageToken(store, binding, absl::StrCat(page.events.back().stream_version())));
  }
  return page;
}

}  // namespace crm::eventstore
