#include "jws.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <optional>

namespace crm::auth::internal {
namespace {

constexpr size_t kMinSecretBytes = 32;  // RFC 7518 §3.2: at least the hash size.
constexpr int kMinRsaBits = 2048;       // RFC 7518 §3.3.
constexpr size_t kSha256Bytes = 32;
constexpr int kP256CoordinateBytes = 32;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

// A public key of `type` ("RSA", "EC") from OSSL_PARAMs, checked by OpenSSL
// (EVP_PKEY_public_check: an odd modulus, a point on the curve). nullptr when
// OpenSSL refuses it.
EVP_PKEY* PublicKeyFromParams(const char* type, OSSL_PARAM* params) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return nullptr;
  }
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    EVP_PKEY_free(pkey);
    return nullptr;
  }
  return pkey;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OpenSSL keeps a per-thread error queue; leave it empty for whoever comes next.
template <typename T>
T ClearErrors(T result) {
  ERR_clear_error();
  return result;
}

// Refuses to prompt for a passphrase (the default callback reads the terminal).
int NoPassphrase(char*, int, int, void*) { return 0; }

std::unique_ptr<BIO, BioFree> MemBio(std::string_view pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

bool IsP256(EVP_PKEY* pkey) {
  char name[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) != 1) return false;
  int nid = OBJ_sn2nid(name);
  if (nid == NID_undef) nid = EC_curve_nist2nid(name);
  return nid == NID_X9_62_prime256v1;
}

// JWS form R||S (RFC 7518 §3.4) -> DER ECDSA-Sig-Value for OpenSSL.
std::optional<std::string> RawToDer(std::string_view raw) {
  if (raw.size() != 2 * kP256CoordinateBytes) return std::nullopt;
  std::unique_ptr<BIGNUM, BnFree> r(BN_bin2bn(Bytes(raw), kP256CoordinateBytes, nullptr));
  std::unique_ptr<BIGNUM, BnFree> s(
      BN_bin2bn(Bytes(raw) + kP256CoordinateBytes, kP256CoordinateBytes, nullptr));
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr) return std::nullopt;
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  r.release();  // Now owned by sig.
  s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

// DER ECDSA-Sig-Value -> R||S, each left-padded to 32 bytes.
std::optional<std::string> DerToRaw(std::string_view der) {
  const unsigned char* in = Bytes(der);
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(
      d2i_ECDSA_SIG(nullptr, &in, static_cast<long>(der.size())));
  if (sig == nullptr) return std::nullopt;
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * kP256CoordinateBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kP256CoordinateBytes) != kP256CoordinateBytes ||
      BN_bn2binpad(s, out + kP256CoordinateBytes, kP256CoordinateBytes) != kP256CoordinateBytes) {
    return std::nullopt;
  }
  return raw;
}

std::optional<std::string> HmacSha256(std::string_view key, std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), Bytes(input),
                input.size(), mac, sizeof(mac), &len) == nullptr ||
      len != kSha256Bytes) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

std::string_view AlgorithmName(Algorithm alg) {
  switch (alg) {
    case Algorithm::kHs256:
      return "HS256";
    case Algorithm::kRs256:
      return "RS256";
    case Algorithm::kEs256:
      return "ES256";
  }
  return "unknown";
}

SigningKey::SigningKey(Algorithm alg, std::string secret, EVP_PKEY* pkey, bool is_private)
    : alg_(alg), secret_(std::move(secret)), pkey_(pkey), is_private_(is_private) {}

