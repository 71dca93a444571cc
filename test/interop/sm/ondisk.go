package sm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	dsm "github.com/lni/dragonboat/v4/statemachine"
)

// DiskKV is an IOnDiskStateMachine whose state is one JSON file under its
// data directory, rewritten atomically after every applied batch. Like any
// on-disk state machine it lives outside the NodeHost directory and is
// therefore never touched by an import.
type DiskKV struct {
	path string
	mu   sync.Mutex
	st   State
}

// NewDiskKV returns a factory for dragonboat's StartOnDiskReplica; each
// replica keeps its state in dataDir/kv-<shard>-<replica>.json.
func NewDiskKV(dataDir string) dsm.CreateOnDiskStateMachineFunc {
	return func(shardID, replicaID uint64) dsm.IOnDiskStateMachine {
		return &DiskKV{path: DiskKVPath(dataDir, shardID, replicaID), st: State{KV: map[string]string{}}}
	}
}

// DiskKVPath is where replica's on-disk state lives.
func DiskKVPath(dataDir string, shardID, replicaID uint64) string {
	return filepath.Join(dataDir, fmt.Sprintf("kv-%d-%d.json", shardID, replicaID))
}

// ReadDiskKV reads an on-disk state file (for assertions while stopped).
func ReadDiskKV(path string) (State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return State{}, err
	}
	st := State{}
	err = json.Unmarshal(data, &st)
	return st, err
}

// Open loads the persisted state and reports its last applied index.
func (s *DiskKV) Open(_ <-chan struct{}) (uint64, error) {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return 0, err
	}
	st, err := ReadDiskKV(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if st.KV == nil {
		st.KV = map[string]string{}
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return st.LastIndex, nil
}

func (s *DiskKV) persist() error {
	data, err := json.Marshal(s.st)
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// Update applies a batch and persists it.
func (s *DiskKV) Update(ents []dsm.Entry) ([]dsm.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range ents {
		k, v, err := parseSet(ents[i].Cmd)
		if err != nil {
			return nil, err
		}
		s.st.KV[k] = v
		s.st.LastIndex = ents[i].Index
		ents[i].Result = dsm.Result{Value: uint64(len(s.st.KV))}
	}
	return ents, s.persist()
}

// Lookup returns a copy of the whole state for a Query.
func (s *DiskKV) Lookup(q interface{}) (interface{}, error) {
	if _, ok := q.(Query); !ok {
		return nil, fmt.Errorf("unknown query %T", q)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyState(s.st), nil
}

// Sync implements IOnDiskStateMachine; every Update is already persisted.
func (s *DiskKV) Sync() error { return nil }

// PrepareSnapshot captures the state to stream.
func (s *DiskKV) PrepareSnapshot() (interface{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyState(s.st), nil
}

// SaveSnapshot writes the captured state.
func (s *DiskKV) SaveSnapshot(ctx interface{}, w io.Writer, _ <-chan struct{}) error {
	return writeState(w, ctx.(State))
}

// RecoverFromSnapshot replaces the on-disk state with the snapshot's.
func (s *DiskKV) RecoverFromSnapshot(r io.Reader, _ <-chan struct{}) error {
	st, err := readState(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	return s.persist()
}

// Close implements IOnDiskStateMachine.
func (s *DiskKV) Close() error { return nil }
