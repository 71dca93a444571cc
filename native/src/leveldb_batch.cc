#include "leveldb_batch.h"

#include <memory>

#include "js_util.h"
#include "leveldb/db.h"
#include "leveldb/options.h"
#include "logdb_bulk.h"
#include "workers.h"

namespace nodehost {
namespace {

constexpr uint64_t kMaxLength = 0xffffffffu;  // LevelDB's batch records lengths as varint32

// An empty Slice from a null pointer would reach memcpy(dst, nullptr, 0).
leveldb::Slice SliceOf(const uint8_t* data, size_t len) {
  return len == 0 ? leveldb::Slice() : leveldb::Slice(reinterpret_cast<const char*>(data), len);
}

// Reads a uvarint at `pos`, at most 10 bytes, no overflow past 64 bits.
bool ReadUvarint(const uint8_t* data, size_t len, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  for (unsigned shift = 0, i = 0; i < 10; i++, shift += 7) {
    if (*pos >= len) return false;
    uint8_t b = data[(*pos)++];
    if (i == 9 && b > 1) return false;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      *out = v;
      return true;
    }
  }
  return false;
}

struct PutOp {
  leveldb::Slice key;
  leveldb::Slice value;
};

[[noreturn]] void Malformed(size_t offset, const char* check, const std::string& what) {
  throw MalformedPuts("malformed encoded put at byte " + std::to_string(offset) + " of the piece: " + what, offset,
                      check);
}

// The operation at `*pos`, which is advanced past it.
PutOp ReadPut(const uint8_t* data, size_t len, size_t* pos) {
  const size_t start = *pos;
  if (data[*pos] != 0x01) {
    Malformed(start, "kind", "operation kind " + std::to_string(data[*pos]) + " is not a put (1)");
  }
  ++*pos;
  PutOp op;
  for (int field = 0; field < 2; field++) {
    const char* name = field == 0 ? "key" : "value";
    const size_t at = *pos;
    uint64_t n = 0;
    if (!ReadUvarint(data, len, pos, &n))
      Malformed(at, "varint", std::string("the ") + name + " length is cut off or too long");
    if (n > kMaxLength)
      Malformed(at, "length", std::string("the ") + name + " length " + std::to_string(n) + " is over 4 GiB");
    if (n > len - *pos) {
      Malformed(at, "length",
                std::string("the ") + name + " length " + std::to_string(n) + " runs past the piece's end (" +
                    std::to_string(len - *pos) + " bytes left)");
    }
    (field == 0 ? op.key : op.value) = SliceOf(data + *pos, static_cast<size_t>(n));
    *pos += static_cast<size_t>(n);
  }
  return op;
}

// Turns the memtable into a level-0 table before the close. Every open
// replays the write-ahead log into a memtable and writes that table anyway
// (LevelDB 1.20 does not reuse logs), and the next open (classic-level's,
// right after this write) would first read the whole batch back from the
// log; flushing here spares that read and replay. CompactRange flushes the
// memtable first, whatever the range; the range ["", ""] then overlaps no
// table (the log store has no empty key), so nothing else is compacted.
void FlushMemTable(leveldb::DB* db) {
  const leveldb::Slice empty;
  db->CompactRange(&empty, &empty);
}

struct BatchState {
  std::unique_ptr<leveldb::WriteBatch> batch = std::make_unique<leveldb::WriteBatch>();
  uint64_t count = 0;
  // Handed to a write (the batch belongs to the worker thread from then on) or discarded.
  bool spent = false;
};

class NativeWriteBatch : public Napi::ObjectWrap<NativeWriteBatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeWriteBatch",
        {InstanceMethod<&NativeWriteBatch::Put>("put"), InstanceMethod<&NativeWriteBatch::Del>("del"),
         InstanceMethod<&NativeWriteBatch::AppendEncoded>("appendEncoded"),
         InstanceMethod<&NativeWriteBatch::Write>("write"), InstanceMethod<&NativeWriteBatch::Discard>("discard"),
         InstanceAccessor<&NativeWriteBatch::Count>("count")});
  }
  explicit NativeWriteBatch(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeWriteBatch>(info), state_(std::make_shared<BatchState>()) {}

 private:
  BatchState& Usable(Napi::Env env) {
    if (state_->spent) throw InvalidArgument(env, "the write batch was already handed to a write or discarded");
    return *state_;
  }

  Napi::Value Put(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    BatchState& s = Usable(env);
    ByteView k = RequireBytes(env, info[0], "key");
    ByteView v = RequireBytes(env, info[1], "value");
    if (k.len > kMaxLength || v.len > kMaxLength) throw InvalidArgument(env, "a key or value is over 4 GiB");
    s.batch->Put(SliceOf(k.data, k.len), SliceOf(v.data, v.len));
    s.count++;
    return env.Undefined();
  }

  Napi::Value Del(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    BatchState& s = Usable(env);
    ByteView k = RequireBytes(env, info[0], "key");
    if (k.len > kMaxLength) throw InvalidArgument(env, "a key is over 4 GiB");
    s.batch->Delete(SliceOf(k.data, k.len));
    s.count++;
    return env.Undefined();
  }

  // Copies the puts in during the call: the caller may reuse the bytes as soon as it returns.
  Napi::Value AppendEncoded(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    BatchState& s = Usable(env);
    ByteView bytes = RequireBytes(env, info[0], "bytes");
    uint64_t count = RequireUint64(env, info[1], "count");
    try {
      AppendEncodedPuts(s.batch.get(), bytes.data, bytes.len, count);
    } catch (const MalformedPuts& e) {
      Napi::Error err = ToJsError(env, e);
      err.Value().Set("offset", Napi::Number::New(env, static_cast<double>(e.offset)));
      err.Value().Set("check", e.check);
      throw err;
    }
    s.count += count;
    return env.Undefined();
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    BatchState& s = Usable(env);
    BatchWriteRequest req;
    req.dbPath = RequireString(env, info[0], "dbPath");
    if (info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      if (HasOption(o, "sync")) req.sync = o.Get("sync").ToBoolean().Value();
      if (HasOption(o, "createIfMissing")) req.createIfMissing = o.Get("createIfMissing").ToBoolean().Value();
    }
    CancelFlag cancel = CancelFlagFrom(env, info[2]);
    s.spent = true;
    std::shared_ptr<BatchState> state = state_;
    return PromiseWorker<bool>::Start(
        env, "nodehost:writeBatch",
        [state, req, cancel] {
          // The batch's bytes (the whole suffix) go as soon as LevelDB has them, or at a failure.
          struct Release {
            BatchState* s;
            ~Release() { s->batch.reset(); }
          } release{state.get()};
          WriteBatchTo(req, &state->batch, cancel.get());
          return true;
        },
        [](Napi::Env env, const bool&) -> Napi::Value { return env.Undefined(); });
  }

  // Releases the bytes of a batch that will not be written (its filling failed) without waiting for the GC,
  // which does not know their size. A batch handed to a write is the worker's: left alone.
  Napi::Value Discard(const Napi::CallbackInfo& info) {
    if (!state_->spent) {
      state_->spent = true;
      state_->batch.reset();
    }
    return info.Env().Undefined();
  }

  Napi::Value Count(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(state_->count));
  }

  std::shared_ptr<BatchState> state_;
};

}  // namespace

