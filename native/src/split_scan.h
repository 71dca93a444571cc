// Verification of a payload region by two threads, each reading its own
// units with pread into its own small buffer and checksumming them while they
// are still in cache. Used by the scan (no copy): one reader thread copying
// every byte out of the page cache for a second thread to checksum leaves
// both cores half idle; here both cores read and both checksum.
#ifndef NODEHOST_NATIVE_SPLIT_SCAN_H_
#define NODEHOST_NATIVE_SPLIT_SCAN_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>

namespace nodehost {

// What one unit of the region yielded.
struct UnitResult {
  uint64_t start = 0;                // file offset of the unit
  uint64_t len = 0;                  // bytes in the unit (data, plus the stored CRC for v2)
  uint64_t got = 0;                  // bytes read; got < len means the file ended early
  uint32_t crc = 0;                  // zlib-style CRC32 of the unit's first `dataLen` bytes
  uint8_t stored[4] = {0, 0, 0, 0};  // the bytes after the data (v2 block CRC)
  bool cancelled = false;
  std::exception_ptr error;
};

// The region [start, end) cut into units of `stride` bytes (the last may be
// shorter); each unit's first len - trailer bytes are checksummed, the
// `trailer` (0 or 4) bytes after them are handed back as `stored`.
struct SplitPlan {
  uint64_t start = 0, end = 0;
  uint64_t stride = 0;
  uint64_t trailer = 0;
  size_t chunk = 1024 * 1024;  // pread size; small enough to stay in L2 for the CRC
};

// Scans per `plan`, calling `visit(result)` on the calling thread for every
// unit in file order; stops early when `visit` returns false. A unit's I/O
// error is rethrown when its turn comes (so an earlier failure still wins);
// a set cancel flag throws NativeError kAborted.
void SplitScan(int fd, const std::string& path, const SplitPlan& plan, const std::atomic<bool>* cancel,
               const std::function<bool(const UnitResult&)>& visit);

// crc32(A || B) from crc32(A), crc32(B) and |B| (zlib-style values).
uint32_t Crc32Combine(uint32_t crcA, uint32_t crcB, uint64_t lenB);

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_SPLIT_SCAN_H_
