// CRC-32C kernels and their run-time choice (see crc32c.h).
#include "crc32c.h"

#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#endif

namespace nodehost {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

struct Tables {
  uint32_t t[8][256];
  Tables() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = t[0][i];
      for (int k = 1; k < 8; k++) {
        c = t[0][c & 0xff] ^ (c >> 8);
        t[k][i] = c;
      }
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

uint32_t Slice8(uint32_t state, const uint8_t* p, size_t len) {
  const auto& t = tables().t;
  while (len >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= state;  // little-endian hosts only (x86-64, arm64)
    state = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][hi & 0xff] ^
            t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len--) state = t[0][(state ^ *p++) & 0xff] ^ (state >> 8);
  return state;
}

#if defined(__x86_64__)
// Long inputs run as three interleaved lanes of kLane bytes: the crc32
// instruction's latency is three times its throughput, so one dependent
// chain leaves two thirds of it idle. The lanes are joined by shifting a
// state over kLane zero bytes (linear in the state, so a table per state
// byte), which is what running the state over the next lane's bytes adds.
constexpr size_t kLane = 4096;

__attribute__((target("sse4.2"))) uint32_t OverZeros(uint32_t state, size_t len) {
  uint64_t c = state;
  for (size_t i = 0; i < len; i += 8) c = _mm_crc32_u64(c, 0);
  return static_cast<uint32_t>(c);
}

struct LaneShift {
  uint32_t t[4][256];
  LaneShift() {
    for (int k = 0; k < 4; k++)
      for (uint32_t b = 0; b < 256; b++) t[k][b] = OverZeros(b << (8 * k), kLane);
  }
  uint32_t operator()(uint32_t v) const {
    return t[0][v & 0xff] ^ t[1][(v >> 8) & 0xff] ^ t[2][(v >> 16) & 0xff] ^ t[3][v >> 24];
  }
};

const LaneShift& laneShift() {
  static const LaneShift s;
  return s;
}

__attribute__((target("sse4.2"))) uint32_t Sse42(uint32_t state, const uint8_t* p, size_t len) {
  uint64_t c = state;
  while (len > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
    len--;
  }
  if (len >= 3 * kLane) {
    const LaneShift& shift = laneShift();
    while (len >= 3 * kLane) {
      uint64_t a = c, b = 0, d = 0;
      for (size_t i = 0; i < kLane; i += 8) {
        uint64_t x, y, z;
        std::memcpy(&x, p + i, 8);
        std::memcpy(&y, p + kLane + i, 8);
        std::memcpy(&z, p + 2 * kLane + i, 8);
        a = _mm_crc32_u64(a, x);
        b = _mm_crc32_u64(b, y);
        d = _mm_crc32_u64(d, z);
      }
      c = shift(shift(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^ static_cast<uint32_t>(d);
      p += 3 * kLane;
      len -= 3 * kLane;
    }
  }
  while (len >= 32) {
    uint64_t a, b, d, e;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    std::memcpy(&d, p + 16, 8);
    std::memcpy(&e, p + 24, 8);
    c = _mm_crc32_u64(c, a);
    c = _mm_crc32_u64(c, b);
    c = _mm_crc32_u64(c, d);
    c = _mm_crc32_u64(c, e);
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    uint64_t a;
    std::memcpy(&a, p, 8);
    c = _mm_crc32_u64(c, a);
    p += 8;
    len -= 8;
  }
  uint32_t s = static_cast<uint32_t>(c);
  while (len--) s = _mm_crc32_u8(s, *p++);
  return s;
}

bool HaveSse42() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  return (ecx & (1u << 20)) != 0;
}
#endif

using Kernel = uint32_t (*)(uint32_t, const uint8_t*, size_t);

struct Choice {
  Kernel fn = Slice8;
  const char* name = "slice8";
  Choice() {
#if defined(__x86_64__)
    if (HaveSse42()) {
      fn = Sse42;
      name = "sse4.2";
    }
#endif
  }
};

const Choice& choice() {
  static const Choice c;
  return c;
}

}  // namespace

uint32_t Crc32c(uint32_t seed, const uint8_t* data, size_t len) {
  return ~choice().fn(~seed, data, len);
}

const char* Crc32cKernelName() {
  return choice().name;
}

uint32_t Crc32cPortable(uint32_t seed, const uint8_t* data, size_t len) {
  return ~Slice8(~seed, data, len);
}

}  // namespace nodehost