void AppendEncodedPuts(leveldb::WriteBatch* batch, const uint8_t* data, size_t len, uint64_t count) {
  // Checked whole before anything is added, so a refused piece leaves the batch as it was.
  uint64_t seen = 0;
  for (size_t pos = 0; pos < len; seen++) {
    if (seen == count) Malformed(pos, "count", "more than the " + std::to_string(count) + " puts announced");
    ReadPut(data, len, &pos);
  }
  if (seen != count) {
    Malformed(len, "count", std::to_string(seen) + " puts where " + std::to_string(count) + " were announced");
  }
  for (size_t pos = 0; pos < len;) {
    PutOp op = ReadPut(data, len, &pos);
    batch->Put(op.key, op.value);
  }
}

void WriteBatchTo(const BatchWriteRequest& req, std::unique_ptr<leveldb::WriteBatch>* batch,
                  const std::atomic<bool>* cancel) {
  auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };
  if (cancelled()) throw NativeError(ErrorKind::kAborted, "aborted");
  // As classic-level opens it: the tables this write's log turns into look the same whichever binding flushes them.
  ClassicLevelDb opened = OpenLikeClassicLevel(req.dbPath, req.createIfMissing);
  leveldb::DB* db = opened.db.get();
  if (cancelled()) throw NativeError(ErrorKind::kAborted, "aborted");
  leveldb::WriteOptions wo;
  wo.sync = req.sync;
  leveldb::Status s = db->Write(wo, batch->get());
  batch->reset();
  if (!s.ok()) throw StatusError(s, req.dbPath, "write");
  FlushMemTable(db);
}

Napi::Function DefineNativeWriteBatch(Napi::Env env) {
  return NativeWriteBatch::Define(env);
}

}  // namespace nodehost
