// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of
// every Pebble log chunk and sstable block. SSE4.2's CRC32 instruction (8
// bytes per step) where the CPU has it, a portable slicing-by-8 table
// otherwise. zlib-style seeding: crc = Crc32c(crc, ...),
// starting from 0.
#ifndef NODEHOST_NATIVE_CRC32C_H_
#define NODEHOST_NATIVE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace nodehost {

uint32_t Crc32c(uint32_t seed, const uint8_t* data, size_t len);

// "sse4.2" or "slice8": the kernel Crc32c uses on this CPU.
const char* Crc32cKernelName();

// The portable kernel (tests hold the hardware one to it).
uint32_t Crc32cPortable(uint32_t seed, const uint8_t* data, size_t len);

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_CRC32C_H_
