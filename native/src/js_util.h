// Conversions between JavaScript values and the plain C++ request structs.
// Every worker copies its inputs here, on the JS thread, before Execute.
#ifndef NODEHOST_NATIVE_JS_UTIL_H_
#define NODEHOST_NATIVE_JS_UTIL_H_

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>

#include "native_error.h"

namespace nodehost {

// The JS error for a NativeError: message plus `kind`, `errno`, `syscall`, `path`, `pid`.
Napi::Error ToJsError(Napi::Env env, const NativeError& e);
Napi::Error InvalidArgument(Napi::Env env, const std::string& message);

std::string RequireString(Napi::Env env, const Napi::Value& v, const char* what);
// An unsigned 64-bit integer from a bigint (or a safe-integer number).
uint64_t RequireUint64(Napi::Env env, const Napi::Value& v, const char* what);
double RequireNumber(Napi::Env env, const Napi::Value& v, const char* what);
// Optional properties of an options object.
bool HasOption(const Napi::Object& o, const char* key);

// Bytes of a TypedArray, DataView or ArrayBuffer.
struct ByteView {
  const uint8_t* data;
  size_t len;
};
ByteView RequireBytes(Napi::Env env, const Napi::Value& v, const char* what);

using CancelFlag = std::shared_ptr<std::atomic<bool>>;

// A cancel flag shared between JS (cancel()) and a worker thread that polls it.
class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit CancelToken(const Napi::CallbackInfo& info);
  const CancelFlag& flag() const { return flag_; }

 private:
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Cancelled(const Napi::CallbackInfo& info);
  CancelFlag flag_;
};

// The flag of a CancelToken argument; a fresh unset flag for null/undefined.
CancelFlag CancelFlagFrom(Napi::Env env, const Napi::Value& v);

// Per-environment data (worker threads each load the addon).
struct AddonData {
  Napi::FunctionReference cancelTokenCtor;
};

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_JS_UTIL_H_
