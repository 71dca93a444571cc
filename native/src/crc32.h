// CRC32-IEEE (reflected polynomial 0xEDB88320, the zlib / Go hash/crc32 CRC).
//
// Kernels work on the raw register state (no pre/post inversion) so a stream
// can be fed in pieces: state = ~seed, state = kernel(state, ...), crc = ~state.
#ifndef NODEHOST_NATIVE_CRC32_H_
#define NODEHOST_NATIVE_CRC32_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nodehost {

using CrcKernelFn = uint32_t (*)(uint32_t state, const uint8_t* data, size_t len);

struct CrcKernelInfo {
  const char* name;
  CrcKernelFn fn;
};

// Portable slicing-by-8 kernel; also finishes the short tails of the SIMD kernels.
uint32_t Crc32Slice8(uint32_t state, const uint8_t* data, size_t len);

#if defined(__x86_64__)
#define NODEHOST_HAVE_X86_CLMUL 1
// 4 x 128-bit folding with PCLMULQDQ, Barrett reduction. Needs PCLMULQDQ + SSE4.1.
uint32_t Crc32Pclmul(uint32_t state, const uint8_t* data, size_t len);
// 4 x 512-bit folding with VPCLMULQDQ on ZMM registers. Needs AVX-512F + VPCLMULQDQ.
uint32_t Crc32Vpclmul512(uint32_t state, const uint8_t* data, size_t len);
#endif

// Node's own zlib (crc32_z exported by the node binary), when present.
bool HostZlibAvailable();
uint32_t Crc32HostZlib(uint32_t state, const uint8_t* data, size_t len);

// Kernels this CPU (and OS) can run, fastest first; the last is always slice8.
const std::vector<CrcKernelInfo>& SupportedCrcKernels();

// The kernel chosen at load time: the fastest supported one, unless the
// environment variable NODEHOST_TOOLS_CRC_KERNEL names another supported one.
const CrcKernelInfo& SelectedCrcKernel();

// Finds a supported kernel by name; nullptr when unknown or not supported here.
const CrcKernelInfo* FindCrcKernel(const std::string& name);

inline uint32_t Crc32Update(uint32_t state, const uint8_t* data, size_t len) {
  return SelectedCrcKernel().fn(state, data, len);
}

// zlib-style: crc32(seed, data) with seed 0 to start.
inline uint32_t Crc32(uint32_t seed, const uint8_t* data, size_t len) {
  return ~Crc32Update(~seed, data, len);
}

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_CRC32_H_
