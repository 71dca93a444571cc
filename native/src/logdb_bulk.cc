#include "logdb_bulk.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>
#include <memory>
#include <vector>

#include "file_lock.h"
#include "leveldb/db.h"
#include "leveldb/iterator.h"
#include "leveldb/options.h"
#include "leveldb/write_batch.h"
#include "native_error.h"

namespace nodehost {
namespace {

constexpr size_t kEntryKeySize = 28;
constexpr size_t kPrefixSize = 20;
constexpr size_t kMaxBatchBytes = 32u << 20;

void PutBe64(std::string& s, uint64_t v) {
  for (int i = 7; i >= 0; i--) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t GetBe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// header(2) || 00 00 || shardID || replicaID
std::string KeyPrefix(uint8_t header, uint64_t shard, uint64_t replica) {
  std::string k;
  k.reserve(kEntryKeySize);
  k.push_back(static_cast<char>(header));
  k.push_back(static_cast<char>(header));
  k.push_back(0);
  k.push_back(0);
  PutBe64(k, shard);
  PutBe64(k, replica);
  return k;
}

std::string EntryKey(uint8_t header, uint64_t shard, uint64_t replica, uint64_t suffix) {
  std::string k = KeyPrefix(header, shard, replica);
  PutBe64(k, suffix);
  return k;
}

void ThrowIfCancelled(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw NativeError(ErrorKind::kAborted, "aborted");
}

NativeError StatusError(const leveldb::Status& s, const std::string& path, const char* what) {
  std::string text = s.ToString();
  // env_posix reports a held LOCK as IOError("lock <db>/LOCK", ...).
  if (s.IsIOError() && text.rfind("IO error: lock ", 0) == 0) {
    std::string lockPath = path + "/LOCK";
    NativeError e(ErrorKind::kLocked, "the log store " + path + " is locked by another process (" + text + ")",
                  lockPath);
    // "already held by process" is an open handle of this addon; asking fcntl
    // would open and close LOCK here, which drops this process's own lock.
    if (text.find("already held by process") == std::string::npos) {
      try {
        e.pid = LockHolder(lockPath);
      } catch (...) {
      }
    }
    return e;
  }
  return NativeError(ErrorKind::kLogDb, std::string(what) + " " + path + ": " + text, path);
}

// LevelDB creates the directory and a LOCK file before it notices there is
// no database; check first so a bad path leaves the disk untouched.
void RequireExistingDb(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      throw NativeError(ErrorKind::kPathNotExist, "log store directory " + path + " does not exist", path, "stat",
                        errno);
    }
    throw NativeError::Sys("stat", path);
  }
  std::string current = path + "/CURRENT";
  if (!S_ISDIR(st.st_mode) || ::stat(current.c_str(), &st) != 0) {
    throw NativeError(ErrorKind::kNotADb, path + " is not a LevelDB database (no CURRENT file)", path);
  }
}

std::unique_ptr<leveldb::DB> OpenDb(const std::string& path, bool create) {
  if (!create) RequireExistingDb(path);
  leveldb::Options options;
  options.create_if_missing = create;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, path, &db);
  if (!s.ok()) throw StatusError(s, path, "open");
  return std::unique_ptr<leveldb::DB>(db);
}

// Applies a batch every `limit` operations; the last write is synced, which
// also makes every earlier unsynced write durable (one log).
class BatchWriter {
 public:
  BatchWriter(leveldb::DB* db, const std::string& path, size_t limit, const std::atomic<bool>* cancel)
      : db_(db), path_(path), limit_(limit), cancel_(cancel) {}

  void Delete(const leveldb::Slice& key) {
    batch_.Delete(key);
    Count(key.size());
  }
  void Put(const leveldb::Slice& key, const leveldb::Slice& value) {
    batch_.Put(key, value);
    Count(key.size() + value.size());
  }
  void Finish() {
    if (pending_ > 0 || wrote_) Flush(true);
  }

 private:
  void Count(size_t bytes) {
    bytes_ += bytes;
    if (++pending_ >= limit_ || bytes_ >= kMaxBatchBytes) Flush(false);
  }
  void Flush(bool sync) {
    ThrowIfCancelled(cancel_);
    leveldb::WriteOptions wo;
    wo.sync = sync;
    leveldb::Status s = db_->Write(wo, &batch_);
    if (!s.ok()) throw StatusError(s, path_, "write");
    batch_.Clear();
    pending_ = 0;
    bytes_ = 0;
    wrote_ = true;
  }

  leveldb::DB* db_;
  const std::string& path_;
  size_t limit_;
  const std::atomic<bool>* cancel_;
  leveldb::WriteBatch batch_;
  size_t pending_ = 0;
  size_t bytes_ = 0;
  bool wrote_ = false;
};

