#include "payload_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "crc32.h"
#include "native_error.h"
#include "piece_reader.h"
#include "posix_io.h"
#include "sha256.h"
#include "split_scan.h"

namespace nodehost {
namespace {

// Read size of the split scan: a read and its CRC stay within the L2 cache.
constexpr size_t kSplitChunk = 1024 * 1024;

constexpr uint8_t kTailMagic[8] = {0x3F, 0x5B, 0xCB, 0xF1, 0xFA, 0xBA, 0x81, 0x9F};

ScanOutcome Failure(const char* check, uint64_t offset) {
  ScanOutcome o;
  o.check = check;
  o.offset = offset;
  return o;
}

ScanOutcome FileChanged(uint64_t offset, uint64_t expected, uint64_t actual) {
  ScanOutcome o = Failure("file-changed", offset);
  o.hasExpected = o.hasActual = true;
  o.expected = static_cast<double>(expected);
  o.actual = static_cast<double>(actual);
  return o;
}

uint64_t Le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

uint32_t Be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Checks v2 blocks (data || CRC32 big-endian) fed as an arbitrary split stream.
class BlockChecker {
 public:
  BlockChecker(uint64_t regionStart, uint64_t blocks, uint64_t lastDataLen)
      : blocks_(blocks), lastDataLen_(lastDataLen), blockStart_(regionStart) {
    dataLen_ = blocks_ == 1 ? lastDataLen_ : kV2BlockSize;
  }

  // False (with `fail` set) at the first block whose stored CRC is wrong.
  bool Feed(const uint8_t* p, size_t n, ScanOutcome& fail) {
    while (n > 0) {
      if (inBlock_ < dataLen_) {
        size_t take = static_cast<size_t>(std::min<uint64_t>(n, dataLen_ - inBlock_));
        state_ = Crc32Update(state_, p, take);
        p += take;
        n -= take;
        inBlock_ += take;
        continue;
      }
      size_t have = static_cast<size_t>(inBlock_ - dataLen_);
      size_t take = std::min<size_t>(n, 4 - have);
      std::memcpy(stored_ + have, p, take);
      p += take;
      n -= take;
      inBlock_ += take;
      if (have + take < 4) continue;
      uint32_t stored = Be32(stored_);
      uint32_t actual = ~state_;
      if (stored != actual) {
        // The offset is that of the stored CRC, the bytes the check disagrees with.
        fail = Failure("block-crc", blockStart_ + dataLen_);
        fail.hasBlock = true;
        fail.block = block_;
        fail.hasExpected = fail.hasActual = true;
        fail.expected = stored;
        fail.actual = actual;
        return false;
      }
      crcOfCrcs_ = Crc32Update(crcOfCrcs_, stored_, 4);
      block_++;
      blockStart_ += dataLen_ + 4;
      inBlock_ = 0;
      state_ = 0xFFFFFFFFu;
      dataLen_ = block_ + 1 == blocks_ ? lastDataLen_ : kV2BlockSize;
    }
    return true;
  }

  uint32_t CrcOfCrcs() const { return ~crcOfCrcs_; }

 private:
  const uint64_t blocks_;
  const uint64_t lastDataLen_;
  uint64_t block_ = 0;
  uint64_t blockStart_;
  uint64_t dataLen_;
  uint64_t inBlock_ = 0;
  uint32_t state_ = 0xFFFFFFFFu;
  uint32_t crcOfCrcs_ = 0xFFFFFFFFu;
  uint8_t stored_[4] = {0, 0, 0, 0};
};

// The destination of a copy: created exclusively, unlinked unless committed.
class DestFile {
 public:
  DestFile(const std::string& path, uint32_t mode) : path_(path) {
    fd_ = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777));
    if (!fd_.valid()) throw NativeError::Sys("open", path);
    created_ = true;
    // open(2) applies the umask; the contract is the exact mode.
    if (::fchmod(fd_.get(), mode & 07777) != 0) throw NativeError::Sys("fchmod", path);
    behind_ = WriteBehind(fd_.get(), &path_);
  }
  ~DestFile() {
    if (created_ && !committed_) {
      fd_.Reset();
      ::unlink(path_.c_str());
    }
  }
  void Write(const uint8_t* p, size_t n) {
    WriteFull(fd_.get(), p, n, path_);
    behind_.Wrote(n);
  }
  void Commit() {
    if (::fsync(fd_.get()) != 0) throw NativeError::Sys("fsync", path_);
    if (fd_.Close() != 0) throw NativeError::Sys("close", path_);
    committed_ = true;
  }

