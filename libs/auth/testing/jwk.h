// Test keys as JWKS files, for tests of key sets and rotation in any folder
// (libs/auth/tests, tests/*_e2e_test.cc). Keys come fresh from libcrypto.
//
//   crm::auth::testing::JwkTestKey a = crm::auth::testing::NewP256Key();
//   std::ofstream(path) << crm::auth::testing::Jwks({PublicJwk(a.public_pem, "a")}).dump();
//   std::string token = SignWithKid(a, "a", claims);
//
// Test-only: aborts on any OpenSSL failure.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "crm/auth/jwt.h"
#include "nlohmann/json.hpp"

namespace crm::auth::testing {

struct JwkTestKey {
  std::string private_pem;  // PKCS#8
  std::string public_pem;   // SubjectPublicKeyInfo
};

namespace jwk_internal {

inline std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

inline JwkTestKey ToPem(EVP_PKEY* key) {
  if (key == nullptr) std::abort();
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key) != 1) {
    std::abort();
  }
  EVP_PKEY_free(key);
  return {BioText(priv.get()), BioText(pub.get())};
}

// RFC 4648 §5 without padding.
inline std::string Base64Url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

// The big-endian bytes of a BIGNUM parameter, left-padded to `width` (0: minimal).
inline std::string BnParam(EVP_PKEY* key, const char* name, int width) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) std::abort();
  int len = width > 0 ? width : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(len), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len) != len) std::abort();
  BN_free(bn);
  return out;
}

}  // namespace jwk_internal

inline JwkTestKey NewRsaKey(int bits = 2048) {
  return jwk_internal::ToPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}

inline JwkTestKey NewP256Key() {
  return jwk_internal::ToPem(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

// The public JWK of an RSA or EC P-256 key, with `kid` and a matching `alg`
// and `use: sig`.
inline nlohmann::json PublicJwk(const std::string& public_pem, const std::string& kid) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())), BIO_free);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) std::abort();
  nlohmann::json jwk;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    jwk = {{"kty", "RSA"},
           {"alg", "RS256"},
           {"n", jwk_internal::Base64Url(jwk_internal::BnParam(key, OSSL_PKEY_PARAM_RSA_N, 0))},
           {"e", jwk_internal::Base64Url(jwk_internal::BnParam(key, OSSL_PKEY_PARAM_RSA_E, 0))}};
  } else {
    jwk = {{"kty", "EC"},
           {"crv", "P-256"},
           {"alg", "ES256"},
           {"x", jwk_internal::Base64Url(jwk_internal::BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
           {"y", jwk_internal::Base64Url(jwk_internal::BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
  }
  EVP_PKEY_free(key);
  jwk["kid"] = kid;
  jwk["use"] = "sig";
  return jwk;
}

inline nlohmann::json Jwks(const std::vector<nlohmann::json>& keys) {
  return nlohmann::json{{"keys", keys}};
}

// A token signed with `key`'s private half, its header naming `kid` (none when empty).
inline std::string SignWithKid(const JwkTestKey& key, const std::string& kid,
                               const Claims& claims) {
  auto signer = TokenSigner::Create({.private_key_pem = key.private_pem, .kid = kid});
  if (!signer.ok()) std::abort();
  auto token = (*signer)->Sign(claims);
  if (!token.ok()) std::abort();
  return *token;
}

}  // namespace crm::auth::testing
