package leveldblogdb

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// Name is the log store type name recorded in dragonboat.ds (docs/formats.md §4).
const Name = "sharded-leveldb"

// BinaryFormat is the plain-entries format (raftio.PlainLogDBBinVersion).
const BinaryFormat = raftio.PlainLogDBBinVersion

// Factory plugs the store into Dragonboat through
// config.NodeHostConfig.Expert.LogDBFactory.
type Factory struct{}

var _ config.LogDBFactory = Factory{}

// Create opens the store in dirs (one directory, or one per partition).
// lldirs (WALDir) are not used: LevelDB keeps its log next to its tables.
func (Factory) Create(cfg config.NodeHostConfig, _ config.LogDBCallback,
	dirs []string, _ []string) (raftio.ILogDB, error) {
	return Open(cfg, dirs)
}

// Name is the type name Dragonboat checks against dragonboat.ds.
func (Factory) Name() string { return Name }

// Store is the sharded LevelDB log store: partition p lives in <dir>/logdb-<p>.
type Store struct {
	parts       []*partition
	execShards  uint64
	logDBShards uint64

	compactMu sync.Mutex
	pending   map[raftio.NodeInfo]compaction
	wake      chan struct{}
	stop      chan struct{}
	stopped   sync.WaitGroup
}

var _ raftio.ILogDB = (*Store)(nil)

type compaction struct {
	index uint64
	done  chan struct{}
}

// Open opens (creating if needed) every partition of the store.
func Open(cfg config.NodeHostConfig, dirs []string) (*Store, error) {
	execShards := cfg.Expert.Engine.ExecShards
	logDBShards := cfg.Expert.LogDB.Shards
	if execShards == 0 {
		execShards = config.GetDefaultEngineConfig().ExecShards
	}
	if logDBShards == 0 {
		logDBShards = config.GetDefaultLogDBConfig().Shards
	}
	if len(dirs) != 1 && uint64(len(dirs)) != logDBShards {
		return nil, fmt.Errorf("%d dirs for %d partitions", len(dirs), logDBShards)
	}
	s := &Store{
		execShards:  execShards,
		logDBShards: logDBShards,
		pending:     map[raftio.NodeInfo]compaction{},
		wake:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
	}
	for i := uint64(0); i < logDBShards; i++ {
		dir := dirs[0]
		if len(dirs) > 1 {
			dir = dirs[i]
		}
		p, err := openPartition(filepath.Join(dir, PartitionDirName(i)))
		if err != nil {
			for _, q := range s.parts {
				_ = q.close()
			}
			return nil, err
		}
		s.parts = append(s.parts, p)
	}
	s.stopped.Add(1)
	go s.compactionWorker()
	return s, nil
}

func (s *Store) part(shardID uint64) *partition {
	return s.parts[Partition(shardID, s.execShards, s.logDBShards)]
}

// partOfUpdates returns the single partition all updates belong to.
func (s *Store) partOfUpdates(updates []pb.Update) (*partition, error) {
	var p *partition
	for _, ud := range updates {
		q := s.part(ud.ShardID)
		if p != nil && q != p {
			return nil, errors.New("updates span several partitions")
		}
		p = q
	}
	return p, nil
}

// Name implements raftio.ILogDB.
func (s *Store) Name() string { return Name }

// BinaryFormat implements raftio.ILogDB.
func (s *Store) BinaryFormat() uint32 { return BinaryFormat }

