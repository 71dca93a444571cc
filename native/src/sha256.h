// SHA-256, streaming. Used by the verified copy (payload_scan.cc) so that the
// digest an export's manifest records is computed over the very bytes copied,
// in the same single pass.
//
// It runs on the OpenSSL that Node.js itself carries and exports to addons
// (the headers ship with Node's own: include/node/openssl): that build picks
// the CPU's SHA extensions at run time (about 2 GB/s here against about
// 0.3 GB/s for a portable C loop), which keeps hashing from dominating a
// 1 GiB import. Nothing is downloaded or linked beyond what the running Node
// already has loaded.
#ifndef NODEHOST_NATIVE_SHA256_H_
#define NODEHOST_NATIVE_SHA256_H_

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace nodehost {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
      EVP_MD_CTX_free(ctx_);
      throw std::runtime_error("SHA-256: OpenSSL digest context could not be created");
    }
  }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const uint8_t* p, size_t n) {
    if (n > 0 && EVP_DigestUpdate(ctx_, p, n) != 1) throw std::runtime_error("SHA-256: digest update failed");
  }

  // Lowercase hex of the digest; the object is spent afterwards.
  std::string HexDigest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_, md, &len) != 1) throw std::runtime_error("SHA-256: digest final failed");
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; i++) {
      out.push_back(kHex[md[i] >> 4]);
      out.push_back(kHex[md[i] & 15]);
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_SHA256_H_
