package leveldblogdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	cfg := config.NodeHostConfig{}
	cfg.Expert.Engine = config.GetDefaultEngineConfig()
	cfg.Expert.LogDB = config.GetDefaultLogDBConfig()
	s, err := Open(cfg, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func entries(term, from, to uint64) []pb.Entry {
	var out []pb.Entry
	for i := from; i <= to; i++ {
		out = append(out, pb.Entry{Term: term, Index: i, Cmd: []byte{byte(i)}})
	}
	return out
}

// rawKeys lists every key of one partition after the store is closed.
func rawKeys(t *testing.T, dir string, p uint64) map[string][]byte {
	t.Helper()
	db, err := leveldb.OpenFile(filepath.Join(dir, PartitionDirName(p)), &opt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]byte{}
	it := db.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		out[string(it.Key())] = append([]byte(nil), it.Value()...)
	}
	return out
}

func TestKeyLayout(t *testing.T) {
	want := []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x01, 0x02}
	if got := EntryKey(100, 2, 258); !bytes.Equal(got, want) {
		t.Fatalf("entry key % x", got)
	}
	if got := MaxIndexKey(100, 2); len(got) != 20 || got[0] != 3 || got[1] != 3 {
		t.Fatalf("max index key % x", got)
	}
	pk, err := ParseKey(SnapshotKey(7, 8, 9))
	if err != nil || pk.Header != HeaderSnapshot || pk.ShardID != 7 || pk.ReplicaID != 8 || pk.Index != 9 {
		t.Fatalf("parse %+v %v", pk, err)
	}
	if Partition(100, 16, 16) != 4 || Partition(5, 5, 3) != 2 {
		t.Fatal("partition formula")
	}
}

