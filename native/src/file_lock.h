// POSIX record locks on whole files: who holds one (F_GETLK), and taking one
// (F_SETLK) the way Dragonboat locks NodeHostDir/LOCK and WALDir/LOCK.
#ifndef NODEHOST_NATIVE_FILE_LOCK_H_
#define NODEHOST_NATIVE_FILE_LOCK_H_

#include <napi.h>

#include <cstdint>
#include <string>

namespace nodehost {

// Asks fcntl(F_GETLK) whether a write lock on the whole file would conflict.
// Returns the holder's pid, 0 when nobody holds a conflicting lock (or the
// file does not exist), -1 when it is held but the holder's pid is unknown
// (an open-file-description lock, or a holder in another pid namespace).
//
// Caveats: F_GETLK never reports this process's own locks, and opening and
// closing the file here releases every fcntl lock this process holds on it;
// never ask about a file this process locks.
long LockHolder(const std::string& path);

// A whole-file write lock held through `fd`; closing the descriptor drops it.
struct AcquiredLock {
  int fd = -1;
  // This call created the file (it did not exist).
  bool created = false;
  uint64_t dev = 0;
  uint64_t ino = 0;
};

// Takes a non-blocking whole-file write lock (F_SETLK, F_WRLCK) on `path`,
// creating the file with `mode` (subject to the umask, as Dragonboat's
// os.Create is) when it is missing; never truncates or writes it. A lock
// another process holds is a kLocked NativeError with the holder's pid
// (-1 when unknown). The caller owns the returned descriptor.
//
// fcntl locks belong to the process, not the descriptor: taking the same
// file twice in one process succeeds, and closing any descriptor of the file
// drops the process's lock. Callers must track what they hold.
AcquiredLock AcquireLock(const std::string& path, unsigned mode);

// acquireLock(path, mode?) → {path, created, dev, ino, release()}: the JS face
// of AcquireLock. release() closes the descriptor (dropping the lock) and
// returns true the first time, false after; a handle that is garbage
// collected while still held closes its descriptor then.
Napi::Value AcquireLockJs(const Napi::CallbackInfo& info);

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_FILE_LOCK_H_
