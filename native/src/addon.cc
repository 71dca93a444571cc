// Module entry: binds the C++ pieces to JavaScript. The TypeScript binding
// (src/native/binding.ts and the capability modules over it) is the only
// intended caller; it maps the plain errors thrown here (`kind`, `errno`,
// `syscall`, `path`) to coded errors.
#include <napi.h>

#include "crc32.h"
#include "crc32c.h"
#include "file_lock.h"
#include "js_util.h"
#include "leveldb_batch.h"
#include "logdb_bulk.h"
#include "payload_scan.h"
#include "sha256.h"
#include "suffix_frames.h"
#include "workers.h"

namespace nodehost {
namespace {

// ---- CRC32 (synchronous: meant for small buffers) ------------------------

Napi::Value Crc32Js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView bytes = RequireBytes(env, info[0], "data");
  uint32_t seed = 0;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) throw InvalidArgument(env, "crc must be a number");
    seed = info[1].As<Napi::Number>().Uint32Value();
  }
  return Napi::Number::New(env, Crc32(seed, bytes.data, bytes.len));
}

// Same, with an explicit kernel: lets tests and benchmarks hold every kernel to zlib.
Napi::Value Crc32WithKernelJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = RequireString(env, info[0], "kernel");
  const CrcKernelInfo* k = FindCrcKernel(name);
  if (!k) throw InvalidArgument(env, "CRC kernel " + name + " is not supported on this CPU");
  ByteView bytes = RequireBytes(env, info[1], "data");
  uint32_t seed = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
  return Napi::Number::New(env, ~k->fn(~seed, bytes.data, bytes.len));
}

// ---- CRC-32C (Pebble's checksum; synchronous, for blocks of tens of KiB) ----

Napi::Value Crc32cJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView bytes = RequireBytes(env, info[0], "data");
  uint32_t seed = 0;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) throw InvalidArgument(env, "crc must be a number");
    seed = info[1].As<Napi::Number>().Uint32Value();
  }
  const bool portable = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  return Napi::Number::New(
      env, portable ? Crc32cPortable(seed, bytes.data, bytes.len) : Crc32c(seed, bytes.data, bytes.len));
}

// ---- Payload scan / verified copy -----------------------------------------

struct ProgressSample {
  uint64_t done;
  uint64_t total;
};

constexpr uint64_t kProgressStep = 32u << 20;

class ScanWorker : public Napi::AsyncProgressWorker<ProgressSample> {
 public:
  ScanWorker(Napi::Env env, ScanRequest req, CancelFlag cancel, Napi::Value onProgress)
      : Napi::AsyncProgressWorker<ProgressSample>(env, "nodehost:scanPayload"),
        deferred_(Napi::Promise::Deferred::New(env)),
        req_(std::move(req)),
        cancel_(std::move(cancel)) {
    if (onProgress.IsFunction()) onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    ProgressFn fn;
    uint64_t last = 0;
    if (!onProgress_.IsEmpty()) {
      fn = [&](uint64_t done, uint64_t total) {
        if (done - last < kProgressStep && done != total) return;
        last = done;
        ProgressSample s{done, total};
        progress.Send(&s, 1);
      };
    }
    try {
      outcome_ = ScanPayload(req_, cancel_.get(), fn);
    } catch (const NativeError& e) {
      error_ = std::make_unique<NativeError>(e);
    } catch (const std::exception& e) {
      error_ = std::make_unique<NativeError>(ErrorKind::kIO, e.what(), req_.path);
    }
  }

