package leveldblogdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

// partition is one LevelDB database (logdb-<p>) with the small per-node
// caches Dragonboat's own store keeps. The caches are not an optimisation
// only: trySaveSnapshot stops an older snapshot from lowering max index.
type partition struct {
	db *leveldb.DB
	wo *opt.WriteOptions

	mu            sync.Mutex
	states        map[raftio.NodeInfo]pb.State
	maxIndex      map[raftio.NodeInfo]uint64
	snapshotIndex map[raftio.NodeInfo]uint64
}

func openPartition(dir string) (*partition, error) {
	db, err := leveldb.OpenFile(dir, nil)
	if err != nil {
		return nil, fmt.Errorf("open LevelDB %s: %w", dir, err)
	}
	return &partition{
		db:            db,
		wo:            &opt.WriteOptions{Sync: true},
		states:        map[raftio.NodeInfo]pb.State{},
		maxIndex:      map[raftio.NodeInfo]uint64{},
		snapshotIndex: map[raftio.NodeInfo]uint64{},
	}, nil
}

func (p *partition) close() error { return p.db.Close() }

// iterate visits keys in [fk, lk] (inclusive) or [fk, lk) until op returns false.
func (p *partition) iterate(fk, lk []byte, inclusive bool,
	op func(key, value []byte) (bool, error)) error {
	it := p.db.NewIterator(&util.Range{Start: fk}, nil)
	defer it.Release()
	for ok := it.First(); ok; ok = it.Next() {
		c := bytes.Compare(it.Key(), lk)
		if c > 0 || (c == 0 && !inclusive) {
			break
		}
		cont, err := op(it.Key(), it.Value())
		if err != nil {
			return err
		}
		if !cont {
			break
		}
	}
	return it.Error()
}

// get returns the value or nil when the key is absent.
func (p *partition) get(key []byte) ([]byte, error) {
	v, err := p.db.Get(key, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

func (p *partition) commit(wb *leveldb.Batch) error {
	if wb.Len() == 0 {
		return nil
	}
	return p.db.Write(wb, p.wo)
}

func ni(shardID, replicaID uint64) raftio.NodeInfo {
	return raftio.NodeInfo{ShardID: shardID, ReplicaID: replicaID}
}

// --- caches (same semantics as Dragonboat's internal/logdb/cache.go) -------

func (p *partition) cacheState(shardID, replicaID uint64, st pb.State) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := ni(shardID, replicaID)
	if v, ok := p.states[k]; ok && pb.IsStateEqual(v, st) {
		return false
	}
	p.states[k] = st
	return true
}

func (p *partition) trySaveSnapshot(shardID, replicaID, index uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := ni(shardID, replicaID)
	v, ok := p.snapshotIndex[k]
	if !ok {
		p.snapshotIndex[k] = index
		return true
	}
	return index > v
}

func (p *partition) setSnapshotIndex(shardID, replicaID, index uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.snapshotIndex[ni(shardID, replicaID)] = index
}

func (p *partition) setCachedMaxIndex(shardID, replicaID, index uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maxIndex[ni(shardID, replicaID)] = index
}

func (p *partition) cachedMaxIndex(shardID, replicaID uint64) (uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.maxIndex[ni(shardID, replicaID)]
	return v, ok
}

// --- records ------------------------------------------------------------------

func (p *partition) listNodeInfo() ([]raftio.NodeInfo, error) {
	out := []raftio.NodeInfo{}
	err := p.iterate(BootstrapKey(0, 0), BootstrapKey(math.MaxUint64, math.MaxUint64), true,
		func(k, _ []byte) (bool, error) {
			pk, err := ParseKey(k)
			if err != nil {
				return false, err
			}
			out = append(out, ni(pk.ShardID, pk.ReplicaID))
			return true, nil
		})
	return out, err
}

func (p *partition) saveBootstrapInfo(shardID, replicaID uint64, bs pb.Bootstrap) error {
	wb := new(leveldb.Batch)
	wb.Put(BootstrapKey(shardID, replicaID), pb.MustMarshal(&bs))
	return p.commit(wb)
}

func (p *partition) getBootstrapInfo(shardID, replicaID uint64) (pb.Bootstrap, error) {
	v, err := p.get(BootstrapKey(shardID, replicaID))
	if err != nil {
		return pb.Bootstrap{}, err
	}
	if len(v) == 0 {
		return pb.Bootstrap{}, raftio.ErrNoBootstrapInfo
	}
	var bs pb.Bootstrap
	if err := bs.Unmarshal(v); err != nil {
		return pb.Bootstrap{}, err
	}
	return bs, nil
}

func (p *partition) listSnapshots(shardID, replicaID, upTo uint64) ([]pb.Snapshot, error) {
	out := []pb.Snapshot{}
	err := p.iterate(SnapshotKey(shardID, replicaID, 0), SnapshotKey(shardID, replicaID, upTo), true,
		func(_, v []byte) (bool, error) {
			var ss pb.Snapshot
			if err := ss.Unmarshal(v); err != nil {
				return false, err
			}
			out = append(out, ss)
			return true, nil
		})
	return out, err
}

// putSnapshot records ss and deletes every older snapshot record of the node.
func (p *partition) putSnapshot(wb *leveldb.Batch, shardID, replicaID uint64, ss pb.Snapshot) error {
	if pb.IsEmptySnapshot(ss) {
		return nil
	}
	existing, err := p.listSnapshots(shardID, replicaID, math.MaxUint64)
	if err != nil {
		return err
	}
	for _, old := range existing {
		if ss.Index > old.Index {
			wb.Delete(SnapshotKey(shardID, replicaID, old.Index))
		}
	}
	wb.Put(SnapshotKey(shardID, replicaID, ss.Index), pb.MustMarshal(&ss))
	return nil
}

func putMaxIndex(wb *leveldb.Batch, shardID, replicaID, index uint64) {
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, index)
	wb.Put(MaxIndexKey(shardID, replicaID), v)
}

