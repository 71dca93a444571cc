// Small RAII and retry helpers over POSIX file descriptors.
#ifndef NODEHOST_NATIVE_POSIX_IO_H_
#define NODEHOST_NATIVE_POSIX_IO_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace nodehost {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();
  // Closes and reports close(2)'s verdict (a deferred write error surfaces here).
  int Close();

 private:
  int fd_ = -1;
};

// pread until `len` bytes or end of file; returns the count; throws NativeError on error.
size_t PreadFull(int fd, uint8_t* buf, size_t len, uint64_t offset, const std::string& path);

// write until everything is written; throws NativeError on error.
void WriteFull(int fd, const uint8_t* buf, size_t len, const std::string& path);

// Streaming write-behind for a file written sequentially, once, in large
// pieces: each written range is handed to writeback at once, and the range
// written `kLag` pieces earlier is waited for (then dropped from the page
// cache), so dirty pages stay bounded to a few pieces instead of piling up
// until the kernel throttles write(2) and the final fsync flushes them all.
// Linux only (sync_file_range); elsewhere every call is a no-op and the final
// fsync does all the work. The caller still fsyncs: this is pacing, not
// durability (sync_file_range flushes no metadata and no disk cache).
class WriteBehind {
 public:
  WriteBehind() = default;
  WriteBehind(int fd, const std::string* path) : fd_(fd), path_(path) {}
  // Records `len` bytes just written at the current end; throws NativeError
  // on a writeback error (reported here, it would not reach a later fsync).
  void Wrote(size_t len);

 private:
  static constexpr int kLag = 2;
  struct Range {
    uint64_t off = 0, len = 0;
  };
  void Await(const Range& r);

  int fd_ = -1;
  const std::string* path_ = nullptr;  // for error messages; outlives this
  bool enabled_ = true;
  uint64_t end_ = 0;
  Range pending_[kLag];
  int count_ = 0;  // ranges in pending_, oldest first
};

// Page-aligned heap buffer.
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t size);
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_POSIX_IO_H_
