// The log suffix's entry frames (docs/log-suffix.md), checked and re-keyed in
// bulk: one call works through as many whole entry frames of a piece of the
// file as it can, applying every rule the JavaScript reader and import apply
// to an entry frame, and stops before the first frame it does not take. The
// caller (src/files/log-suffix-file.ts through src/logdb/native-suffix.ts)
// then handles that frame itself, so every refusal is reported by the one
// JavaScript implementation of the rules, with its messages and offsets.
// No I/O: the caller reads the file and owns every buffer.
#ifndef NODEHOST_NATIVE_SUFFIX_FRAMES_H_
#define NODEHOST_NATIVE_SUFFIX_FRAMES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nodehost {

// Where the entries stand: the validator's state, advanced by each call.
struct SuffixState {
  uint64_t next;       // the index the next entry must have
  uint64_t lastTerm;   // the term before it (the snapshot's at first)
  uint64_t lastIndex;  // the header's last index
  uint64_t count;      // entries taken so far: the position in terms/crcs
};

// One call's buffers. Validate pass (out == nullptr): each entry's term,
// frame CRC and whether it changes membership are recorded at `count`.
// Write pass (out != nullptr): each frame's CRC must equal the one recorded
// (its bytes are then the ones the validate pass checked, entry head
// included, so the head is not decoded again), and the entry is emitted as
// a batch put `0x01 | uvarint key length | key | uvarint value length |
// value`, the key being `keyPrefix` + the index (8 bytes, big-endian), a
// membership change's value replaced by the empty entry of its index and term.
struct SuffixRun {
  const uint8_t* data;
  size_t len;
  uint64_t* terms;  // validate pass; may be null in the write pass
  uint32_t* crcs;
  uint8_t* changes;  // 1 where the entry changes membership
  size_t capacity;   // entries terms, crcs and changes hold
  uint8_t* out;
  size_t outCap;
  const uint8_t* keyPrefix;
  size_t keyPrefixLen;
};

enum class SuffixStop : int {
  kMore = 0,   // no whole frame left in the piece: read more
  kFrame = 1,  // the next frame is not one this kernel takes (another kind, or a rule it breaks)
  kFull = 2,   // terms/crcs (validate) or out (write) has no room for the next entry
};

struct SuffixResult {
  size_t consumed = 0;
  SuffixStop stop = SuffixStop::kMore;
  size_t outBytes = 0;
  // Validate pass: the carried values' share of a batch (uvarint length + length each).
  uint64_t valueBytes = 0;
  // Membership changes replaced: index, term pairs.
  std::vector<uint64_t> neutralized;
};

SuffixResult RunSuffixFrames(const SuffixRun& run, SuffixState& state);

// Exposed for tests through the binding: Dragonboat's empty entry (Colfer).
size_t EncodeEmptyEntry(uint64_t index, uint64_t term, uint8_t* out);

}  // namespace nodehost

#endif  // NODEHOST_NATIVE_SUFFIX_FRAMES_H_