  void OnProgress(const ProgressSample* data, size_t count) override {
    if (!data || count == 0 || onProgress_.IsEmpty()) return;
    Napi::HandleScope scope(Env());
    try {
      onProgress_.Call({Napi::Number::New(Env(), static_cast<double>(data[count - 1].done)),
                        Napi::Number::New(Env(), static_cast<double>(data[count - 1].total))});
    } catch (const Napi::Error&) {
      // The wrapper's callback never throws; a throwing one must not take the process down.
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(ToJsError(env, *error_).Value());
      return;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("ok", outcome_.ok);
    if (outcome_.ok) {
      o.Set("payloadBytes", static_cast<double>(outcome_.payloadBytes));
      o.Set("blocks", static_cast<double>(outcome_.blocks));
      o.Set("payloadChecksum", outcome_.payloadChecksum);
      if (!outcome_.sha256.empty()) o.Set("sha256", outcome_.sha256);
    } else {
      o.Set("check", outcome_.check);
      o.Set("offset", static_cast<double>(outcome_.offset));
      if (outcome_.hasBlock) o.Set("block", static_cast<double>(outcome_.block));
      if (outcome_.hasExpected) o.Set("expected", outcome_.expected);
      if (outcome_.hasActual) o.Set("actual", outcome_.actual);
    }
    deferred_.Resolve(o);
  }

 private:
  Napi::Promise::Deferred deferred_;
  ScanRequest req_;
  CancelFlag cancel_;
  Napi::FunctionReference onProgress_;
  ScanOutcome outcome_;
  std::unique_ptr<NativeError> error_;
};

uint64_t RequireSize(Napi::Env env, const Napi::Object& o, const char* key) {
  double d = RequireNumber(env, o.Get(key), key);
  if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    throw InvalidArgument(env, std::string(key) + " must be a non-negative integer");
  }
  return static_cast<uint64_t>(d);
}

// scanPayload({path, version, payloadOffset, fileSize, destPath?, mode?, pieceSize?, sha256?}, token?, onProgress?)
Napi::Value ScanPayloadJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw InvalidArgument(env, "request must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  ScanRequest req;
  req.path = RequireString(env, o.Get("path"), "path");
  req.version = static_cast<int>(RequireNumber(env, o.Get("version"), "version"));
  req.payloadOffset = RequireSize(env, o, "payloadOffset");
  req.fileSize = RequireSize(env, o, "fileSize");
  if (HasOption(o, "destPath")) {
    req.copy = true;
    req.destPath = RequireString(env, o.Get("destPath"), "destPath");
    req.mode = HasOption(o, "mode") ? static_cast<uint32_t>(RequireSize(env, o, "mode")) : 0644;
  }
  if (HasOption(o, "pieceSize")) req.pieceSize = static_cast<size_t>(RequireSize(env, o, "pieceSize"));
  if (HasOption(o, "sha256")) req.sha256 = o.Get("sha256").ToBoolean().Value();
  CancelFlag cancel = CancelFlagFrom(env, info[1]);
  auto* w = new ScanWorker(env, std::move(req), std::move(cancel), info[2]);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- Log store bulk work ---------------------------------------------------

// removeRanges(dbPath, [[start, end], ...], {deletesPerWrite?}, token?): each range is [start, end), bytes.
Napi::Value RemoveRangesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RemoveRangesRequest req;
  req.dbPath = RequireString(env, info[0], "dbPath");
  if (!info[1].IsArray()) throw InvalidArgument(env, "ranges must be an array of [start, end] pairs");
  Napi::Array ranges = info[1].As<Napi::Array>();
  req.ranges.reserve(ranges.Length());
  for (uint32_t i = 0; i < ranges.Length(); i++) {
    Napi::Value pair = ranges.Get(i);
    if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) {
      throw InvalidArgument(env, "ranges must be an array of [start, end] pairs");
    }
    auto bytes = [&](uint32_t at, const char* what) {
      ByteView b = RequireBytes(env, pair.As<Napi::Array>().Get(at), what);
      return b.len == 0 ? std::string() : std::string(reinterpret_cast<const char*>(b.data), b.len);
    };
    req.ranges.push_back({bytes(0, "range start"), bytes(1, "range end")});
  }
  if (info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    if (HasOption(o, "deletesPerWrite"))
      req.deletesPerWrite = static_cast<size_t>(RequireUint64(env, o.Get("deletesPerWrite"), "deletesPerWrite"));
  }
  CancelFlag cancel = CancelFlagFrom(env, info[3]);
  return PromiseWorker<RemoveRangesResult>::Start(
      env, "nodehost:removeRanges", [req, cancel] { return RemoveRanges(req, cancel.get()); },
      [](Napi::Env env, const RemoveRangesResult& r) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("removed", static_cast<double>(r.removed));
        return o;
      });
}

