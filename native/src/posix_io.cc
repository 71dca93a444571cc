#include "posix_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <new>

#include "native_error.h"

namespace nodehost {

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int UniqueFd::Close() {
  int rc = fd_ >= 0 ? ::close(fd_) : 0;
  fd_ = -1;
  return rc;
}

size_t PreadFull(int fd, uint8_t* buf, size_t len, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw NativeError::Sys("read", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void WriteFull(int fd, const uint8_t* buf, size_t len, const std::string& path) {
  while (len > 0) {
    ssize_t n = ::write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw NativeError::Sys("write", path);
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
}

#ifdef __linux__
namespace {
// The file system or kernel cannot do it: give up pacing, fsync still works.
bool Unsupported(int err) {
  return err == ENOSYS || err == EINVAL || err == ESPIPE || err == EOPNOTSUPP;
}
}  // namespace

void WriteBehind::Wrote(size_t len) {
  if (len == 0) return;
  Range r{end_, len};
  end_ += len;
  if (!enabled_ || fd_ < 0) return;
  while (::sync_file_range(fd_, static_cast<off_t>(r.off), static_cast<off_t>(r.len), SYNC_FILE_RANGE_WRITE) != 0) {
    if (errno == EINTR) continue;
    if (Unsupported(errno)) {
      enabled_ = false;
      return;
    }
    throw NativeError::Sys("sync_file_range", *path_);
  }
  if (count_ == kLag) {
    Await(pending_[0]);
    for (int i = 1; i < kLag; i++) pending_[i - 1] = pending_[i];
    count_--;
  }
  pending_[count_++] = r;
}

void WriteBehind::Await(const Range& r) {
  constexpr unsigned kFlags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  while (::sync_file_range(fd_, static_cast<off_t>(r.off), static_cast<off_t>(r.len), kFlags) != 0) {
    if (errno == EINTR) continue;
    if (Unsupported(errno)) {
      enabled_ = false;
      return;
    }
    throw NativeError::Sys("sync_file_range", *path_);
  }
  // Nobody reads the copy back during the import: keep it from evicting
  // pages that are useful (the source's read-ahead, the log store).
  ::posix_fadvise(fd_, static_cast<off_t>(r.off), static_cast<off_t>(r.len), POSIX_FADV_DONTNEED);
}
#else
void WriteBehind::Wrote(size_t len) {
  end_ += len;
}
void WriteBehind::Await(const Range&) {}
#endif

AlignedBuffer::AlignedBuffer(size_t size) : size_(size) {
  void* p = nullptr;
  if (posix_memalign(&p, 4096, size == 0 ? 4096 : size) != 0) throw std::bad_alloc();
  data_ = static_cast<uint8_t*>(p);
}

AlignedBuffer::~AlignedBuffer() {
  std::free(data_);
}

}  // namespace nodehost
