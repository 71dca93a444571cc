// Bulk work on the log-entry keys of one replica, directly on a LevelDB
// partition directory, with the same LevelDB 1.20 that classic-level ships.
//
// Never run these on a database that classic-level (or anything else in this
// process) holds open: LevelDB's LOCK is an fcntl lock, which does not
// exclude a second open within the same process when the two opens come from
// two copies of the library (classic-level's and this addon's).
#ifndef NODEHOST_NATIVE_LOGDB_BULK_H_
#define NODEHOST_NATIVE_LOGDB_BULK_H_

#include <atomic>
#include <cstdint>
#include <string>

namespace nodehost {

// Key headers (docs/formats.md §5).
constexpr uint8_t kPlainEntryHeader = 0x01;
constexpr uint8_t kEntryBatchHeader = 0x07;

struct RemoveEntriesRequest {
  std::string dbPath;
  uint64_t shardId = 0;
  uint64_t replicaId = 0;
  // Entry index range [fromIndex, toIndex); hasTo=false means no upper bound.
  uint64_t fromIndex = 0;
  bool hasTo = false;
  uint64_t toIndex = 0;
  // Batch keys hold entries [id*entriesPerBatch, (id+1)*entriesPerBatch); a
  // batch is removed only when all of them lie in the range.
  uint64_t entriesPerBatch = 48;
  size_t deletesPerWrite = 65536;
  bool compact = true;
};

struct RemoveEntriesResult {
  uint64_t plainRemoved = 0;
  uint64_t batchesRemoved = 0;
};

RemoveEntriesResult RemoveEntries(const RemoveEntriesRequest& req, const std::atomic<bool>* cancel);

struct CopyEntriesRequest {
  std::string srcPath;
  std::string dstPath;
  uint64_t shardId = 0;
  uint64_t replicaId = 0;
  bool move = false;  // remove from the source (and compact there) once the copy is durable
  size_t putsPerWrite = 65536;
};

struct CopyEntriesResult {
  uint64_t plainCopied = 0;
  uint64_t batchesCopied = 0;
};

CopyEntriesResult CopyEntries(const CopyEntriesRequest& req, const std::atomic<bool>* cancel);

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_LOGDB_BULK_H_
