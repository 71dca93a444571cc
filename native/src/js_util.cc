#include "js_util.h"

#include <cmath>

namespace nodehost {

Napi::Error ToJsError(Napi::Env env, const NativeError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  Napi::Object o = err.Value();
  o.Set("kind", ErrorKindName(e.kind));
  if (e.err) o.Set("errno", Napi::Number::New(env, e.err));
  if (!e.syscall.empty()) o.Set("syscall", e.syscall);
  if (!e.path.empty()) o.Set("path", e.path);
  if (e.pid) o.Set("pid", Napi::Number::New(env, static_cast<double>(e.pid)));
  return err;
}

Napi::Error InvalidArgument(Napi::Env env, const std::string& message) {
  Napi::Error err = Napi::TypeError::New(env, message);
  err.Value().Set("kind", "invalid");
  return err;
}

std::string RequireString(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw InvalidArgument(env, std::string(what) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw InvalidArgument(env, std::string(what) + " contains a NUL byte");
  return s;
}

uint64_t RequireUint64(Napi::Env env, const Napi::Value& v, const char* what) {
  if (v.IsBigInt()) {
    bool lossless = false;
    uint64_t out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw InvalidArgument(env, std::string(what) + " must be in 0..2^64-1");
    return out;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 0 && d <= 9007199254740991.0 && std::floor(d) == d) return static_cast<uint64_t>(d);
  }
  throw InvalidArgument(env, std::string(what) + " must be a bigint in 0..2^64-1");
}

double RequireNumber(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw InvalidArgument(env, std::string(what) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool HasOption(const Napi::Object& o, const char* key) {
  if (!o.Has(key)) return false;
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

ByteView RequireBytes(Napi::Env env, const Napi::Value& v, const char* what) {
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    auto* base = static_cast<const uint8_t*>(t.ArrayBuffer().Data());
    return {base ? base + t.ByteOffset() : nullptr, t.ByteLength()};
  }
  if (v.IsDataView()) {
    Napi::DataView d = v.As<Napi::DataView>();
    auto* base = static_cast<const uint8_t*>(d.ArrayBuffer().Data());
    return {base ? base + d.ByteOffset() : nullptr, d.ByteLength()};
  }
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer a = v.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(a.Data()), a.ByteLength()};
  }
  throw InvalidArgument(env, std::string(what) + " must be a Uint8Array, DataView or ArrayBuffer");
}

Napi::Function CancelToken::Define(Napi::Env env) {
  return DefineClass(
      env, "CancelToken",
      {InstanceMethod<&CancelToken::Cancel>("cancel"), InstanceAccessor<&CancelToken::Cancelled>("cancelled")});
}

CancelToken::CancelToken(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<CancelToken>(info), flag_(std::make_shared<std::atomic<bool>>(false)) {}

Napi::Value CancelToken::Cancel(const Napi::CallbackInfo& info) {
  flag_->store(true);
  return info.Env().Undefined();
}

Napi::Value CancelToken::Cancelled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), flag_->load());
}

CancelFlag CancelFlagFrom(Napi::Env env, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return std::make_shared<std::atomic<bool>>(false);
  auto* data = env.GetInstanceData<AddonData>();
  if (!v.IsObject() || !data || !v.As<Napi::Object>().InstanceOf(data->cancelTokenCtor.Value())) {
    throw InvalidArgument(env, "cancel token must be a CancelToken");
  }
  return CancelToken::Unwrap(v.As<Napi::Object>())->flag();
}

}  // namespace nodehost