// ---- Log suffix entry frames (synchronous: one piece of about a megabyte) ----

template <typename T>
T* RequireTyped(Napi::Env env, const Napi::Value& v, napi_typedarray_type type, const char* what, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw InvalidArgument(env, std::string(what) + " has the wrong type");
  }
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  *len = a.ElementLength();
  return a.Data();
}

// suffixFrames(piece, state BigUint64Array[4], crcs Uint32Array, changes Uint8Array, terms BigUint64Array | null,
// out Uint8Array | null, keyPrefix Uint8Array | null) -> {consumed, stop, outBytes, valueBytes, neutralized?}. `state`
// (next index, last term, last index, count) is advanced in place; see suffix_frames.h.
Napi::Value SuffixFramesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView piece = RequireBytes(env, info[0], "piece");
  size_t n = 0;
  uint64_t* state = RequireTyped<uint64_t>(env, info[1], napi_biguint64_array, "state", &n);
  if (n < 4) throw InvalidArgument(env, "state must hold 4 values");
  SuffixRun run{};
  run.data = piece.data;
  run.len = piece.len;
  run.crcs = RequireTyped<uint32_t>(env, info[2], napi_uint32_array, "crcs", &run.capacity);
  size_t changesLen = 0;
  run.changes = RequireTyped<uint8_t>(env, info[3], napi_uint8_array, "changes", &changesLen);
  if (changesLen < run.capacity) run.capacity = changesLen;
  const bool write = !info[5].IsNull() && !info[5].IsUndefined();
  if (write) {
    size_t outCap = 0;
    run.out = RequireTyped<uint8_t>(env, info[5], napi_uint8_array, "out", &outCap);
    run.outCap = outCap;
    ByteView prefix = RequireBytes(env, info[6], "keyPrefix");
    run.keyPrefix = prefix.data;
    run.keyPrefixLen = prefix.len;
  } else {
    size_t termsLen = 0;
    run.terms = RequireTyped<uint64_t>(env, info[4], napi_biguint64_array, "terms", &termsLen);
    if (termsLen < run.capacity) run.capacity = termsLen;
  }
  SuffixState st{state[0], state[1], state[2], state[3]};
  SuffixResult r = RunSuffixFrames(run, st);
  state[0] = st.next;
  state[1] = st.lastTerm;
  state[2] = st.lastIndex;
  state[3] = st.count;
  Napi::Object o = Napi::Object::New(env);
  o.Set("consumed", static_cast<double>(r.consumed));
  o.Set("stop", static_cast<double>(static_cast<int>(r.stop)));
  o.Set("outBytes", static_cast<double>(r.outBytes));
  o.Set("valueBytes", static_cast<double>(r.valueBytes));
  if (!r.neutralized.empty()) {
    Napi::TypedArrayOf<uint64_t> nz =
        Napi::TypedArrayOf<uint64_t>::New(env, r.neutralized.size(), napi_biguint64_array);
    for (size_t i = 0; i < r.neutralized.size(); i++) nz[i] = r.neutralized[i];
    o.Set("neutralized", nz);
  }
  return o;
}

// ---- SHA-256 off the JS thread (the log suffix's first pass) ---------------------

