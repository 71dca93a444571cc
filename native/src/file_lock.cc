#include "file_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "native_error.h"
#include "posix_io.h"

namespace nodehost {

long LockHolder(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT) return 0;
    throw NativeError::Sys("open", path);
  }
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;  // to the end, however far it grows
  if (::fcntl(fd.get(), F_GETLK, &fl) != 0) throw NativeError::Sys("fcntl", path);
  if (fl.l_type == F_UNLCK) return 0;
  return fl.l_pid > 0 ? static_cast<long>(fl.l_pid) : -1;
}

}  // namespace nodehost
