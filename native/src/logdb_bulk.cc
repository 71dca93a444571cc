#include "logdb_bulk.h"

#include <sys/stat.h>

#include <memory>
#include <vector>

#include "file_lock.h"
#include "leveldb/db.h"
#include "leveldb/iterator.h"
#include "leveldb/options.h"
#include "leveldb/write_batch.h"
#include "native_error.h"

namespace nodehost {

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

ClassicLevelDb OpenLikeClassicLevel(const std::string& path, bool createIfMissing) {
  if (!createIfMissing) RequireExistingDb(path);
  ClassicLevelDb out;
  out.filter.reset(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options options;
  options.create_if_missing = createIfMissing;
  options.compression = leveldb::kSnappyCompression;
  options.filter_policy = out.filter.get();
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, path, &raw);
  if (!s.ok()) throw StatusError(s, path, "open");
  out.db.reset(raw);
  return out;
}

namespace {

constexpr size_t kMaxBatchBytes = 32u << 20;

void ThrowIfCancelled(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw NativeError(ErrorKind::kAborted, "aborted");
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

// Visits the keys k with start <= k < end.
template <typename Fn>
void ForEachKeyInRange(leveldb::DB* db, const std::string& path, const ByteRange& range, Fn fn) {
  leveldb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(ro));
  const leveldb::Slice end(range.end);
  for (it->Seek(range.start); it->Valid() && it->key().compare(end) < 0; it->Next()) fn(*it);
  if (!it->status().ok()) throw StatusError(it->status(), path, "iterate");
}

}  // namespace

RemoveRangesResult RemoveRanges(const RemoveRangesRequest& req, const std::atomic<bool>* cancel) {
  if (req.deletesPerWrite == 0) throw NativeError(ErrorKind::kInvalid, "deletesPerWrite must be positive");
  for (const ByteRange& r : req.ranges) {
    if (leveldb::Slice(r.end).compare(leveldb::Slice(r.start)) < 0) {
      throw NativeError(ErrorKind::kInvalid, "a key range ends before it starts");
    }
  }
  ThrowIfCancelled(cancel);
  // A fresh open turns the write-ahead log into a table (reuse_logs is off),
  // so every record is in a table before the first delete is written. The
  // deletes' own tables then land above every level that holds those records,
  // and one compaction per range after the deletes makes both meet and drop.
  // (Records still in the memtable would be flushed together with their
  // deletes and could stay below the levels that compaction covers.)
  // Never creates a database: a missing partition has nothing to remove.
  ClassicLevelDb opened = OpenLikeClassicLevel(req.dbPath, false);
  leveldb::DB* db = opened.db.get();
  RemoveRangesResult result;
  BatchWriter writer(db, req.dbPath, req.deletesPerWrite, cancel);
  for (const ByteRange& r : req.ranges) {
    ForEachKeyInRange(db, req.dbPath, r, [&](leveldb::Iterator& it) {
      writer.Delete(it.key());
      result.removed++;
    });
  }
  writer.Finish();
  // Compacted even when nothing was deleted: a run cancelled after its deletes
  // were written (or crashed) left the data on disk, and its rerun finds no key.
  for (const ByteRange& r : req.ranges) {
    ThrowIfCancelled(cancel);
    leveldb::Slice b(r.start), e(r.end);
    db->CompactRange(&b, &e);
  }
  return result;
}

}  // namespace nodehost