// Close stops the compaction worker and closes every partition.
func (s *Store) Close() error {
	close(s.stop)
	s.stopped.Wait()
	var first error
	for _, p := range s.parts {
		if err := p.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ListNodeInfo lists every node with a bootstrap record, in every partition.
func (s *Store) ListNodeInfo() ([]raftio.NodeInfo, error) {
	out := []raftio.NodeInfo{}
	for _, p := range s.parts {
		n, err := p.listNodeInfo()
		if err != nil {
			return nil, err
		}
		out = append(out, n...)
	}
	return out, nil
}

// SaveBootstrapInfo implements raftio.ILogDB.
func (s *Store) SaveBootstrapInfo(shardID, replicaID uint64, bs pb.Bootstrap) error {
	return s.part(shardID).saveBootstrapInfo(shardID, replicaID, bs)
}

// GetBootstrapInfo implements raftio.ILogDB.
func (s *Store) GetBootstrapInfo(shardID, replicaID uint64) (pb.Bootstrap, error) {
	return s.part(shardID).getBootstrapInfo(shardID, replicaID)
}

// SaveRaftState implements raftio.ILogDB; workerID is unused (no per-worker buffers).
func (s *Store) SaveRaftState(updates []pb.Update, workerID uint64) error {
	if len(updates) == 0 {
		return nil
	}
	p, err := s.partOfUpdates(updates)
	if err != nil {
		return err
	}
	return p.saveRaftState(updates)
}

// IterateEntries implements raftio.ILogDB.
func (s *Store) IterateEntries(ents []pb.Entry, size uint64,
	shardID, replicaID, low, high, maxSize uint64) ([]pb.Entry, uint64, error) {
	return s.part(shardID).iterateEntries(ents, size, shardID, replicaID, low, high, maxSize)
}

// ReadRaftState implements raftio.ILogDB.
func (s *Store) ReadRaftState(shardID, replicaID, snapshotIndex uint64) (raftio.RaftState, error) {
	return s.part(shardID).readRaftState(shardID, replicaID, snapshotIndex)
}

// RemoveEntriesTo implements raftio.ILogDB (removes entries below index).
func (s *Store) RemoveEntriesTo(shardID, replicaID, index uint64) error {
	return s.part(shardID).removeEntries(shardID, replicaID, index)
}

// CompactEntriesTo queues a LevelDB range compaction of the node's entries
// below index; the returned channel closes when it is done.
func (s *Store) CompactEntriesTo(shardID, replicaID, index uint64) (<-chan struct{}, error) {
	s.compactMu.Lock()
	k := ni(shardID, replicaID)
	c, ok := s.pending[k]
	if ok && c.index > index {
		s.compactMu.Unlock()
		return nil, fmt.Errorf("compaction to %d queued after one to %d", index, c.index)
	}
	if !ok {
		c.done = make(chan struct{})
	}
	c.index = index
	s.pending[k] = c
	s.compactMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return c.done, nil
}

func (s *Store) compactionWorker() {
	defer s.stopped.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		for {
			s.compactMu.Lock()
			var k raftio.NodeInfo
			var c compaction
			found := false
			for k, c = range s.pending {
				delete(s.pending, k)
				found = true
				break
			}
			s.compactMu.Unlock()
			if !found {
				break
			}
			if err := s.part(k.ShardID).compactEntries(k.ShardID, k.ReplicaID, c.index); err != nil {
				panic(fmt.Sprintf("compaction of %v failed: %v", k, err))
			}
			close(c.done)
			select {
			case <-s.stop:
				return
			default:
			}
		}
	}
}

// SaveSnapshots implements raftio.ILogDB.
func (s *Store) SaveSnapshots(updates []pb.Update) error {
	if len(updates) == 0 {
		return nil
	}
	p, err := s.partOfUpdates(updates)
	if err != nil {
		return err
	}
	return p.saveSnapshots(updates)
}

// GetSnapshot returns the node's newest snapshot record (empty if none).
func (s *Store) GetSnapshot(shardID, replicaID uint64) (pb.Snapshot, error) {
	return s.part(shardID).getSnapshot(shardID, replicaID)
}

// RemoveNodeData implements raftio.ILogDB.
func (s *Store) RemoveNodeData(shardID, replicaID uint64) error {
	return s.part(shardID).removeNodeData(shardID, replicaID)
}

// ImportSnapshot implements raftio.ILogDB with the reference semantics.
func (s *Store) ImportSnapshot(ss pb.Snapshot, replicaID uint64) error {
	return s.part(ss.ShardID).importSnapshot(ss, replicaID)
}
