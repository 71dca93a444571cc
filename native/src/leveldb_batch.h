// A LevelDB write batch built in the addon and written by its own LevelDB
// (the same 1.20 sources classic-level ships): the commit batch of an import
// that carries a log suffix, whose million puts arrive already encoded
// (src/logdb/store.ts, PutMany.encoded) and are never turned into JavaScript
// values one by one.
//
// The same rule as logdb_bulk.h: never write to a database that classic-level
// (or anything else in this process) holds open.
#ifndef NODEHOST_NATIVE_LEVELDB_BATCH_H_
#define NODEHOST_NATIVE_LEVELDB_BATCH_H_

#include <napi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "leveldb/write_batch.h"
#include "native_error.h"

namespace nodehost {

// A piece of encoded puts that breaks the encoding: where, and which rule.
class MalformedPuts : public NativeError {
 public:
  MalformedPuts(const std::string& message, size_t offset, const char* check)
      : NativeError(ErrorKind::kInvalid, message), offset(offset), check(check) {}
  size_t offset;
  const char* check;  // kind, varint, length, count
};

// Adds the `count` put operations encoded in `data` (each `0x01 | uvarint
// key length | key | uvarint value length | value`, nothing else) to
// `batch`. The whole piece is checked first: a malformed one throws
// MalformedPuts and leaves the batch as it was.
void AppendEncodedPuts(leveldb::WriteBatch* batch, const uint8_t* data, size_t len, uint64_t count);

struct BatchWriteRequest {
  std::string dbPath;
  bool sync = true;
  // Create the database when missing (the directory's parent must exist).
  bool createIfMissing = true;
};

// Opens the database with the options classic-level opens it with, applies
// `*batch` as ONE write (then releases it: LevelDB's memtable holds the
// bytes), turns the memtable into a table and closes. Cancellation is
// honoured up to the write (then nothing was written); the write itself is
// atomic.
void WriteBatchTo(const BatchWriteRequest& req, std::unique_ptr<leveldb::WriteBatch>* batch,
                  const std::atomic<bool>* cancel);

// The JavaScript class NativeWriteBatch: put(key, value), del(key),
// appendEncoded(bytes, count), count, write(dbPath, {sync, createIfMissing}, token?) -> Promise,
// discard().
Napi::Function DefineNativeWriteBatch(Napi::Env env);

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_LEVELDB_BATCH_H_