func TestSaveAndReplay(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	const shard, replica = 100, 1
	if _, err := s.GetBootstrapInfo(shard, replica); !errors.Is(err, raftio.ErrNoBootstrapInfo) {
		t.Fatalf("want ErrNoBootstrapInfo, got %v", err)
	}
	bs := pb.Bootstrap{Addresses: map[uint64]string{1: "a1", 2: "a2"}, Type: pb.RegularStateMachine}
	if err := s.SaveBootstrapInfo(shard, replica, bs); err != nil {
		t.Fatal(err)
	}
	ud := pb.Update{ShardID: shard, ReplicaID: replica,
		State: pb.State{Term: 2, Vote: 1, Commit: 5}, EntriesToSave: entries(2, 1, 10)}
	if err := s.SaveRaftState([]pb.Update{ud}, 1); err != nil {
		t.Fatal(err)
	}
	rs, err := s.ReadRaftState(shard, replica, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rs.FirstIndex != 1 || rs.EntryCount != 10 || rs.State.Commit != 5 {
		t.Fatalf("raft state %+v", rs)
	}
	got, _, err := s.IterateEntries(nil, 0, shard, replica, 3, 8, math.MaxUint64)
	if err != nil || len(got) != 5 || got[0].Index != 3 || got[4].Cmd[0] != 7 {
		t.Fatalf("iterate %v %v", got, err)
	}
	got, _, err = s.IterateEntries(nil, 0, shard, replica, 3, 8, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("maxSize not honoured: %d entries, %v", len(got), err)
	}
	// A snapshot at 6 rewrites max index, keeps entries, and is returned.
	ss := pb.Snapshot{ShardID: shard, Index: 6, Term: 2, Type: pb.RegularStateMachine,
		Membership: pb.Membership{Addresses: map[uint64]string{1: "a1"}}}
	if err := s.SaveSnapshots([]pb.Update{{ShardID: shard, ReplicaID: replica, Snapshot: ss}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveEntriesTo(shard, replica, 6); err != nil {
		t.Fatal(err)
	}
	done, err := s.CompactEntriesTo(shard, replica, 6)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	rs, err = s.ReadRaftState(shard, replica, 6)
	if err != nil || rs.FirstIndex != 6 || rs.EntryCount != 5 {
		t.Fatalf("after removal %+v %v", rs, err)
	}
	nis, err := s.ListNodeInfo()
	if err != nil || len(nis) != 1 || nis[0] != raftio.GetNodeInfo(shard, replica) {
		t.Fatalf("node info %v %v", nis, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: everything comes back from disk, not from the caches.
	s = openTest(t, dir)
	gs, err := s.GetSnapshot(shard, replica)
	if err != nil || gs.Index != 6 || gs.Membership.Addresses[1] != "a1" {
		t.Fatalf("snapshot %+v %v", gs, err)
	}
	gb, err := s.GetBootstrapInfo(shard, replica)
	if err != nil || gb.Addresses[2] != "a2" {
		t.Fatalf("bootstrap %+v %v", gb, err)
	}
	rs, err = s.ReadRaftState(shard, replica, 6)
	if err != nil || rs.FirstIndex != 6 || rs.EntryCount != 5 || rs.State.Vote != 1 {
		t.Fatalf("reopened %+v %v", rs, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	keys := rawKeys(t, dir, 4)
	if _, ok := keys[string(EntryKey(shard, replica, 5))]; ok {
		t.Fatal("entry 5 should be removed")
	}
	v, ok := keys[string(EntryKey(shard, replica, 6))]
	if !ok {
		t.Fatal("entry 6 missing from partition 4")
	}
	var e pb.Entry
	if err := e.Unmarshal(v); err != nil || e.Index != 6 {
		t.Fatalf("entry value %x: %v", v, err)
	}
	if mi := keys[string(MaxIndexKey(shard, replica))]; binary.BigEndian.Uint64(mi) != 10 {
		t.Fatalf("max index % x", mi)
	}
	for p := uint64(0); p < 16; p++ {
		if _, err := os.Stat(filepath.Join(dir, PartitionDirName(p))); err != nil {
			t.Fatalf("partition %d: %v", p, err)
		}
	}
}

func TestImportSnapshotLikeReference(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	const shard = 100
	ud := pb.Update{ShardID: shard, ReplicaID: 1,
		State: pb.State{Term: 3, Vote: 2, Commit: 20}, EntriesToSave: entries(3, 1, 20),
		Snapshot: pb.Snapshot{ShardID: shard, Index: 12, Term: 3, Type: pb.RegularStateMachine}}
	if err := s.SaveRaftState([]pb.Update{ud}, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBootstrapInfo(shard, 1, pb.Bootstrap{Addresses: map[uint64]string{1: "x"}}); err != nil {
		t.Fatal(err)
	}
	imp := pb.Snapshot{ShardID: shard, Index: 15, Term: 3, Type: pb.RegularStateMachine, Imported: true}
	if err := s.ImportSnapshot(imp, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportSnapshot(pb.Snapshot{ShardID: shard, Index: 1}, 1); err == nil {
		t.Fatal("unknown state machine type must be refused")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir)
	defer s.Close()
	bs, err := s.GetBootstrapInfo(shard, 1)
	if err != nil || !bs.Join || len(bs.Addresses) != 0 || bs.Type != pb.RegularStateMachine {
		t.Fatalf("bootstrap %+v %v", bs, err)
	}
	rs, err := s.ReadRaftState(shard, 1, 15)
	if err != nil || rs.EntryCount != 0 || rs.State.Commit != 15 || rs.State.Vote != 0 {
		t.Fatalf("state %+v %v", rs, err)
	}
	ss, err := s.GetSnapshot(shard, 1)
	if err != nil || ss.Index != 15 || !ss.Imported {
		t.Fatalf("snapshot %+v %v", ss, err)
	}
	// The reference leaves entries in place.
	got, _, err := s.IterateEntries(nil, 0, shard, 1, 14, 15, math.MaxUint64)
	if err != nil || len(got) != 1 {
		t.Fatalf("entries kept: %v %v", got, err)
	}
}

func TestRemoveNodeData(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	ud := pb.Update{ShardID: 3, ReplicaID: 9, State: pb.State{Term: 1, Commit: 2},
		EntriesToSave: entries(1, 1, 4),
		Snapshot:      pb.Snapshot{ShardID: 3, Index: 2, Term: 1, Type: pb.OnDiskStateMachine}}
	if err := s.SaveRaftState([]pb.Update{ud}, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBootstrapInfo(3, 9, pb.Bootstrap{Join: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveNodeData(3, 9); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if keys := rawKeys(t, dir, 3); len(keys) != 0 {
		t.Fatalf("%d keys left after RemoveNodeData", len(keys))
	}
}
