#include "split_scan.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "crc32.h"
#include "native_error.h"
#include "posix_io.h"

namespace nodehost {
namespace {

constexpr uint32_t kPoly = 0xEDB88320u;  // reflected; bit 31 is x^0

// a * b mod P over GF(2), both reflected.
uint32_t MulModP(uint32_t a, uint32_t b) {
  uint32_t prod = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) prod ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return prod;
}

// x^(8 * bytes) mod P, by squaring.
uint32_t XPow8nModP(uint64_t bytes) {
  uint32_t result = 1u << 31;  // 1
  uint32_t base = 1u << 23;    // x^8
  for (uint64_t n = bytes; n != 0; n >>= 1) {
    if (n & 1) result = MulModP(result, base);
    base = MulModP(base, base);
  }
  return result;
}

class Splitter {
 public:
  Splitter(int fd, const std::string& path, const SplitPlan& plan, const std::atomic<bool>* cancel)
      : fd_(fd), path_(path), plan_(plan), cancel_(cancel) {
    units_ = plan.end > plan.start ? (plan.end - plan.start + plan.stride - 1) / plan.stride : 0;
    results_.resize(units_);
    done_ = std::make_unique<std::atomic<bool>[]>(units_);
    for (uint64_t i = 0; i < units_; i++) done_[i].store(false, std::memory_order_relaxed);
  }

  ~Splitter() {
    stop_.store(true, std::memory_order_relaxed);
    if (helper_.joinable()) helper_.join();
  }

  void Run(const std::function<bool(const UnitResult&)>& visit) {
    if (units_ == 0) return;
    // One unit needs no second thread.
    if (units_ > 1) {
      try {
        helper_ = std::thread([this] { Work(); });
      } catch (const std::system_error&) {
        // No thread to be had: the calling thread does every unit.
      }
    }
    AlignedBuffer buf(BufferSize());
    for (uint64_t v = 0; v < units_;) {
      if (cancel_ && cancel_->load(std::memory_order_relaxed)) throw NativeError(ErrorKind::kAborted, "aborted");
      if (!done_[v].load(std::memory_order_acquire)) {
        uint64_t i = next_.fetch_add(1, std::memory_order_relaxed);
        if (i < units_) {
          Process(i, buf);
        } else {
          // The helper holds unit v; wait for it (it marks every unit it claims done).
          std::unique_lock<std::mutex> lock(mu_);
          cv_.wait(lock, [&] { return done_[v].load(std::memory_order_acquire); });
        }
        continue;
      }
      const UnitResult& r = results_[v];
      if (r.error) std::rethrow_exception(r.error);
      if (r.cancelled) throw NativeError(ErrorKind::kAborted, "aborted");
      if (!visit(r)) return;
      v++;
    }
  }

 private:
  size_t BufferSize() const {
    return static_cast<size_t>(std::max<uint64_t>(1, std::min<uint64_t>(plan_.chunk, plan_.stride)));
  }

  void Work() {
    std::unique_ptr<AlignedBuffer> buf;
    try {
      buf = std::make_unique<AlignedBuffer>(BufferSize());
    } catch (...) {
      return;  // claims nothing, so the calling thread does every unit
    }
    while (!stop_.load(std::memory_order_relaxed)) {
      uint64_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= units_) break;
      Process(i, *buf);
    }
  }

  void Process(uint64_t i, AlignedBuffer& buf) {
    UnitResult& r = results_[i];
    r.start = plan_.start + i * plan_.stride;
    r.len = std::min(plan_.stride, plan_.end - r.start);
    try {
      const uint64_t dataLen = r.len - std::min(plan_.trailer, r.len);
      uint32_t state = 0xFFFFFFFFu;
      while (r.got < r.len) {
        if (cancel_ && cancel_->load(std::memory_order_relaxed)) {
          r.cancelled = true;
          break;
        }
        if (stop_.load(std::memory_order_relaxed)) break;  // the result will not be looked at
        size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), r.len - r.got));
        size_t n = PreadFull(fd_, buf.data(), want, r.start + r.got, path_);
        if (r.got < dataLen) {
          size_t data = static_cast<size_t>(std::min<uint64_t>(n, dataLen - r.got));
          state = Crc32Update(state, buf.data(), data);
        }
        // Trailer bytes (the stored CRC) in this read, wherever the read split them.
        for (uint64_t pos = std::max(r.got, dataLen); pos < r.got + n; pos++) {
          r.stored[pos - dataLen] = buf.data()[pos - r.got];
        }
        r.got += n;
        if (n < want) break;  // end of file: the file shrank
      }
      r.crc = ~state;
    } catch (...) {
      r.error = std::current_exception();
    }
    {
      // Under the lock so a waiter cannot miss the wake-up.
      std::lock_guard<std::mutex> lock(mu_);
      done_[i].store(true, std::memory_order_release);
    }
    cv_.notify_all();
  }

  const int fd_;
  const std::string& path_;
  const SplitPlan plan_;
  const std::atomic<bool>* cancel_;
  uint64_t units_ = 0;
  std::vector<UnitResult> results_;
  std::unique_ptr<std::atomic<bool>[]> done_;
  std::atomic<uint64_t> next_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread helper_;
};

}  // namespace

uint32_t Crc32Combine(uint32_t crcA, uint32_t crcB, uint64_t lenB) {
  return MulModP(XPow8nModP(lenB), crcA) ^ crcB;
}

void SplitScan(int fd, const std::string& path, const SplitPlan& plan, const std::atomic<bool>* cancel,
               const std::function<bool(const UnitResult&)>& visit) {
  if (plan.stride == 0 || plan.trailer >= plan.stride) throw NativeError(ErrorKind::kInvalid, "bad split plan");
  Splitter s(fd, path, plan, cancel);
  s.Run(visit);
}

}  // namespace nodehost