// Visits the 28-byte keys under `prefix` whose suffix is in [from, to) (to
// unbounded when !hasTo). Stops early when `fn` returns false.
template <typename Fn>
void ForEachKey(leveldb::DB* db, const std::string& path, const std::string& prefix, uint64_t from, bool hasTo,
                uint64_t to, Fn fn) {
  leveldb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(ro));
  std::string start = prefix;
  PutBe64(start, from);
  for (it->Seek(start); it->Valid(); it->Next()) {
    leveldb::Slice k = it->key();
    if (k.size() < kPrefixSize || std::memcmp(k.data(), prefix.data(), kPrefixSize) != 0) break;
    if (k.size() != kEntryKeySize) continue;
    uint64_t suffix = GetBe64(k.data() + kPrefixSize);
    if (hasTo && suffix >= to) break;
    fn(*it);
  }
  if (!it->status().ok()) throw StatusError(it->status(), path, "iterate");
}

void CompactKeys(leveldb::DB* db, uint8_t header, uint64_t shard, uint64_t replica, uint64_t from, bool hasTo,
                 uint64_t to) {
  std::string begin = EntryKey(header, shard, replica, from);
  std::string end = EntryKey(header, shard, replica, hasTo ? to : UINT64_MAX);
  leveldb::Slice b(begin), e(end);
  db->CompactRange(&b, &e);
}

std::string RealPath(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) return p;
  return buf;
}

}  // namespace

RemoveEntriesResult RemoveEntries(const RemoveEntriesRequest& req, const std::atomic<bool>* cancel) {
  if (req.entriesPerBatch == 0) throw NativeError(ErrorKind::kInvalid, "entriesPerBatch must be positive");
  if (req.deletesPerWrite == 0) throw NativeError(ErrorKind::kInvalid, "deletesPerWrite must be positive");
  if (req.hasTo && req.toIndex < req.fromIndex) throw NativeError(ErrorKind::kInvalid, "toIndex < fromIndex");
  ThrowIfCancelled(cancel);
  std::unique_ptr<leveldb::DB> db = OpenDb(req.dbPath, false);

  // Whole batches inside [from, to): id >= ceil(from/n) and (id+1)*n <= to.
  const uint64_t n = req.entriesPerBatch;
  const uint64_t batchFrom = req.fromIndex / n + (req.fromIndex % n ? 1 : 0);
  const uint64_t batchTo = req.hasTo ? req.toIndex / n : 0;

  RemoveEntriesResult result;
  BatchWriter writer(db.get(), req.dbPath, req.deletesPerWrite, cancel);
  ForEachKey(db.get(), req.dbPath, KeyPrefix(kPlainEntryHeader, req.shardId, req.replicaId), req.fromIndex, req.hasTo,
             req.toIndex, [&](leveldb::Iterator& it) {
               writer.Delete(it.key());
               result.plainRemoved++;
             });
  if (!req.hasTo || batchFrom < batchTo) {
    ForEachKey(db.get(), req.dbPath, KeyPrefix(kEntryBatchHeader, req.shardId, req.replicaId), batchFrom, req.hasTo,
               batchTo, [&](leveldb::Iterator& it) {
                 writer.Delete(it.key());
                 result.batchesRemoved++;
               });
  }
  writer.Finish();
  ThrowIfCancelled(cancel);
  if (req.compact) {
    CompactKeys(db.get(), kPlainEntryHeader, req.shardId, req.replicaId, req.fromIndex, req.hasTo, req.toIndex);
    CompactKeys(db.get(), kEntryBatchHeader, req.shardId, req.replicaId, batchFrom, req.hasTo, batchTo);
  }
  return result;
}

CopyEntriesResult CopyEntries(const CopyEntriesRequest& req, const std::atomic<bool>* cancel) {
  if (req.putsPerWrite == 0) throw NativeError(ErrorKind::kInvalid, "putsPerWrite must be positive");
  ThrowIfCancelled(cancel);
  RequireExistingDb(req.srcPath);
  if (RealPath(req.srcPath) == RealPath(req.dstPath)) {
    throw NativeError(ErrorKind::kInvalid, "source and destination are the same database: " + req.srcPath, req.srcPath);
  }
  std::unique_ptr<leveldb::DB> src = OpenDb(req.srcPath, false);
  std::unique_ptr<leveldb::DB> dst = OpenDb(req.dstPath, true);

  CopyEntriesResult result;
  const uint8_t headers[2] = {kPlainEntryHeader, kEntryBatchHeader};
  {
    BatchWriter writer(dst.get(), req.dstPath, req.putsPerWrite, cancel);
    for (uint8_t h : headers) {
      ForEachKey(src.get(), req.srcPath, KeyPrefix(h, req.shardId, req.replicaId), 0, false, 0,
                 [&](leveldb::Iterator& it) {
                   writer.Put(it.key(), it.value());
                   (h == kPlainEntryHeader ? result.plainCopied : result.batchesCopied)++;
                 });
    }
    writer.Finish();
  }
  if (req.move) {
    ThrowIfCancelled(cancel);
    // The destination is synced; now the source may let go.
    BatchWriter writer(src.get(), req.srcPath, req.putsPerWrite, cancel);
    for (uint8_t h : headers) {
      ForEachKey(src.get(), req.srcPath, KeyPrefix(h, req.shardId, req.replicaId), 0, false, 0,
                 [&](leveldb::Iterator& it) { writer.Delete(it.key()); });
    }
    writer.Finish();
    for (uint8_t h : headers) CompactKeys(src.get(), h, req.shardId, req.replicaId, 0, false, 0);
  }
  return result;
}

}  // namespace nodehost
