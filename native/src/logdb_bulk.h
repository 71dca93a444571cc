// Bulk work on log-store keys directly on a LevelDB partition directory, with
// the same LevelDB 1.20 that classic-level ships.
//
// Never run these on a database that classic-level (or anything else in this
// process) holds open: LevelDB's LOCK is an fcntl lock, which does not
// exclude a second open within the same process when the two opens come from
// two copies of the library (classic-level's and this addon's).
#ifndef NODEHOST_NATIVE_LOGDB_BULK_H_
#define NODEHOST_NATIVE_LOGDB_BULK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "leveldb/db.h"
#include "leveldb/filter_policy.h"
#include "leveldb/status.h"
#include "native_error.h"

namespace nodehost {

// A LevelDB status as the error the wrapper maps: a LOCK held elsewhere is
// kLocked (with the holder's pid when fcntl knows it), anything else kLogDb.
NativeError StatusError(const leveldb::Status& s, const std::string& path, const char* what);

// Throws kPathNotExist / kNotADb unless `path` holds a database (its CURRENT
// file); checked before LevelDB runs, which would create the directory and a LOCK.
void RequireExistingDb(const std::string& path);

// A database opened as classic-level opens one (LevelDB's defaults plus a
// 10-bit Bloom filter in every table it writes), so the tables either binding
// writes look the same. The policy outlives the handle (members are destroyed
// in reverse order).
struct ClassicLevelDb {
  std::unique_ptr<const leveldb::FilterPolicy> filter;
  std::unique_ptr<leveldb::DB> db;
};

// Opens `path`; with createIfMissing false, a path without a database is
// refused before LevelDB runs (RequireExistingDb).
ClassicLevelDb OpenLikeClassicLevel(const std::string& path, bool createIfMissing);

// The keys k with start <= k < end, compared bytewise.
struct ByteRange {
  std::string start;
  std::string end;
};

struct RemoveRangesRequest {
  std::string dbPath;
  std::vector<ByteRange> ranges;
  size_t deletesPerWrite = 65536;
};

struct RemoveRangesResult {
  // Keys deleted, summed over the ranges (a key in two ranges counts twice).
  uint64_t removed = 0;
};

// Deletes every key of the ranges in large write batches (the last one
// synced), then compacts each range so the data leaves the disk. Idempotent:
// a rerun after a cancellation or a crash finishes the job.
RemoveRangesResult RemoveRanges(const RemoveRangesRequest& req, const std::atomic<bool>* cancel);

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_LOGDB_BULK_H_
