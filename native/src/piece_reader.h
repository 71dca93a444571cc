// A reader thread that fills two page-aligned buffers in turn while the
// consumer (the checksum thread) works on the other: file reading and
// checksumming overlap, one core each.
#ifndef NODEHOST_NATIVE_PIECE_READER_H_
#define NODEHOST_NATIVE_PIECE_READER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "posix_io.h"

namespace nodehost {

struct Piece {
  const uint8_t* data = nullptr;
  size_t len = 0;       // bytes actually read
  size_t wanted = 0;    // bytes asked for; len < wanted means the file ended early
  uint64_t offset = 0;  // file offset of data[0]
  int slot = -1;
};

class PieceReader {
 public:
  // Reads [start, end) of `fd` in pieces of at most `pieceSize` bytes whose
  // boundaries fall on multiples of `pieceSize` (aligned file reads).
  PieceReader(int fd, std::string path, uint64_t start, uint64_t end, size_t pieceSize,
              const std::atomic<bool>* cancel);
  PieceReader(const PieceReader&) = delete;
  PieceReader& operator=(const PieceReader&) = delete;
  ~PieceReader();

  // Waits for the next piece. False at the end of the range. Rethrows a read error.
  bool Next(Piece& out);
  // Hands the piece's buffer back to the reader.
  void Release(const Piece& piece);

 private:
  void Run();
  void Stop();

  const int fd_;
  const std::string path_;
  const uint64_t start_, end_;
  const size_t pieceSize_;
  const std::atomic<bool>* cancel_;

  std::vector<std::unique_ptr<AlignedBuffer>> buffers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> free_;
  std::deque<Piece> filled_;
  bool finished_ = false;  // the reader pushed its last piece
  bool stop_ = false;      // the consumer is gone
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_PIECE_READER_H_
