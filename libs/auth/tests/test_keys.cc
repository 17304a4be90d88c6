#include "test_keys.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base64url.h"
#include "jws.h"

namespace crm::auth::testing {
namespace {

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

KeyPair ToPem(EVP_PKEY* key) {
  if (key == nullptr) std::abort();
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key) != 1) {
    std::abort();
  }
  KeyPair pair{BioToString(priv.get()), BioToString(pub.get())};
  EVP_PKEY_free(key);
  return pair;
}

}  // namespace

KeyPair GenerateRsa(int bits) {
  return ToPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}

KeyPair GenerateEc(const char* curve) {
  return ToPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

KeyPair GenerateEd25519() { return ToPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")); }

const KeyPair& Rsa2048() {
  static const KeyPair* pair = new KeyPair(GenerateRsa(2048));
  return *pair;
}
const KeyPair& Rsa2048Other() {
  static const KeyPair* pair = new KeyPair(GenerateRsa(2048));
  return *pair;
}
const KeyPair& P256() {
  static const KeyPair* pair = new KeyPair(GenerateEc("P-256"));
  return *pair;
}
const KeyPair& P256Other() {
  static const KeyPair* pair = new KeyPair(GenerateEc("P-256"));
  return *pair;
}

std::string HsTokenRaw(std::string_view header_json, std::string_view payload_json,
                       std::string_view secret) {
  std::string input = absl::StrCat(internal::Base64UrlEncode(header_json), ".",
                                   internal::Base64UrlEncode(payload_json));
  auto key = internal::SigningKey::FromSecret(secret);
  if (!key.ok()) std::abort();
  auto signature = (*key)->Sign(input);
  if (!signature.ok()) std::abort();
  return absl::StrCat(input, ".", internal::Base64UrlEncode(*signature));
}

std::string HsToken(const nlohmann::json& header, const nlohmann::json& payload,
                    std::string_view secret) {
  return HsTokenRaw(header.dump(), payload.dump(), secret);
}

}  // namespace crm::auth::testing
