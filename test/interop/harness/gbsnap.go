package harness

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"

	pb "github.com/lni/dragonboat/v4/raftpb"
)

// Snapshot file constants (docs/formats.md §3).
const (
	HeaderAreaSize = 1024
	BlockSize      = 2 * 1024 * 1024
	TailSize       = 16
)

// TailMagic ends every v2 snapshot file.
var TailMagic = []byte{0x3F, 0x5B, 0xCB, 0xF1, 0xFA, 0xBA, 0x81, 0x9F}

// SnapFile is an independent reading of a .gbsnap file, used to state and
// check format facts and to pick corruption offsets.
type SnapFile struct {
	Size         int64
	HeaderLen    uint64
	HeaderBytes  []byte
	Header       pb.SnapshotHeader
	HeaderCRC    [4]byte // the 4 bytes after the header
	RestIsZero   bool    // the remainder of the 1024-byte area is zero
	Blocks       []Block // v2 only
	TailTotal    uint64
	TailMagicOK  bool
	CRCOfCRCs    []byte // v2: CRC32 of the concatenated block CRCs (BE, as hash.Sum)
	AllBlocksOK  bool
	PayloadBytes int64 // v2: data bytes without CRCs
}

// Block is one v2 block: data at [Offset, Offset+Len), its CRC right after.
type Block struct {
	Offset int64
	Len    int64
	CRC    [4]byte
	OK     bool
}

// ReadSnapFile parses path.
func ReadSnapFile(path string) (*SnapFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < HeaderAreaSize {
		return nil, fmt.Errorf("%s: %d bytes, shorter than the header area", path, len(data))
	}
	f := &SnapFile{Size: int64(len(data))}
	f.HeaderLen = binary.LittleEndian.Uint64(data[:8])
	if f.HeaderLen > HeaderAreaSize-8-4 {
		return nil, fmt.Errorf("header length %d", f.HeaderLen)
	}
	f.HeaderBytes = data[8 : 8+f.HeaderLen]
	if err := f.Header.Unmarshal(f.HeaderBytes); err != nil {
		return nil, err
	}
	copy(f.HeaderCRC[:], data[8+f.HeaderLen:12+f.HeaderLen])
	f.RestIsZero = bytes.Count(data[12+f.HeaderLen:HeaderAreaSize], []byte{0}) == int(HeaderAreaSize-12-f.HeaderLen)
	if f.Header.Version != 2 {
		return f, nil
	}
	if len(data) < HeaderAreaSize+TailSize {
		return nil, fmt.Errorf("v2 file of %d bytes", len(data))
	}
	tail := data[len(data)-TailSize:]
	f.TailTotal = binary.LittleEndian.Uint64(tail[:8])
	f.TailMagicOK = bytes.Equal(tail[8:], TailMagic)
	body := data[HeaderAreaSize : len(data)-TailSize]
	h := crc32.NewIEEE()
	f.AllBlocksOK = true
	for off := int64(0); off < int64(len(body)); {
		n := int64(BlockSize)
		if rem := int64(len(body)) - off; rem < n+4 {
			n = rem - 4
		}
		if n <= 0 {
			return nil, fmt.Errorf("dangling %d bytes at %d", int64(len(body))-off, off)
		}
		b := Block{Offset: HeaderAreaSize + off, Len: n}
		copy(b.CRC[:], body[off+n:off+n+4])
		sum := crc32.ChecksumIEEE(body[off : off+n])
		b.OK = binary.BigEndian.Uint32(b.CRC[:]) == sum
		f.AllBlocksOK = f.AllBlocksOK && b.OK
		h.Write(b.CRC[:])
		f.PayloadBytes += n
		f.Blocks = append(f.Blocks, b)
		off += n + 4
	}
	f.CRCOfCRCs = h.Sum(nil)
	return f, nil
}

// HeaderChecksumOK reports header_checksum == CRC32 of the header encoded without field 5.
func (f *SnapFile) HeaderChecksumOK() bool {
	h := f.Header
	h.HeaderChecksum = nil
	data, err := h.Marshal()
	if err != nil {
		return false
	}
	return bytes.Equal(crc32IEEE(data), f.Header.HeaderChecksum)
}

func crc32IEEE(b []byte) []byte {
	h := crc32.NewIEEE()
	h.Write(b)
	return h.Sum(nil)
}

// V2FileSize is 1024 + P + 4*ceil(P/2MiB) + 16.
func V2FileSize(payload int64) int64 {
	blocks := (payload + BlockSize - 1) / BlockSize
	return HeaderAreaSize + payload + 4*blocks + TailSize
}