// A streaming SHA-256 whose updates run on the thread pool, so a reader hashes
// the chunk it has just read while the JS thread checks the one before. One
// update at a time; the caller keeps the bytes unchanged until it settles.
class Sha256Stream : public Napi::ObjectWrap<Sha256Stream> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Sha256Stream",
        {InstanceMethod<&Sha256Stream::Update>("update"), InstanceMethod<&Sha256Stream::Digest>("digest")});
  }
  explicit Sha256Stream(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<Sha256Stream>(info), state_(std::make_shared<State>()) {}

 private:
  struct State {
    Sha256 sha;
    std::atomic<bool> busy{false};
    bool spent = false;
  };

  class UpdateWorker : public Napi::AsyncWorker {
   public:
    UpdateWorker(Napi::Env env, std::shared_ptr<State> state, Napi::Object bytes, ByteView view)
        : Napi::AsyncWorker(env, "nodehost:sha256Update"),
          deferred_(Napi::Promise::Deferred::New(env)),
          state_(std::move(state)),
          bytes_(Napi::Persistent(bytes)),
          view_(view) {}
    Napi::Promise Promise() { return deferred_.Promise(); }

   protected:
    void Execute() override {
      try {
        state_->sha.Update(view_.data, view_.len);
      } catch (const std::exception& e) {
        SetError(e.what());
      }
    }
    void OnOK() override {
      state_->busy = false;
      deferred_.Resolve(Env().Undefined());
    }
    void OnError(const Napi::Error& e) override {
      state_->busy = false;
      deferred_.Reject(e.Value());
    }

   private:
    Napi::Promise::Deferred deferred_;
    std::shared_ptr<State> state_;
    Napi::ObjectReference bytes_;  // keeps the bytes alive while they are hashed
    ByteView view_;
  };

  Napi::Value Update(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw InvalidArgument(env, "data must be bytes");
    ByteView view = RequireBytes(env, info[0], "data");
    if (state_->spent) throw InvalidArgument(env, "SHA-256: the digest was already taken");
    if (state_->busy.exchange(true)) throw InvalidArgument(env, "SHA-256: an update is already running");
    auto* w = new UpdateWorker(env, state_, info[0].As<Napi::Object>(), view);
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Digest(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (state_->busy) throw InvalidArgument(env, "SHA-256: an update is still running");
    if (state_->spent) throw InvalidArgument(env, "SHA-256: the digest was already taken");
    state_->spent = true;
    try {
      return Napi::String::New(env, state_->sha.HexDigest());
    } catch (const std::exception& e) {
      throw InvalidArgument(env, e.what());
    }
  }

  std::shared_ptr<State> state_;
};

// ---- Locks -------------------------------------------------------------------

// lockHolder(path): pid, 0 (free or missing), -1 (held, pid unknown). One fcntl: synchronous.
Napi::Value LockHolderJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = RequireString(env, info[0], "path");
  try {
    return Napi::Number::New(env, static_cast<double>(LockHolder(path)));
  } catch (const NativeError& e) {
    throw ToJsError(env, e);
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function ctor = CancelToken::Define(env);
  data->cancelTokenCtor = Napi::Persistent(ctor);
  exports.Set("CancelToken", ctor);

  exports.Set("crc32", Napi::Function::New(env, Crc32Js, "crc32"));
  exports.Set("crc32WithKernel", Napi::Function::New(env, Crc32WithKernelJs, "crc32WithKernel"));
  exports.Set("crcKernel", Napi::String::New(env, SelectedCrcKernel().name));
  Napi::Array kernels = Napi::Array::New(env);
  uint32_t i = 0;
  for (const auto& k : SupportedCrcKernels()) kernels.Set(i++, Napi::String::New(env, k.name));
  exports.Set("crcKernels", kernels);

  exports.Set("crc32c", Napi::Function::New(env, Crc32cJs, "crc32c"));
  exports.Set("crc32cKernel", Napi::String::New(env, Crc32cKernelName()));
  exports.Set("scanPayload", Napi::Function::New(env, ScanPayloadJs, "scanPayload"));
  exports.Set("removeRanges", Napi::Function::New(env, RemoveRangesJs, "removeRanges"));
  exports.Set("NativeWriteBatch", DefineNativeWriteBatch(env));
  exports.Set("suffixFrames", Napi::Function::New(env, SuffixFramesJs, "suffixFrames"));
  exports.Set("Sha256Stream", Sha256Stream::Define(env));
  exports.Set("lockHolder", Napi::Function::New(env, LockHolderJs, "lockHolder"));
  exports.Set("acquireLock", Napi::Function::New(env, AcquireLockJs, "acquireLock"));
  // Bumped when the binding's JS-facing shape changes; the wrapper checks it.
  exports.Set("bindingVersion", Napi::Number::New(env, 7));
  return exports;
}

}  // namespace
}  // namespace nodehost

// NODE_API_MODULE pastes the name into identifiers: it must be unqualified.
static Napi::Object InitNodehostNative(Napi::Env env, Napi::Object exports) {
  return nodehost::Init(env, exports);
}

NODE_API_MODULE(nodehost_native, InitNodehostNative)