 private:
  std::string path_;
  UniqueFd fd_;
  bool created_ = false;
  bool committed_ = false;
  WriteBehind behind_;
};

void ThrowIfCancelled(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw NativeError(ErrorKind::kAborted, "aborted");
}

ScanOutcome Success(const ScanRequest& req, uint64_t blocks, uint64_t streamEnd, uint32_t checksum) {
  ScanOutcome ok;
  ok.ok = true;
  ok.payloadChecksum = checksum;
  if (req.version == 1) {
    ok.payloadBytes = req.fileSize - req.payloadOffset;
  } else {
    ok.payloadBytes = streamEnd - req.payloadOffset - 4 * blocks;
    ok.blocks = blocks;
  }
  return ok;
}

// The scan without a copy: both cores read and checksum (split_scan.h), the
// outcome is judged here in file order, so the first bad block or short read
// is the one reported, exactly as the streaming path would.
ScanOutcome ScanSplit(const ScanRequest& req, int fd, uint64_t blocks, uint64_t streamEnd,
                      const std::atomic<bool>* cancel, const ProgressFn& progress) {
  const uint64_t size = req.fileSize;
  SplitPlan plan;
  plan.start = req.payloadOffset;
  plan.end = streamEnd;
  plan.stride = req.version == 2 ? kV2BlockSize + 4 : kV2BlockSize;
  plan.trailer = req.version == 2 ? 4 : 0;
  // The request's piece size still bounds each read (small pieces exercise the split paths).
  plan.chunk = std::min<size_t>(req.pieceSize, kSplitChunk);

  ScanOutcome failure;
  uint64_t block = 0;
  uint32_t checksum = 0;             // v1: CRC of the payload so far
  uint32_t crcOfCrcs = 0xFFFFFFFFu;  // v2: register state
  SplitScan(fd, req.path, plan, cancel, [&](const UnitResult& u) {
    if (u.got < u.len) {
      failure = FileChanged(u.start + u.got, size, u.start + u.got);
      return false;
    }
    if (req.version == 1) {
      checksum = Crc32Combine(checksum, u.crc, u.len);
    } else {
      const uint32_t stored = Be32(u.stored);
      if (stored != u.crc) {
        failure = Failure("block-crc", u.start + u.len - 4);
        failure.hasBlock = true;
        failure.block = block;
        failure.hasExpected = failure.hasActual = true;
        failure.expected = stored;
        failure.actual = u.crc;
        return false;
      }
      crcOfCrcs = Crc32Update(crcOfCrcs, u.stored, 4);
      block++;
    }
    if (progress) progress(u.start + u.len, size);
    return true;
  });
  if (!failure.check.empty()) return failure;
  ThrowIfCancelled(cancel);

  struct stat st;
  if (::fstat(fd, &st) != 0) throw NativeError::Sys("fstat", req.path);
  if (static_cast<uint64_t>(st.st_size) != size) return FileChanged(size, size, st.st_size);
  if (progress) progress(size, size);
  return Success(req, blocks, streamEnd, req.version == 1 ? checksum : ~crcOfCrcs);
}

}  // namespace

