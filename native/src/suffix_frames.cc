#include "suffix_frames.h"

#include <cstring>

#include "crc32c.h"

namespace nodehost {
namespace {

constexpr size_t kFrameHead = 9;
constexpr uint32_t kMaxPayload = 256u << 20;
constexpr uint8_t kEntryKind = 2;
constexpr uint8_t kColferEnd = 0x7f;
constexpr uint8_t kColferFlag = 0x80;
constexpr int32_t kConfigChange = 1;
constexpr uint64_t kColferBig = uint64_t{1} << 49;
// An empty entry: two headers, two u64 of at most 8 bytes, the end byte.
constexpr size_t kEmptyEntryMax = 1 + 9 + 1 + 9 + 1;

uint32_t U32le(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

uint64_t U64le(const uint8_t* p) {
  return uint64_t{U32le(p)} | uint64_t{U32le(p + 4)} << 32;
}

size_t UvarintSize(uint64_t x) {
  size_t n = 1;
  for (; x >= 0x80; x >>= 7) n++;
  return n;
}

uint8_t* PutUvarint(uint8_t* o, uint64_t x) {
  for (; x >= 0x80; x >>= 7) *o++ = static_cast<uint8_t>(x | 0x80);
  *o++ = static_cast<uint8_t>(x);
  return o;
}

// Colfer's u64 field: omitted when zero; a varint below 2^49, else 8 big-endian bytes under a flagged header.
uint8_t* PutColferU64(uint8_t* o, uint8_t field, uint64_t x) {
  if (x == 0) return o;
  if (x >= kColferBig) {
    *o++ = field | kColferFlag;
    for (int s = 56; s >= 0; s -= 8) *o++ = static_cast<uint8_t>(x >> s);
    return o;
  }
  *o++ = field;
  return PutUvarint(o, x);
}

struct EntryHead {
  uint64_t index;
  uint64_t term;
  int32_t type;
};

// The same acceptance as scanEntryColfer (src/records/entry-colfer.ts): the
// bytes are exactly one well-formed entry; index, term and type are read.
bool ScanEntryHead(const uint8_t* b, size_t n, EntryHead* out) {
  size_t i = 0;
  out->index = 0;
  out->term = 0;
  out->type = 0;
  if (i >= n) return false;
  uint8_t header = b[i++];
  // Colfer's varint: at most 9 bytes, the ninth taken whole.
  auto varint = [&](uint64_t* v) -> bool {
    uint64_t x = 0;
    for (int shift = 0;; shift += 7) {
      if (i >= n) return false;
      const uint64_t c = b[i++];
      if (c < 0x80 || shift == 56) {
        *v = x | c << shift;
        return true;
      }
      x |= (c & 0x7f) << shift;
    }
  };
  auto next = [&]() -> bool {
    if (i >= n) return false;
    header = b[i++];
    return true;
  };
  for (uint8_t field = 0; field <= 6; field++) {
    if (field == 2) {
      if (header == 2 || header == (2 | kColferFlag)) {
        uint64_t v;
        if (!varint(&v) || v > 0xffffffffu) return false;
        const uint32_t m = static_cast<uint32_t>(v);
        out->type = static_cast<int32_t>(header == 2 ? m : 0u - m);
        if (!next()) return false;
      }
      continue;
    }
    if (header == field) {
      uint64_t v;
      if (!varint(&v)) return false;
      if (field == 0) out->term = v;
      if (field == 1) out->index = v;
      if (!next()) return false;
    } else if (header == (field | kColferFlag)) {
      if (n - i < 8) return false;
      uint64_t v = 0;
      for (int k = 0; k < 8; k++) v = v << 8 | b[i + k];
      i += 8;
      if (field == 0) out->term = v;
      if (field == 1) out->index = v;
      if (!next()) return false;
    }
  }
  if (header == 7) {
    uint64_t len;
    if (!varint(&len) || len > n - i) return false;
    i += static_cast<size_t>(len);
    if (!next()) return false;
  }
  return header == kColferEnd && i == n;
}

}  // namespace

size_t EncodeEmptyEntry(uint64_t index, uint64_t term, uint8_t* out) {
  uint8_t* o = PutColferU64(out, 0, term);
  o = PutColferU64(o, 1, index);
  *o++ = kColferEnd;
  return static_cast<size_t>(o - out);
}

SuffixResult RunSuffixFrames(const SuffixRun& run, SuffixState& st) {
  SuffixResult r;
  const bool write = run.out != nullptr;
  size_t at = 0;
  uint8_t* out = run.out;
  uint8_t empty[kEmptyEntryMax];
  for (;;) {
    if (run.len - at < kFrameHead) {
      r.stop = SuffixStop::kMore;
      break;
    }
    const uint8_t* f = run.data + at;
    const uint32_t length = U32le(f);
    if (length > kMaxPayload) {
      r.stop = SuffixStop::kFrame;
      break;
    }
    if (run.len - at - kFrameHead < length) {
      r.stop = SuffixStop::kMore;
      break;
    }
    const uint32_t crc = U32le(f + 4);
    // The reader's order: CRC, kind, shape, then the validator's rules, then the entry's own head.
    if (Crc32c(0, f + 8, size_t{1} + length) != crc || f[8] != kEntryKind || length < 16) {
      r.stop = SuffixStop::kFrame;
      break;
    }
    const uint8_t* payload = f + kFrameHead;
    const uint64_t index = U64le(payload);
    const uint64_t term = U64le(payload + 8);
    if (index != st.next || index > st.lastIndex || term < st.lastTerm) {
      r.stop = SuffixStop::kFrame;
      break;
    }
    const uint8_t* value = payload + 16;
    size_t valueLen = length - 16;
    bool neutralize;
    if (write) {
      if (st.count >= run.capacity || run.crcs[st.count] != crc) {
        // Another frame than the first pass read there: the caller reports the change.
        r.stop = SuffixStop::kFrame;
        break;
      }
      neutralize = run.changes[st.count] != 0;
    } else {
      EntryHead head;
      if (!ScanEntryHead(value, valueLen, &head) || head.index != index || head.term != term) {
        r.stop = SuffixStop::kFrame;
        break;
      }
      neutralize = head.type == kConfigChange;
    }
    if (neutralize) {
      valueLen = EncodeEmptyEntry(index, term, empty);
      value = empty;
    }
    if (write) {
      const size_t need =
          1 + UvarintSize(run.keyPrefixLen + 8) + run.keyPrefixLen + 8 + UvarintSize(valueLen) + valueLen;
      if (run.outCap - static_cast<size_t>(out - run.out) < need) {
        r.stop = SuffixStop::kFull;
        break;
      }
      *out++ = 1;
      out = PutUvarint(out, run.keyPrefixLen + 8);
      if (run.keyPrefixLen > 0) std::memcpy(out, run.keyPrefix, run.keyPrefixLen);
      out += run.keyPrefixLen;
      for (int s = 56; s >= 0; s -= 8) *out++ = static_cast<uint8_t>(index >> s);
      out = PutUvarint(out, valueLen);
      std::memcpy(out, value, valueLen);
      out += valueLen;
    } else {
      if (st.count >= run.capacity) {
        r.stop = SuffixStop::kFull;
        break;
      }
      run.terms[st.count] = term;
      run.crcs[st.count] = crc;
      run.changes[st.count] = neutralize ? 1 : 0;
      r.valueBytes += UvarintSize(valueLen) + valueLen;
    }
    if (neutralize) {
      r.neutralized.push_back(index);
      r.neutralized.push_back(term);
    }
    st.next = index + 1;
    st.lastTerm = term;
    st.count++;
    at += kFrameHead + length;
  }
  r.consumed = at;
  r.outBytes = write ? static_cast<size_t>(out - run.out) : 0;
  return r;
}

}  // namespace nodehost
