// Run-time kernel choice from CPUID (and XGETBV: the OS must save the
// registers a kernel uses, or AVX-512 instructions fault).
#include <cstdlib>

#include "crc32.h"

#if defined(NODEHOST_HAVE_X86_CLMUL)
#include <cpuid.h>
#endif

namespace nodehost {
namespace {

#if defined(NODEHOST_HAVE_X86_CLMUL)
struct X86Features {
  bool pclmul = false;
  bool vpclmul512 = false;
};

uint64_t ReadXcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

X86Features DetectX86() {
  X86Features f;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool pclmulqdq = ecx & (1u << 1);
  const bool sse41 = ecx & (1u << 19);
  const bool osxsave = ecx & (1u << 27);
  f.pclmul = pclmulqdq && sse41;
  if (!osxsave || !f.pclmul) return f;
  // XMM|YMM (bits 1,2) and opmask|ZMM_Hi256|Hi16_ZMM (bits 5,6,7) enabled by the OS.
  if ((ReadXcr0() & 0xE6) != 0xE6) return f;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  const bool avx512f = ebx & (1u << 16);
  const bool vpclmulqdq = ecx & (1u << 10);
  f.vpclmul512 = avx512f && vpclmulqdq;
  return f;
}
#endif

std::vector<CrcKernelInfo> BuildSupported() {
  std::vector<CrcKernelInfo> out;
#if defined(NODEHOST_HAVE_X86_CLMUL)
  X86Features f = DetectX86();
  if (f.vpclmul512) out.push_back({"vpclmulqdq-avx512", Crc32Vpclmul512});
  if (f.pclmul) out.push_back({"pclmulqdq", Crc32Pclmul});
#endif
  if (HostZlibAvailable()) out.push_back({"node-zlib", Crc32HostZlib});
  out.push_back({"slice8", Crc32Slice8});
  return out;
}

const CrcKernelInfo& Choose() {
  const auto& all = SupportedCrcKernels();
  if (const char* want = std::getenv("NODEHOST_TOOLS_CRC_KERNEL")) {
    if (const CrcKernelInfo* k = FindCrcKernel(want)) return *k;
  }
  return all.front();
}

}  // namespace

const std::vector<CrcKernelInfo>& SupportedCrcKernels() {
  static const std::vector<CrcKernelInfo> kernels = BuildSupported();
  return kernels;
}

const CrcKernelInfo* FindCrcKernel(const std::string& name) {
  for (const auto& k : SupportedCrcKernels())
    if (name == k.name) return &k;
  return nullptr;
}

const CrcKernelInfo& SelectedCrcKernel() {
  static const CrcKernelInfo& chosen = Choose();
  return chosen;
}

}  // namespace nodehost
