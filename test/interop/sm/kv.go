// Package sm holds the small deterministic state machines the interop
// harness runs under Dragonboat: a regular in-memory KV (optionally with a
// large padded snapshot and external snapshot files) and an on-disk KV.
package sm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	dsm "github.com/lni/dragonboat/v4/statemachine"
)

// Query asks a state machine for its whole state.
type Query struct{}

// State is what a Query returns: the KV pairs and the index of the last
// applied proposal (0 if none).
type State struct {
	LastIndex uint64            `json:"lastIndex"`
	KV        map[string]string `json:"kv"`
}

// Set encodes a proposal that sets key to value.
func Set(key, value string) []byte { return []byte(key + "=" + value) }

func parseSet(cmd []byte) (string, string, error) {
	k, v, ok := strings.Cut(string(cmd), "=")
	if !ok {
		return "", "", fmt.Errorf("bad command %q", cmd)
	}
	return k, v, nil
}

// PaddingKind selects what fills a padded snapshot.
type PaddingKind int

const (
	// RandomPadding is incompressible pseudo-random bytes.
	RandomPadding PaddingKind = iota
	// TextPadding is repetitive text (compresses well, for Snappy).
	TextPadding
)

// KVOptions shape the snapshots a KV writes.
type KVOptions struct {
	// Padding bytes appended to every snapshot (and checked on recovery), to
	// make multi-block snapshot files of a chosen size.
	Padding     int64
	PaddingKind PaddingKind
	// ExternalFiles is the number of external snapshot files added through
	// ISnapshotFileCollection; they are written under ScratchDir, which must be
	// on the same file system as the NodeHost directory (Dragonboat hard-links them).
	ExternalFiles int
	ScratchDir    string
}

// KV is a regular (in-memory) Dragonboat state machine.
type KV struct {
	shardID, replicaID uint64
	opts               KVOptions
	state              State
	snapshots          int
}

// NewKV returns a factory for dragonboat's StartReplica.
func NewKV(opts KVOptions) dsm.CreateStateMachineFunc {
	return func(shardID, replicaID uint64) dsm.IStateMachine {
		return &KV{shardID: shardID, replicaID: replicaID, opts: opts,
			state: State{KV: map[string]string{}}}
	}
}

// Update applies one proposal.
func (s *KV) Update(e dsm.Entry) (dsm.Result, error) {
	k, v, err := parseSet(e.Cmd)
	if err != nil {
		return dsm.Result{}, err
	}
	s.state.KV[k] = v
	s.state.LastIndex = e.Index
	return dsm.Result{Value: uint64(len(s.state.KV))}, nil
}

// Lookup returns a copy of the whole state for a Query.
func (s *KV) Lookup(q interface{}) (interface{}, error) {
	if _, ok := q.(Query); !ok {
		return nil, fmt.Errorf("unknown query %T", q)
	}
	return copyState(s.state), nil
}

func copyState(st State) State {
	out := State{LastIndex: st.LastIndex, KV: make(map[string]string, len(st.KV))}
	for k, v := range st.KV {
		out.KV[k] = v
	}
	return out
}

// SaveSnapshot writes len(json) || json || padding, and the external files.
func (s *KV) SaveSnapshot(w io.Writer, fc dsm.ISnapshotFileCollection, _ <-chan struct{}) error {
	if err := writeState(w, s.state); err != nil {
		return err
	}
	if err := writePadding(w, s.opts.Padding, s.opts.PaddingKind); err != nil {
		return err
	}
	s.snapshots++
	for i := 1; i <= s.opts.ExternalFiles; i++ {
		fp := filepath.Join(s.opts.ScratchDir,
			fmt.Sprintf("ext-%d-%d-%d-%d", s.shardID, s.replicaID, s.snapshots, i))
		if err := os.MkdirAll(s.opts.ScratchDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(fp, ExternalFileContent(i, s.state.LastIndex), 0o640); err != nil {
			return err
		}
		fc.AddFile(uint64(i), fp, []byte(fmt.Sprintf("meta-%d", i)))
	}
	return nil
}

// ExternalFileContent is the content of external file id for a snapshot at index.
func ExternalFileContent(id int, index uint64) []byte {
	return []byte(strings.Repeat(fmt.Sprintf("external file %d of snapshot %d\n", id, index), 64))
}

// RecoverFromSnapshot reads what SaveSnapshot wrote and checks the padding
// and the external files.
func (s *KV) RecoverFromSnapshot(r io.Reader, files []dsm.SnapshotFile, _ <-chan struct{}) error {
	st, err := readState(r)
	if err != nil {
		return err
	}
	if err := checkPadding(r, s.opts.Padding, s.opts.PaddingKind); err != nil {
		return err
	}
	if len(files) != s.opts.ExternalFiles {
		return fmt.Errorf("%d external files, want %d", len(files), s.opts.ExternalFiles)
	}
	for _, f := range files {
		got, err := os.ReadFile(f.Filepath)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, ExternalFileContent(int(f.FileID), st.LastIndex)) {
			return fmt.Errorf("external file %d has unexpected content", f.FileID)
		}
	}
	s.state = st
	return nil
}

// Close implements IStateMachine.
func (s *KV) Close() error { return nil }

func writeState(w io.Writer, st State) error {
	// encoding/json sorts map keys, so the snapshot bytes are deterministic.
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(data)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

func readState(r io.Reader) (State, error) {
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return State{}, err
	}
	size := binary.LittleEndian.Uint64(n[:])
	if size > 64<<20 {
		return State{}, fmt.Errorf("state of %d bytes", size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return State{}, err
	}
	st := State{}
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, err
	}
	if st.KV == nil {
		st.KV = map[string]string{}
	}
	return st, nil
}

// paddingReader yields the deterministic padding stream.
type paddingReader struct {
	kind PaddingKind
	x    uint64
	line int
	buf  []byte
}

func newPadding(kind PaddingKind) *paddingReader {
	return &paddingReader{kind: kind, x: 0x9E3779B97F4A7C15}
}

func (p *paddingReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		if len(p.buf) == 0 {
			p.refill()
		}
		c := copy(b[n:], p.buf)
		p.buf = p.buf[c:]
		n += c
	}
	return n, nil
}

func (p *paddingReader) refill() {
	if p.kind == TextPadding {
		p.line++
		p.buf = []byte(fmt.Sprintf("padding line %08d: the quick brown fox jumps over the lazy dog\n", p.line))
		return
	}
	buf := make([]byte, 4096)
	for i := 0; i < len(buf); i += 8 {
		// xorshift64*: fast, deterministic, incompressible enough.
		p.x ^= p.x >> 12
		p.x ^= p.x << 25
		p.x ^= p.x >> 27
		binary.LittleEndian.PutUint64(buf[i:], p.x*2685821657736338717)
	}
	p.buf = buf
}

func writePadding(w io.Writer, size int64, kind PaddingKind) error {
	if size == 0 {
		return nil
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := io.CopyN(bw, newPadding(kind), size); err != nil {
		return err
	}
	return bw.Flush()
}

func checkPadding(r io.Reader, size int64, kind PaddingKind) error {
	if size == 0 {
		return nil
	}
	want := sha256.New()
	if _, err := io.CopyN(want, newPadding(kind), size); err != nil {
		return err
	}
	got := sha256.New()
	n, err := io.CopyN(got, r, size)
	if err != nil {
		return fmt.Errorf("padding: read %d of %d bytes: %w", n, size, err)
	}
	if !bytes.Equal(want.Sum(nil), got.Sum(nil)) {
		return errors.New("padding content differs")
	}
	return nil
}

// SortedKeys returns the keys of m in order (for messages).
func SortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
