package harness

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"

	pb "github.com/lni/dragonboat/v4/raftpb"
)

// LogSuffixFilename is the suffix file inside an export (docs/log-suffix.md).
const LogSuffixFilename = "log-suffix.nhlog"

// LogSuffix is a log-suffix.nhlog read by this harness's own reader
// (docs/log-suffix.md), independent of the TypeScript one; each entry's
// bytes are decoded by Dragonboat's own pb.Entry.
type LogSuffix struct {
	ShardID, ReplicaID                  uint64
	SnapshotIndex, SnapshotTerm         uint64
	FirstIndex, LastIndex, EntryCount   uint64
	SurvivorTerm, SurvivorCommit        uint64
	SurvivorAddress, SurvivorDir        string
	Entries                             []pb.Entry
	EndCount, EndLastIndex, EndLastTerm uint64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ReadLogSuffix reads and checks the whole file: magic, frame CRCs, one
// header, contiguous entries whose protobuf index/term equal the frame's,
// one end frame that agrees, nothing after it.
func ReadLogSuffix(path string) (*LogSuffix, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte("NHLOGSFX")) {
		return nil, fmt.Errorf("%s: no NHLOGSFX magic", path)
	}
	s := &LogSuffix{}
	at := 8
	header, end := false, false
	for at < len(data) {
		if end {
			return nil, fmt.Errorf("%s: bytes after the end frame at %d", path, at)
		}
		if at+9 > len(data) {
			return nil, fmt.Errorf("%s: truncated frame head at %d", path, at)
		}
		n := int(binary.LittleEndian.Uint32(data[at:]))
		crc := binary.LittleEndian.Uint32(data[at+4:])
		kind := data[at+8]
		if at+9+n > len(data) {
			return nil, fmt.Errorf("%s: truncated frame at %d", path, at)
		}
		p := data[at+9 : at+9+n]
		if got := crc32.Update(crc32.Checksum([]byte{kind}, castagnoli), castagnoli, p); got != crc {
			return nil, fmt.Errorf("%s: frame at %d: CRC %08x, stored %08x", path, at, got, crc)
		}
		u := func(i int) uint64 { return binary.LittleEndian.Uint64(p[i:]) }
		switch kind {
		case 1:
			if header || n < 4+9*8+4 {
				return nil, fmt.Errorf("%s: unexpected or short header at %d", path, at)
			}
			header = true
			if v := binary.LittleEndian.Uint32(p); v != 1 {
				return nil, fmt.Errorf("%s: version %d", path, v)
			}
			s.ShardID, s.ReplicaID, s.SnapshotIndex, s.SnapshotTerm = u(4), u(12), u(20), u(28)
			s.FirstIndex, s.LastIndex, s.EntryCount = u(36), u(44), u(52)
			s.SurvivorTerm, s.SurvivorCommit = u(60), u(68)
			o := 76
			str := func() string {
				l := int(binary.LittleEndian.Uint16(p[o:]))
				v := string(p[o+2 : o+2+l])
				o += 2 + l
				return v
			}
			s.SurvivorAddress = str()
			s.SurvivorDir = str()
		case 2:
			if !header || n < 16 {
				return nil, fmt.Errorf("%s: entry frame at %d before the header or short", path, at)
			}
			var e pb.Entry
			if err := e.Unmarshal(p[16:]); err != nil {
				return nil, fmt.Errorf("%s: entry at %d: %w", path, at, err)
			}
			if e.Index != u(0) || e.Term != u(8) {
				return nil, fmt.Errorf("%s: frame %d/%d holds entry %d/%d", path, u(0), u(8), e.Index, e.Term)
			}
			if want := s.FirstIndex + uint64(len(s.Entries)); e.Index != want {
				return nil, fmt.Errorf("%s: entry %d where %d was due", path, e.Index, want)
			}
			s.Entries = append(s.Entries, e)
		case 3:
			if !header || n != 24 {
				return nil, fmt.Errorf("%s: bad end frame at %d", path, at)
			}
			end = true
			s.EndCount, s.EndLastIndex, s.EndLastTerm = u(0), u(8), u(16)
		default:
			return nil, fmt.Errorf("%s: frame kind %d at %d", path, kind, at)
		}
		at += 9 + n
	}
	if !end {
		return nil, fmt.Errorf("%s: no end frame", path)
	}
	count := uint64(len(s.Entries))
	if s.FirstIndex != s.SnapshotIndex+1 || count != s.EntryCount || count != s.EndCount ||
		(count > 0 && (s.LastIndex != s.FirstIndex+count-1 || s.EndLastIndex != s.LastIndex ||
			s.EndLastTerm != s.Entries[count-1].Term)) {
		return nil, fmt.Errorf("%s: header %+v disagrees with %d entries", path, *s, count)
	}
	return s, nil
}

// Entry returns the suffix entry at index (nil if outside the suffix).
func (s *LogSuffix) Entry(index uint64) *pb.Entry {
	if index < s.FirstIndex || index > s.LastIndex {
		return nil
	}
	return &s.Entries[index-s.FirstIndex]
}

// IsEmptyEntry reports Dragonboat's empty entry of index/term: an
// Application entry with no key, client, series, responded-to or payload
// (what the import writes in place of a config change, docs/log-suffix.md).
func IsEmptyEntry(e pb.Entry, index, term uint64) bool {
	return e.Index == index && e.Term == term && e.Type == pb.ApplicationEntry && e.Key == 0 &&
		e.ClientID == 0 && e.SeriesID == 0 && e.RespondedTo == 0 && len(e.Cmd) == 0
}

// EntryWrite decodes the sm.Set proposal an entry carries: the payload of
// an Application entry, or of an Encoded one in Dragonboat v4's V0 layout
// without compression or session (a 1-byte header of 0, what a NoOP-session
// proposal with the default entry compression is). ok is false for anything else.
func EntryWrite(e pb.Entry) (key, value string, ok bool) {
	var payload []byte
	switch {
	case e.Type == pb.ApplicationEntry:
		payload = e.Cmd
	case e.Type == pb.EncodedEntry && len(e.Cmd) > 1 && e.Cmd[0] == 0:
		payload = e.Cmd[1:]
	default:
		return "", "", false
	}
	k, v, found := bytes.Cut(payload, []byte("="))
	if !found || len(k) == 0 {
		return "", "", false
	}
	return string(k), string(v), true
}