ScanOutcome ScanPayload(const ScanRequest& req, const std::atomic<bool>* cancel, const ProgressFn& progress) {
  const uint64_t size = req.fileSize;
  const uint64_t p0 = req.payloadOffset;
  if (req.version != 1 && req.version != 2) throw NativeError(ErrorKind::kInvalid, "version must be 1 or 2");
  if (p0 > size && req.version == 1) {
    throw NativeError(ErrorKind::kInvalid, "fileSize is smaller than payloadOffset", req.path);
  }
  if (req.pieceSize < 4096) throw NativeError(ErrorKind::kInvalid, "piece size too small");
  ThrowIfCancelled(cancel);

  // Same sequence as the shared TypeScript scanner (src/snapshot/scan.ts), so
  // every engine names the same failure even for files that change under it:
  // open, create the copy, copy the header area, v2 tail and layout, blocks,
  // then the size check.
  UniqueFd src(::open(req.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) throw NativeError::Sys("open", req.path);
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(src.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  std::unique_ptr<DestFile> dest;
  std::unique_ptr<Sha256> sha;
  if (req.sha256) sha = std::make_unique<Sha256>();
  if (req.copy) dest = std::make_unique<DestFile>(req.destPath, req.mode);
  if ((dest || sha) && p0 > 0) {
    AlignedBuffer area(static_cast<size_t>(p0));
    size_t got = PreadFull(src.get(), area.data(), static_cast<size_t>(p0), 0, req.path);
    if (got < p0) return FileChanged(got, size, got);
    if (dest) dest->Write(area.data(), got);
    if (sha) sha->Update(area.data(), got);
  }

  // v2: tail and layout come first, from 16 bytes at the end and the file size.
  uint8_t tail[kV2TailSize];
  uint64_t blocks = 0, lastDataLen = 0, streamEnd = size;
  if (req.version == 2) {
    if (size < p0 + kV2TailSize) return Failure("tail-size", p0);
    streamEnd = size - kV2TailSize;
    size_t got = PreadFull(src.get(), tail, kV2TailSize, streamEnd, req.path);
    if (got < kV2TailSize) return FileChanged(streamEnd + got, size, streamEnd + got);
    if (std::memcmp(tail + 8, kTailMagic, 8) != 0) return Failure("tail-magic", size - 8);
    const uint64_t region = streamEnd - p0;
    const uint64_t total = Le64(tail);
    if (total != region) {
      ScanOutcome o = Failure("tail-total", streamEnd);
      o.hasExpected = o.hasActual = true;
      o.expected = static_cast<double>(region);
      o.actual = static_cast<double>(total);
      return o;
    }
    const uint64_t full = region / (kV2BlockSize + 4);
    const uint64_t rest = region % (kV2BlockSize + 4);
    // No block at all (a snapshot always has its session table), or a last
    // block too short to hold a data byte and its CRC.
    if (region == 0 || (rest != 0 && rest <= 4)) {
      ScanOutcome o = Failure("block-layout", p0 + full * (kV2BlockSize + 4));
      o.hasBlock = true;
      o.block = full;
      return o;
    }
    blocks = full + (rest ? 1 : 0);
    lastDataLen = rest ? rest - 4 : kV2BlockSize;
  }

  if (!dest && !sha) return ScanSplit(req, src.get(), blocks, streamEnd, cancel, progress);

  BlockChecker checker(p0, blocks, lastDataLen);
  uint32_t v1State = 0xFFFFFFFFu;
  ScanOutcome failure;
  {
    PieceReader reader(src.get(), req.path, p0, streamEnd, req.pieceSize, cancel);
    Piece piece;
    while (reader.Next(piece)) {
      if (piece.len < piece.wanted) {
        return FileChanged(piece.offset + piece.len, size, piece.offset + piece.len);
      }
      if (req.version == 1) {
        v1State = Crc32Update(v1State, piece.data, piece.len);
      } else if (!checker.Feed(piece.data, piece.len, failure)) {
        return failure;
      }
      if (dest) dest->Write(piece.data, piece.len);
      if (sha) sha->Update(piece.data, piece.len);
      reader.Release(piece);
      ThrowIfCancelled(cancel);
      if (progress) progress(piece.offset + piece.len, size);
    }
    ThrowIfCancelled(cancel);
  }

  struct stat st;
  if (::fstat(src.get(), &st) != 0) throw NativeError::Sys("fstat", req.path);
  if (static_cast<uint64_t>(st.st_size) != size) return FileChanged(size, size, st.st_size);
  if (dest) {
    if (req.version == 2) dest->Write(tail, kV2TailSize);
    dest->Commit();
  }
  if (sha && req.version == 2) sha->Update(tail, kV2TailSize);
  if (progress) progress(size, size);

  ScanOutcome ok = Success(req, blocks, streamEnd, req.version == 1 ? ~v1State : checker.CrcOfCrcs());
  if (sha) ok.sha256 = sha->HexDigest();
  return ok;
}

}  // namespace nodehost
