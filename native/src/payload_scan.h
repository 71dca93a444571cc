// Verification (and verified copy) of a .gbsnap payload, following the
// ChecksumEngine contract in src/engines/types.ts: same check names, same
// order, same offsets and block numbers as the other engines (the table in
// src/snapshot/scan.ts):
//
//   tail-size     payloadOffset
//   tail-magic    fileSize - 8
//   tail-total    fileSize - 16     expected: region size, actual: tail total
//   block-layout  start of the block that cannot be complete (payloadOffset
//                 when there is no block at all), block: that block
//   block-crc     offset of the block's stored CRC, block, expected: stored,
//                 actual: CRC of the data
//   file-changed  where a read came up short, else fileSize; expected:
//                 fileSize, actual: the size seen
#ifndef NODEHOST_NATIVE_PAYLOAD_SCAN_H_
#define NODEHOST_NATIVE_PAYLOAD_SCAN_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace nodehost {

constexpr uint64_t kV2BlockSize = 2 * 1024 * 1024;
constexpr uint64_t kV2TailSize = 16;
constexpr size_t kDefaultPieceSize = 8 * 1024 * 1024;

struct ScanRequest {
  std::string path;
  int version = 2;
  uint64_t payloadOffset = 1024;
  uint64_t fileSize = 0;  // as stat'ed by the caller; a different size now is `file-changed`
  bool copy = false;
  std::string destPath;
  uint32_t mode = 0644;
  size_t pieceSize = kDefaultPieceSize;
  // Also compute the SHA-256 of the whole file in the same pass (header area,
  // payload, tail, in file order); the scan then reads on one thread.
  bool sha256 = false;
};

struct ScanOutcome {
  bool ok = false;
  // When ok:
  uint64_t payloadBytes = 0;
  uint64_t blocks = 0;
  uint32_t payloadChecksum = 0;
  std::string sha256;  // lowercase hex, when requested
  // When not ok:
  std::string check;
  uint64_t offset = 0;
  bool hasBlock = false;
  uint64_t block = 0;
  bool hasExpected = false;
  double expected = 0;
  bool hasActual = false;
  double actual = 0;
};

// Called on the scanning thread after each piece: file bytes done, file size.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Runs the scan (and the copy when req.copy). Failed checks are returned;
// I/O errors, bad arguments and cancellation throw NativeError. A copy that
// does not complete successfully is unlinked.
ScanOutcome ScanPayload(const ScanRequest& req, const std::atomic<bool>* cancel, const ProgressFn& progress);

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_PAYLOAD_SCAN_H_
