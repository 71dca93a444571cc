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
