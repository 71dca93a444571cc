// Carry-less-multiply CRC32 kernels for x86 (PCLMULQDQ on XMM, VPCLMULQDQ on
// ZMM). Each function carries its own target attribute, so this file builds
// without -m flags and the dispatcher decides at run time what may execute.
//
// Representation (reflected CRC): a 128-bit little-endian load X has bit k as
// the coefficient of x^(127-k) of the message slice it holds. A carry-less
// product of a (bit i ~ x^(A-i)) and b (bit j ~ x^(B-j)) has bit k ~ x^(A+B-k).
//
// Folding X forward by F bits: with X = H*x^64 + L (H = low qword, L = high
// qword), X*x^F = H*x^(F+64) + L*x^F. Multiplying a qword by
// rev64(x^(E-1) mod P) (bit j ~ x^(64-j), i.e. (x^(E-1) mod P)*x) yields a
// product congruent to qword*x^E already laid out like X (bit k ~ x^(127-k)),
// degree < 96, ready to be XORed into the next 128-bit slice.
// So the fold constant for distance F is {lo: rev64(x^(F+63)), hi: rev64(x^(F-1))}.
//
// All constants are derived below at compile time from P, so there are no
// magic numbers to get wrong; the tests compare every kernel with zlib.
#include "crc32.h"

#if defined(NODEHOST_HAVE_X86_CLMUL)

// GCC's AVX-512 intrinsic headers trip -Wmaybe-uninitialized on their own
// "undefined" placeholders when inlined; nothing in this file is affected.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

namespace nodehost {
namespace {

constexpr uint64_t kPolyNormal = 0x104C11DB7ull;  // x^32 + ... + 1, bit i ~ x^i

// x^n mod P in normal representation.
constexpr uint32_t XPowModP(unsigned n) {
  uint64_t r = 1;
  for (unsigned i = 0; i < n; i++) {
    r <<= 1;
    if (r & (1ull << 32)) r ^= kPolyNormal;
  }
  return static_cast<uint32_t>(r);
}

// floor(x^64 / P) (33 bits), for the Barrett reduction.
constexpr uint64_t BarrettMu() {
  uint64_t r = 0, q = 0;
  for (int d = 64; d >= 0; d--) {
    r = (r << 1) | (d == 64 ? 1 : 0);
    if (r & (1ull << 32)) {
      r ^= kPolyNormal;
      q |= 1ull << d;
    }
  }
  return q;
}

constexpr uint64_t Reverse(uint64_t v, int bits) {
  uint64_t out = 0;
  for (int i = 0; i < bits; i++)
    if (v & (1ull << i)) out |= 1ull << (bits - 1 - i);
  return out;
}

constexpr uint64_t Rev64(uint32_t r) {
  return Reverse(r, 64);
}

struct FoldConst {
  uint64_t lo, hi;
};
constexpr FoldConst Fold(unsigned bits) {
  return {Rev64(XPowModP(bits + 63)), Rev64(XPowModP(bits - 1))};
}

constexpr FoldConst kFold128 = Fold(128);
constexpr FoldConst kFold512 = Fold(512);
constexpr FoldConst kFold2048 = Fold(2048);
// 128 -> 96 bits: H*x^96 (the L half is shifted instead of multiplied).
constexpr uint64_t kReduce96 = Rev64(XPowModP(95));
// 96 -> 64 bits: the top 32 bits times x^64.
constexpr uint64_t kReduce64 = Rev64(XPowModP(63));
// Barrett: mu and P reflected over 33 bits (bit j ~ x^(32-j)).
constexpr uint64_t kMuRev = Reverse(BarrettMu(), 33);
constexpr uint64_t kPolyRev = Reverse(kPolyNormal, 33);
static_assert(kPolyRev == 0x1DB710641ull, "reflected polynomial");
static_assert(BarrettMu() == 0x104D101DFull, "floor(x^64 / P)");

#define NH_TARGET_CLMUL __attribute__((target("pclmul,sse4.1")))
#define NH_TARGET_VCLMUL __attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.1")))

NH_TARGET_CLMUL inline __m128i Fold128(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

// 128-bit remainder -> 32-bit CRC register: R = X*x^32 mod P.
NH_TARGET_CLMUL inline uint32_t Reduce128(__m128i x) {
  // T = H*x^96 (multiplied) + L*x^32 (shifted into bits 32..95): degree < 96.
  __m128i t = _mm_clmulepi64_si128(x, _mm_cvtsi64_si128(static_cast<long long>(kReduce96)), 0x00);
  t = _mm_xor_si128(t, _mm_slli_si128(_mm_srli_si128(x, 8), 4));
  // Fold T's top 32 bits (low qword, bits 32..63) by 64: degree < 64, all in the high qword.
  __m128i u = _mm_clmulepi64_si128(t, _mm_cvtsi64_si128(static_cast<long long>(kReduce64)), 0x00);
  uint64_t v = static_cast<uint64_t>(_mm_extract_epi64(u, 1)) ^ static_cast<uint64_t>(_mm_extract_epi64(t, 1));
  // Barrett: q = floor(floor(V / x^32) * mu / x^32); R = (V - q*P) mod x^32.
  __m128i a = _mm_cvtsi64_si128(static_cast<long long>(v & 0xFFFFFFFFull));
  __m128i qm = _mm_clmulepi64_si128(a, _mm_cvtsi64_si128(static_cast<long long>(kMuRev)), 0x00);
  uint64_t q = static_cast<uint64_t>(_mm_cvtsi128_si64(qm)) & 0xFFFFFFFFull;
  __m128i qp = _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(q)),
                                    _mm_cvtsi64_si128(static_cast<long long>(kPolyRev)), 0x00);
  uint64_t r = v ^ static_cast<uint64_t>(_mm_cvtsi128_si64(qp));
  return static_cast<uint32_t>(r >> 32);
}

NH_TARGET_CLMUL inline __m128i Load128(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// Folds the 16-byte slices left in [p, p+n) into x; returns the reduced register.
NH_TARGET_CLMUL inline uint32_t Finish128(__m128i x, const uint8_t*& p, size_t& n) {
  const __m128i k128 = _mm_set_epi64x(static_cast<long long>(kFold128.hi), static_cast<long long>(kFold128.lo));
  while (n >= 16) {
    x = _mm_xor_si128(Fold128(x, k128), Load128(p));
    p += 16;
    n -= 16;
  }
  return Reduce128(x);
}

}  // namespace

NH_TARGET_CLMUL uint32_t Crc32Pclmul(uint32_t state, const uint8_t* p, size_t n) {
  if (n < 64) return Crc32Slice8(state, p, n);
  const __m128i k512 = _mm_set_epi64x(static_cast<long long>(kFold512.hi), static_cast<long long>(kFold512.lo));
  const __m128i k128 = _mm_set_epi64x(static_cast<long long>(kFold128.hi), static_cast<long long>(kFold128.lo));
  // The register state enters as an XOR into the first four message bytes.
  __m128i x0 = _mm_xor_si128(Load128(p), _mm_cvtsi32_si128(static_cast<int>(state)));
  __m128i x1 = Load128(p + 16), x2 = Load128(p + 32), x3 = Load128(p + 48);
  p += 64;
  n -= 64;
  while (n >= 64) {
    x0 = _mm_xor_si128(Fold128(x0, k512), Load128(p));
    x1 = _mm_xor_si128(Fold128(x1, k512), Load128(p + 16));
    x2 = _mm_xor_si128(Fold128(x2, k512), Load128(p + 32));
    x3 = _mm_xor_si128(Fold128(x3, k512), Load128(p + 48));
    p += 64;
    n -= 64;
  }
  __m128i x = _mm_xor_si128(Fold128(x0, k128), x1);
  x = _mm_xor_si128(Fold128(x, k128), x2);
  x = _mm_xor_si128(Fold128(x, k128), x3);
  uint32_t reg = Finish128(x, p, n);
  return Crc32Slice8(reg, p, n);
}

namespace {

NH_TARGET_VCLMUL inline __m512i Fold512Lanes(__m512i x, __m512i k, __m512i next) {
  // 0x96: three-way XOR.
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), next,
                                   0x96);
}

