#include "file_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "js_util.h"
#include "native_error.h"
#include "posix_io.h"

namespace nodehost {
namespace {

struct flock WholeFile(short type) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;  // to the end, however far it grows
  return fl;
}

// Closes the descriptor unless disarmed: UniqueFd cannot hand its descriptor over.
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
};

// Opens an existing file, or creates it exclusively, so that `created` is
// exact even when another process creates the file at the same moment.
// Returns the descriptor (the caller closes it).
int OpenOrCreate(const std::string& path, unsigned mode, bool* created) {
  constexpr int kFlags = O_RDWR | O_CLOEXEC | O_NOCTTY;
  for (int attempt = 0; attempt < 8; ++attempt) {
    int fd = ::open(path.c_str(), kFlags);
    if (fd >= 0) {
      *created = false;
      return fd;
    }
    if (errno == EINTR) continue;
    if (errno != ENOENT) throw NativeError::Sys("open", path);
    int made = ::open(path.c_str(), kFlags | O_CREAT | O_EXCL, static_cast<mode_t>(mode));
    if (made >= 0) {
      *created = true;
      return made;
    }
    if (errno != EEXIST && errno != EINTR) throw NativeError::Sys("open", path);
    // Someone created it between the two opens: open theirs.
  }
  errno = EAGAIN;
  throw NativeError::Sys("open", path);
}

struct HeldLock {
  int fd;
};

Napi::Value ReleaseJs(const Napi::CallbackInfo& info) {
  auto* held = static_cast<HeldLock*>(info.Data());
  if (held->fd < 0) return Napi::Boolean::New(info.Env(), false);
  // close() drops the lock whatever it returns; an error here has no data to lose.
  ::close(held->fd);
  held->fd = -1;
  return Napi::Boolean::New(info.Env(), true);
}

}  // namespace

long LockHolder(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT) return 0;
    throw NativeError::Sys("open", path);
  }
  struct flock fl = WholeFile(F_WRLCK);
  if (::fcntl(fd.get(), F_GETLK, &fl) != 0) throw NativeError::Sys("fcntl", path);
  if (fl.l_type == F_UNLCK) return 0;
  return fl.l_pid > 0 ? static_cast<long>(fl.l_pid) : -1;
}

AcquiredLock AcquireLock(const std::string& path, unsigned mode) {
  bool created = false;
  // Never closed before the caller is done: closing it drops the lock.
  FdGuard fd{OpenOrCreate(path, mode, &created)};
  // A file this call created is removed again when the lock cannot be taken
  // for a reason other than a holder (a holder has it open: leave it theirs).
  auto fail = [&](NativeError e) -> NativeError {
    if (created && e.kind != ErrorKind::kLocked) ::unlink(path.c_str());
    return e;
  };
  // A holder may let go between our failed F_SETLK and the F_GETLK that asks
  // who it was: then simply try again.
  for (int attempt = 0;; ++attempt) {
    struct flock fl = WholeFile(F_WRLCK);
    if (::fcntl(fd.fd, F_SETLK, &fl) == 0) break;
    if (errno == EINTR) continue;
    if (errno != EACCES && errno != EAGAIN) throw fail(NativeError::Sys("fcntl", path));
    struct flock probe = WholeFile(F_WRLCK);
    if (::fcntl(fd.fd, F_GETLK, &probe) != 0) throw fail(NativeError::Sys("fcntl", path));
    if (probe.l_type == F_UNLCK && attempt < 3) continue;
    long pid = probe.l_type != F_UNLCK && probe.l_pid > 0 ? static_cast<long>(probe.l_pid) : -1;
    NativeError e(
        ErrorKind::kLocked,
        path + " is locked by " + (pid > 0 ? "process " + std::to_string(pid) : std::string("another process")), path,
        "fcntl");
    e.pid = pid;
    throw e;
  }
  struct stat st;
  if (::fstat(fd.fd, &st) != 0) throw fail(NativeError::Sys("fstat", path));
  AcquiredLock out;
  out.created = created;
  out.dev = static_cast<uint64_t>(st.st_dev);
  out.ino = static_cast<uint64_t>(st.st_ino);
  out.fd = fd.fd;
  fd.fd = -1;  // the caller owns it now
  return out;
}

Napi::Value AcquireLockJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = RequireString(env, info[0], "path");
  unsigned mode = 0644;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    double m = RequireNumber(env, info[1], "mode");
    if (!(m >= 0 && m <= 07777) || m != static_cast<double>(static_cast<unsigned>(m))) {
      throw InvalidArgument(env, "mode must be an integer in 0..0o7777");
    }
    mode = static_cast<unsigned>(m);
  }
  AcquiredLock lock;
  try {
    lock = AcquireLock(path, mode);
  } catch (const NativeError& e) {
    throw ToJsError(env, e);
  }
  auto* held = new HeldLock{lock.fd};
  Napi::Function release;
  try {
    release = Napi::Function::New(env, ReleaseJs, "release", held);
    // The state lives as long as the function that uses it; a handle dropped
    // while held still closes its descriptor (nobody could release it otherwise).
    release.AddFinalizer(
        [](Napi::Env, HeldLock* h) {
          if (h->fd >= 0) ::close(h->fd);
          delete h;
        },
        held);
  } catch (...) {
    ::close(held->fd);
    delete held;
    throw;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", path);
  o.Set("created", lock.created);
  o.Set("dev", Napi::BigInt::New(env, lock.dev));
  o.Set("ino", Napi::BigInt::New(env, lock.ino));
  o.Set("release", release);
  return o;
}

}  // namespace nodehost
