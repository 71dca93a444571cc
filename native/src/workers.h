// Promise-returning async workers. Inputs are plain C++ values copied on the
// JS thread; Execute runs on the libuv thread pool and touches no JS value.
#ifndef NODEHOST_NATIVE_WORKERS_H_
#define NODEHOST_NATIVE_WORKERS_H_

#include <napi.h>

#include <functional>
#include <memory>
#include <optional>

#include "js_util.h"
#include "native_error.h"

namespace nodehost {

// Runs `run` off the JS thread, resolves with `toJs(result)` or rejects with
// the NativeError it threw (any other exception becomes an `io` error).
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Run = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, const Result&)>;

  static Napi::Promise Start(Napi::Env env, const char* name, Run run, ToJs toJs) {
    auto* w = new PromiseWorker(env, name, std::move(run), std::move(toJs));
    Napi::Promise p = w->deferred_.Promise();
    w->Queue();
    return p;
  }

 protected:
  void Execute() override {
    try {
      result_ = run_();
    } catch (const NativeError& e) {
      error_ = std::make_unique<NativeError>(e);
    } catch (const std::exception& e) {
      error_ = std::make_unique<NativeError>(ErrorKind::kIO, e.what());
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    if (error_) {
      deferred_.Reject(ToJsError(Env(), *error_).Value());
    } else {
      deferred_.Resolve(toJs_(Env(), *result_));
    }
  }

 private:
  PromiseWorker(Napi::Env env, const char* name, Run run, ToJs toJs)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        run_(std::move(run)),
        toJs_(std::move(toJs)) {}

  Napi::Promise::Deferred deferred_;
  Run run_;
  ToJs toJs_;
  std::optional<Result> result_;
  std::unique_ptr<NativeError> error_;
};

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_WORKERS_H_