func (p *partition) getMaxIndex(shardID, replicaID uint64) (uint64, error) {
	if v, ok := p.cachedMaxIndex(shardID, replicaID); ok {
		return v, nil
	}
	v, err := p.get(MaxIndexKey(shardID, replicaID))
	if err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return 0, raftio.ErrNoSavedLog
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("max index value of %d bytes", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func (p *partition) getState(shardID, replicaID uint64) (pb.State, error) {
	v, err := p.get(StateKey(shardID, replicaID))
	if err != nil {
		return pb.State{}, err
	}
	if len(v) == 0 {
		return pb.State{}, raftio.ErrNoSavedLog
	}
	var st pb.State
	if err := st.Unmarshal(v); err != nil {
		return pb.State{}, err
	}
	return st, nil
}

func (p *partition) saveRaftState(updates []pb.Update) error {
	wb := new(leveldb.Batch)
	for _, ud := range updates {
		if !pb.IsEmptyState(ud.State) && p.cacheState(ud.ShardID, ud.ReplicaID, ud.State) {
			wb.Put(StateKey(ud.ShardID, ud.ReplicaID), pb.MustMarshal(&ud.State))
		}
		if !pb.IsEmptySnapshot(ud.Snapshot) &&
			p.trySaveSnapshot(ud.ShardID, ud.ReplicaID, ud.Snapshot.Index) {
			if n := len(ud.EntriesToSave); n > 0 && ud.Snapshot.Index > ud.EntriesToSave[n-1].Index {
				return fmt.Errorf("snapshot index %d beyond last entry %d",
					ud.Snapshot.Index, ud.EntriesToSave[n-1].Index)
			}
			if err := p.putSnapshot(wb, ud.ShardID, ud.ReplicaID, ud.Snapshot); err != nil {
				return err
			}
			p.setCachedMaxIndex(ud.ShardID, ud.ReplicaID, ud.Snapshot.Index)
			putMaxIndex(wb, ud.ShardID, ud.ReplicaID, ud.Snapshot.Index)
		}
	}
	for _, ud := range updates {
		if len(ud.EntriesToSave) == 0 {
			continue
		}
		maxIndex := uint64(0)
		for i := range ud.EntriesToSave {
			e := &ud.EntriesToSave[i]
			data, err := e.Marshal()
			if err != nil {
				return err
			}
			wb.Put(EntryKey(ud.ShardID, ud.ReplicaID, e.Index), data)
			if e.Index > maxIndex {
				maxIndex = e.Index
			}
		}
		if maxIndex > 0 {
			p.setCachedMaxIndex(ud.ShardID, ud.ReplicaID, maxIndex)
			putMaxIndex(wb, ud.ShardID, ud.ReplicaID, maxIndex)
		}
	}
	return p.commit(wb)
}

func (p *partition) saveSnapshots(updates []pb.Update) error {
	wb := new(leveldb.Batch)
	for _, ud := range updates {
		if !pb.IsEmptySnapshot(ud.Snapshot) &&
			p.trySaveSnapshot(ud.ShardID, ud.ReplicaID, ud.Snapshot.Index) {
			if err := p.putSnapshot(wb, ud.ShardID, ud.ReplicaID, ud.Snapshot); err != nil {
				return err
			}
		}
	}
	return p.commit(wb)
}

func (p *partition) getSnapshot(shardID, replicaID uint64) (pb.Snapshot, error) {
	all, err := p.listSnapshots(shardID, replicaID, math.MaxUint64)
	if err != nil || len(all) == 0 {
		return pb.Snapshot{}, err
	}
	ss := all[len(all)-1]
	p.setSnapshotIndex(shardID, replicaID, ss.Index)
	return ss, nil
}

func (p *partition) getEntry(shardID, replicaID, index uint64) (pb.Entry, error) {
	v, err := p.get(EntryKey(shardID, replicaID, index))
	if err != nil {
		return pb.Entry{}, err
	}
	var e pb.Entry
	if err := e.Unmarshal(v); err != nil {
		return pb.Entry{}, fmt.Errorf("entry %d: %w", index, err)
	}
	return e, nil
}

func (p *partition) iterateEntries(ents []pb.Entry, size uint64,
	shardID, replicaID, low, high, maxSize uint64) ([]pb.Entry, uint64, error) {
	maxIndex, err := p.getMaxIndex(shardID, replicaID)
	if errors.Is(err, raftio.ErrNoSavedLog) {
		return ents, size, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if low+1 == high && low <= maxIndex {
		e, err := p.getEntry(shardID, replicaID, low)
		if err != nil {
			return nil, 0, err
		}
		return append(ents, e), size + uint64(e.SizeUpperLimit()), nil
	}
	if high > maxIndex+1 {
		high = maxIndex + 1
	}
	expected := low
	err = p.iterate(EntryKey(shardID, replicaID, low), EntryKey(shardID, replicaID, high), false,
		func(_, v []byte) (bool, error) {
			var e pb.Entry
			if err := e.Unmarshal(v); err != nil {
				return false, err
			}
			if e.Index != expected {
				return false, nil
			}
			size += uint64(e.SizeUpperLimit())
			ents = append(ents, e)
			expected++
			return size <= maxSize, nil
		})
	if err != nil {
		return nil, 0, err
	}
	return ents, size, nil
}

// getRange returns the first entry index to replay and the entry count,
// reading the first entry key at or after snapshotIndex (docs/formats.md §5).
func (p *partition) getRange(shardID, replicaID, snapshotIndex uint64) (uint64, uint64, error) {
	maxIndex, err := p.getMaxIndex(shardID, replicaID)
	if errors.Is(err, raftio.ErrNoSavedLog) {
		return snapshotIndex, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if snapshotIndex == maxIndex {
		return snapshotIndex, 0, nil
	}
	first := uint64(0)
	err = p.iterate(EntryKey(shardID, replicaID, snapshotIndex), EntryKey(shardID, replicaID, maxIndex), true,
		func(_, v []byte) (bool, error) {
			var e pb.Entry
			if err := e.Unmarshal(v); err != nil {
				return false, err
			}
			first = e.Index
			return false, nil
		})
	if err != nil {
		return 0, 0, err
	}
	if first == 0 {
		if maxIndex != 0 {
			return 0, 0, fmt.Errorf("no entry in [%d, %d] although max index is %d",
				snapshotIndex, maxIndex, maxIndex)
		}
		return 0, 0, nil
	}
	return first, maxIndex - first + 1, nil
}

func (p *partition) readRaftState(shardID, replicaID, snapshotIndex uint64) (raftio.RaftState, error) {
	first, n, err := p.getRange(shardID, replicaID, snapshotIndex)
	if err != nil {
		return raftio.RaftState{}, err
	}
	st, err := p.getState(shardID, replicaID)
	if err != nil {
		return raftio.RaftState{}, err
	}
	return raftio.RaftState{State: st, FirstIndex: first, EntryCount: n}, nil
}

// removeEntries deletes the node's entry keys in [entry(0), entry(index)),
// the range Dragonboat's plain store hands to BulkRemoveEntries (LevelDB has
// no range delete, so the keys are deleted one by one in one batch).
func (p *partition) removeEntries(shardID, replicaID, index uint64) error {
	wb := new(leveldb.Batch)
	err := p.iterate(EntryKey(shardID, replicaID, 0), EntryKey(shardID, replicaID, index), false,
		func(k, _ []byte) (bool, error) {
			wb.Delete(append([]byte(nil), k...))
			return true, nil
		})
	if err != nil {
		return err
	}
	return p.commit(wb)
}

func (p *partition) compactEntries(shardID, replicaID, index uint64) error {
	return p.db.CompactRange(util.Range{
		Start: EntryKey(shardID, replicaID, 0),
		Limit: EntryKey(shardID, replicaID, index),
	})
}

// deleteNodeRecords adds the deletes of Dragonboat's saveRemoveNodeData.
func deleteNodeRecords(wb *leveldb.Batch, snapshots []pb.Snapshot, shardID, replicaID uint64) {
	wb.Delete(StateKey(shardID, replicaID))
	wb.Delete(BootstrapKey(shardID, replicaID))
	wb.Delete(MaxIndexKey(shardID, replicaID))
	for _, ss := range snapshots {
		wb.Delete(SnapshotKey(shardID, replicaID, ss.Index))
	}
}

func (p *partition) removeNodeData(shardID, replicaID uint64) error {
	snapshots, err := p.listSnapshots(shardID, replicaID, math.MaxUint64)
	if err != nil {
		return err
	}
	wb := new(leveldb.Batch)
	deleteNodeRecords(wb, snapshots, shardID, replicaID)
	if err := p.commit(wb); err != nil {
		return err
	}
	p.setCachedMaxIndex(shardID, replicaID, 0)
	return p.removeEntries(shardID, replicaID, math.MaxUint64)
}

// importSnapshot is Dragonboat's db.importSnapshot: one batch that drops the
// node's state, bootstrap, max index and snapshot records and writes the
// imported ones. Entries are left in place, as the reference does.
func (p *partition) importSnapshot(ss pb.Snapshot, replicaID uint64) error {
	if ss.Type == pb.UnknownStateMachine {
		return errors.New("unknown state machine type")
	}
	all, err := p.listSnapshots(ss.ShardID, replicaID, math.MaxUint64)
	if err != nil {
		return err
	}
	var newer []pb.Snapshot
	for _, cur := range all {
		if cur.Index >= ss.Index {
			newer = append(newer, cur)
		}
	}
	wb := new(leveldb.Batch)
	deleteNodeRecords(wb, newer, ss.ShardID, replicaID)
	bs := pb.Bootstrap{Join: true, Type: ss.Type}
	wb.Put(BootstrapKey(ss.ShardID, replicaID), pb.MustMarshal(&bs))
	st := pb.State{Term: ss.Term, Commit: ss.Index}
	wb.Put(StateKey(ss.ShardID, replicaID), pb.MustMarshal(&st))
	if err := p.putSnapshot(wb, ss.ShardID, replicaID, ss); err != nil {
		return err
	}
	putMaxIndex(wb, ss.ShardID, replicaID, ss.Index)
	return p.commit(wb)
}
