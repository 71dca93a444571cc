// Failures of native operations, carried from the worker thread to the
// JavaScript wrapper, which maps `kind` to a coded error class.
#ifndef NODEHOST_NATIVE_NATIVE_ERROR_H_
#define NODEHOST_NATIVE_NATIVE_ERROR_H_

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace nodehost {

enum class ErrorKind {
  kIO,            // a system call failed: errno, syscall and path say which
  kAborted,       // the caller's cancel flag was set
  kInvalid,       // bad arguments
  kLocked,        // a LevelDB LOCK is held by another process (or another open handle here)
  kPathNotExist,  // the database directory does not exist
  kNotADb,        // the directory exists but holds no LevelDB database (no CURRENT)
  kLogDb,         // LevelDB reported a failure (corruption, I/O inside LevelDB, ...)
};

inline const char* ErrorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::kIO:
      return "io";
    case ErrorKind::kAborted:
      return "aborted";
    case ErrorKind::kInvalid:
      return "invalid";
    case ErrorKind::kLocked:
      return "locked";
    case ErrorKind::kPathNotExist:
      return "path-not-exist";
    case ErrorKind::kNotADb:
      return "not-a-db";
    case ErrorKind::kLogDb:
      return "logdb";
  }
  return "io";
}

class NativeError : public std::runtime_error {
 public:
  NativeError(ErrorKind kind, const std::string& message, std::string path = {}, std::string syscall = {}, int err = 0)
      : std::runtime_error(message), kind(kind), path(std::move(path)), syscall(std::move(syscall)), err(err) {}

  // A failed system call; reads errno.
  static NativeError Sys(const std::string& syscall, const std::string& path) {
    int e = errno;
    return NativeError(ErrorKind::kIO, syscall + " " + path + ": " + std::strerror(e), path, syscall, e);
  }

  ErrorKind kind;
  std::string path;
  std::string syscall;
  int err;       // errno, 0 when not a system call failure
  long pid = 0;  // holder of a lock, when known (kLocked)
};

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_NATIVE_ERROR_H_
