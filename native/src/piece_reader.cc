#include "piece_reader.h"

#include <algorithm>

namespace nodehost {

PieceReader::PieceReader(int fd, std::string path, uint64_t start, uint64_t end, size_t pieceSize,
                         const std::atomic<bool>* cancel)
    : fd_(fd), path_(std::move(path)), start_(start), end_(end), pieceSize_(pieceSize), cancel_(cancel) {
  // Buffers only as large as the range needs: small files stay cheap.
  size_t size = static_cast<size_t>(std::min<uint64_t>(pieceSize_, std::max<uint64_t>(end_ - start_, 1)));
  for (int i = 0; i < 2; i++) {
    buffers_.push_back(std::make_unique<AlignedBuffer>(size));
    free_.push_back(i);
  }
  thread_ = std::thread(&PieceReader::Run, this);
}

PieceReader::~PieceReader() {
  Stop();
}

void PieceReader::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PieceReader::Run() {
  try {
    uint64_t off = start_;
    while (off < end_) {
      int slot;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
        if (stop_) return;
        slot = free_.front();
        free_.pop_front();
      }
      if (cancel_ && cancel_->load(std::memory_order_relaxed)) break;
      size_t want = static_cast<size_t>(std::min<uint64_t>(end_ - off, pieceSize_ - off % pieceSize_));
      want = std::min(want, buffers_[slot]->size());
      Piece p;
      p.data = buffers_[slot]->data();
      p.wanted = want;
      p.len = PreadFull(fd_, buffers_[slot]->data(), want, off, path_);
      p.offset = off;
      p.slot = slot;
      {
        std::lock_guard<std::mutex> lock(mu_);
        filled_.push_back(p);
      }
      cv_.notify_all();
      if (p.len < want) break;  // the file shrank; the consumer reports it
      off += want;
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
  }
  cv_.notify_all();
}

bool PieceReader::Next(Piece& out) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !filled_.empty() || finished_; });
  if (!filled_.empty()) {
    out = filled_.front();
    filled_.pop_front();
    return true;
  }
  if (error_) std::rethrow_exception(error_);
  return false;
}

void PieceReader::Release(const Piece& piece) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(piece.slot);
  }
  cv_.notify_all();
}

}  // namespace nodehost