NH_TARGET_VCLMUL inline __m512i Load512(const uint8_t* p) {
  return _mm512_loadu_si512(p);
}

NH_TARGET_VCLMUL inline __m512i Broadcast(FoldConst c) {
  return _mm512_broadcast_i32x4(_mm_set_epi64x(static_cast<long long>(c.hi), static_cast<long long>(c.lo)));
}

}  // namespace

NH_TARGET_VCLMUL uint32_t Crc32Vpclmul512(uint32_t state, const uint8_t* p, size_t n) {
  if (n < 256) return Crc32Pclmul(state, p, n);
  const __m512i k2048 = Broadcast(kFold2048);
  const __m512i k512 = Broadcast(kFold512);
  __m512i z0 = _mm512_xor_si512(Load512(p), _mm512_maskz_set1_epi32(1, static_cast<int>(state)));
  __m512i z1 = Load512(p + 64), z2 = Load512(p + 128), z3 = Load512(p + 192);
  p += 256;
  n -= 256;
  while (n >= 256) {
    z0 = Fold512Lanes(z0, k2048, Load512(p));
    z1 = Fold512Lanes(z1, k2048, Load512(p + 64));
    z2 = Fold512Lanes(z2, k2048, Load512(p + 128));
    z3 = Fold512Lanes(z3, k2048, Load512(p + 192));
    p += 256;
    n -= 256;
  }
  __m512i z = Fold512Lanes(z0, k512, z1);
  z = Fold512Lanes(z, k512, z2);
  z = Fold512Lanes(z, k512, z3);
  while (n >= 64) {
    z = Fold512Lanes(z, k512, Load512(p));
    p += 64;
    n -= 64;
  }
  // Four lanes (lane 0 earliest in the stream) -> one 128-bit remainder.
  const __m128i k128 = _mm_set_epi64x(static_cast<long long>(kFold128.hi), static_cast<long long>(kFold128.lo));
  __m128i x = _mm512_extracti32x4_epi32(z, 0);
  x = _mm_xor_si128(Fold128(x, k128), _mm512_extracti32x4_epi32(z, 1));
  x = _mm_xor_si128(Fold128(x, k128), _mm512_extracti32x4_epi32(z, 2));
  x = _mm_xor_si128(Fold128(x, k128), _mm512_extracti32x4_epi32(z, 3));
  uint32_t reg = Finish128(x, p, n);
  return Crc32Slice8(reg, p, n);
}

}  // namespace nodehost

#endif  // NODEHOST_HAVE_X86_CLMUL
