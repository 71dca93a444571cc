// Who holds a POSIX record lock on a file.
#ifndef NODEHOST_NATIVE_FILE_LOCK_H_
#define NODEHOST_NATIVE_FILE_LOCK_H_

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

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_FILE_LOCK_H_
