// The zlib that Node.js itself carries (it exports crc32_z to addons). On
// CPUs where this addon has no carry-less-multiply kernel (arm64, old x86),
// that zlib is usually faster than slicing-by-8: Node's bundled zlib uses the
// ARMv8 CRC32 instructions or SIMD where it can.
//
// The reference is weak, so a Node.js without the symbol still loads this
// addon; the kernel is then simply not offered.
#include <cstddef>

#include "crc32.h"

extern "C" unsigned long crc32_z(unsigned long crc, const unsigned char* buf, size_t len)  // NOLINT
    __attribute__((weak));

namespace nodehost {

bool HostZlibAvailable() {
  return crc32_z != nullptr;
}

uint32_t Crc32HostZlib(uint32_t state, const uint8_t* data, size_t len) {
  // zlib's crc32 takes and returns the finished CRC; kernels speak raw state.
  return ~static_cast<uint32_t>(crc32_z(~state & 0xFFFFFFFFul, data, len));
}

}  // namespace nodehost