SigningKey::~SigningKey() {
  EVP_PKEY_free(pkey_);
  if (!secret_.empty()) {
    OPENSSL_cleanse(secret_.data(), secret_.size());
  }
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromSecret(std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError("hs256 secret must be at least 32 bytes");
  }
  return std::unique_ptr<SigningKey>(
      new SigningKey(Algorithm::kHs256, std::string(secret), nullptr, /*is_private=*/true));
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPkey(EVP_PKEY* raw, bool is_private) {
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(raw);
  Algorithm alg;
  switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey.get()) < kMinRsaBits) {
        return absl::InvalidArgumentError("RSA key must have at least 2048 bits");
      }
      alg = Algorithm::kRs256;
      break;
    case EVP_PKEY_EC:
      if (!IsP256(pkey.get())) {
        return ClearErrors(absl::InvalidArgumentError("EC key must be on curve P-256 (ES256)"));
      }
      alg = Algorithm::kEs256;
      break;
    default:
      return absl::InvalidArgumentError("key must be RSA (RS256) or EC P-256 (ES256)");
  }
  return std::unique_ptr<SigningKey>(new SigningKey(alg, "", pkey.release(), is_private));
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPublicKeyPem(std::string_view pem) {
  auto bio = MemBio(pem);
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr);
  if (pkey == nullptr) {
    return ClearErrors(absl::InvalidArgumentError("public key is not a PEM \"PUBLIC KEY\""));
  }
  return FromPkey(pkey, /*is_private=*/false);
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromRsaPublic(std::string_view n,
                                                                    std::string_view e) {
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(Bytes(n), static_cast<int>(n.size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(Bytes(e), static_cast<int>(e.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (bn_n == nullptr || bn_e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return ClearErrors(absl::InternalError("OSSL_PARAM_BLD failed"));
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (params == nullptr) return ClearErrors(absl::InternalError("OSSL_PARAM_BLD failed"));
  EVP_PKEY* pkey = PublicKeyFromParams("RSA", params.get());
  if (pkey == nullptr) return ClearErrors(absl::InvalidArgumentError("not a valid RSA public key"));
  return FromPkey(pkey, /*is_private=*/false);
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromP256Public(std::string_view x,
                                                                     std::string_view y) {
  if (x.size() != static_cast<size_t>(kP256CoordinateBytes) ||
      y.size() != static_cast<size_t>(kP256CoordinateBytes)) {
    return absl::InvalidArgumentError("P-256 coordinates must be 32 bytes each");
  }
  // SEC 1 uncompressed point: 0x04 || x || y.
  std::string point = "\x04";
  point.append(x);
  point.append(y);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return ClearErrors(absl::InternalError("OSSL_PARAM_BLD failed"));
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (params == nullptr) return ClearErrors(absl::InternalError("OSSL_PARAM_BLD failed"));
  EVP_PKEY* pkey = PublicKeyFromParams("EC", params.get());
  if (pkey == nullptr) {
    return ClearErrors(absl::InvalidArgumentError("not a valid P-256 public key"));
  }
  return FromPkey(pkey, /*is_private=*/false);
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPrivateKeyPem(std::string_view pem) {
  auto bio = MemBio(pem);
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  if (pkey == nullptr) {
    return ClearErrors(
        absl::InvalidArgumentError("private key is not an unencrypted PEM private key"));
  }
  return FromPkey(pkey, /*is_private=*/true);
}

absl::StatusOr<std::string> SigningKey::Sign(std::string_view input) const {
  if (!is_private_) return absl::FailedPreconditionError("cannot sign with a public key");
  if (alg_ == Algorithm::kHs256) {
    std::optional<std::string> mac = HmacSha256(secret_, input);
    if (!mac.has_value()) return ClearErrors(absl::InternalError("HMAC-SHA256 failed"));
    return *std::move(mac);
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, Bytes(input), input.size()) != 1) {
    return ClearErrors(absl::InternalError("EVP_DigestSign failed"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, Bytes(input),
                     input.size()) != 1) {
    return ClearErrors(absl::InternalError("EVP_DigestSign failed"));
  }
  sig.resize(len);
  if (alg_ == Algorithm::kEs256) {
    std::optional<std::string> raw = DerToRaw(sig);
    if (!raw.has_value())
      return ClearErrors(absl::InternalError("bad ECDSA signature from OpenSSL"));
    return *std::move(raw);
  }
  return sig;
}

bool SigningKey::Verify(std::string_view input, std::string_view signature) const {
  if (alg_ == Algorithm::kHs256) {
    std::optional<std::string> mac = HmacSha256(secret_, input);
    if (!mac.has_value()) return ClearErrors(false);
    return signature.size() == mac->size() &&
           CRYPTO_memcmp(signature.data(), mac->data(), mac->size()) == 0;
  }
  std::string der;
  if (alg_ == Algorithm::kEs256) {
    std::optional<std::string> converted = RawToDer(signature);
    if (!converted.has_value()) return ClearErrors(false);
    der = *std::move(converted);
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  bool ok = ctx != nullptr &&
            EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_) == 1 &&
            EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(input),
                             input.size()) == 1;
  return ClearErrors(ok);
}

}  // namespace crm::auth::internal
