package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"

	"nodehost-tools/interop/sm"
)

// ConfigChangeSeed is the seed variant for a membership change inside the
// log suffix (issue #13): shard 100 on m1, m2, m3; proposals; a local
// snapshot on m1 (what `nodehost export` on m1 takes); then "add replica
// AddedID" (a voter whose host never starts) at ChangeIndex; then more
// proposals that must survive the repair. Every NodeHost is closed.
//
// Seed fields as set here: SnapshotIndex/LocalSnapshotIndex = m1's local
// snapshot, SnapshotState its state, FinalState/LastIndex the state m1
// applied last. ExportDir is a Dragonboat export taken on m2 after m1's
// snapshot and before the change (OtherExportIndex): the snapshot of the
// issue's worked example, which m1's log continues (--snapshot-from).
type ConfigChangeSeed struct {
	*Seed
	// AddedID is the replica added after the snapshot (never started), at AddedAddr.
	AddedID   uint64
	AddedAddr string
	// ChangeIndex is the log index of the config change entry that added it.
	ChangeIndex uint64
	// AfterChange are the keys proposed after the change, in order.
	AfterChange []string
	// OtherExportIndex is the index of m2's Dragonboat export (ExportDir).
	OtherExportIndex uint64
}

// Clone copies the stopped seed to dst.
func (s *ConfigChangeSeed) Clone(dst string) (*ConfigChangeSeed, error) {
	c, err := s.Seed.Clone(dst)
	if err != nil {
		return nil, err
	}
	out := *s
	out.Seed = c
	return &out, nil
}

// BuildConfigChangeSeed runs the variant under root. Small on purpose: 5
// proposals before m1's snapshot, 1 between it and m2's export, then the
// change, 5 after.
func BuildConfigChangeSeed(root string, o SeedOptions) (cs *ConfigChangeSeed, err error) {
	s := &Seed{Root: root, Kind: o.Kind, Members: map[uint64]string{}}
	cs = &ConfigChangeSeed{Seed: s, AddedID: 6}
	for i := 1; i <= 3; i++ {
		h, err := NewHost(root, fmt.Sprintf("m%d", i), o.HostOptions())
		if err != nil {
			return nil, err
		}
		s.Hosts = append(s.Hosts, h)
		s.Members[uint64(i)] = h.Addr
	}
	defer StopAll(s.Hosts...)
	for i, h := range s.Hosts {
		if err := h.Start(); err != nil {
			return nil, err
		}
		if err := h.StartReplica(o.Kind, ShardID, uint64(i+1), s.Members, sm.KVOptions{}, config.NoCompression); err != nil {
			return nil, err
		}
	}
	if _, err := WaitLeader(ShardID, 20*time.Second, s.Hosts...); err != nil {
		return nil, err
	}
	m1 := s.Hosts[0]
	propose := func(keys ...string) error {
		for i, k := range keys {
			h := s.Hosts[i%3]
			if err := h.Propose(ShardID, k, "v-"+k); err != nil {
				return fmt.Errorf("proposal %s via %s: %w", k, h.Name, err)
			}
		}
		return nil
	}
	if err := propose("a0", "a1", "a2", "a3", "a4"); err != nil {
		return nil, err
	}
	if s.SnapshotState, err = m1.Read(ShardID); err != nil {
		return nil, err
	}
	if err := retry(60*time.Second, func(ctx context.Context) error {
		var err error
		s.SnapshotIndex, err = m1.NH.SyncRequestSnapshot(ctx, ShardID, dragonboat.SnapshotOption{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("local snapshot on m1: %w", err)
	}
	s.LocalSnapshotIndex = s.SnapshotIndex
	// One application entry between the snapshot and the change, so the
	// change is not the suffix's first entry.
	if err := propose("b0"); err != nil {
		return nil, err
	}
	// m2 exports what it applied: make that include b0.
	b0, err := m1.Read(ShardID)
	if err != nil {
		return nil, err
	}
	if err := WaitApplied(ShardID, b0.LastIndex, 20*time.Second, s.Hosts[1]); err != nil {
		return nil, err
	}
	if cs.OtherExportIndex, s.ExportDir, err = s.Hosts[1].ExportSnapshot(ShardID, filepath.Join(root, "export")); err != nil {
		return nil, err
	}
	if cs.OtherExportIndex <= s.SnapshotIndex {
		return nil, fmt.Errorf("m2's export at %d is not past m1's snapshot %d", cs.OtherExportIndex, s.SnapshotIndex)
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cs.AddedAddr = addr
	if err := configChange(func(ctx context.Context) error {
		return m1.NH.SyncRequestAddReplica(ctx, ShardID, cs.AddedID, addr, 0)
	}); err != nil {
		return nil, fmt.Errorf("add replica %d: %w", cs.AddedID, err)
	}
	m, err := m1.Membership(ShardID)
	if err != nil {
		return nil, err
	}
	if _, ok := m.Nodes[cs.AddedID]; !ok {
		return nil, fmt.Errorf("replica %d not a member after its addition: %v", cs.AddedID, m.Nodes)
	}
	cs.ChangeIndex = m.ConfigChangeID
	if cs.ChangeIndex <= s.SnapshotIndex {
		return nil, fmt.Errorf("config change index %d not after the snapshot %d", cs.ChangeIndex, s.SnapshotIndex)
	}
	// Voters {1,2,3,6}: quorum 3, which m1..m3 still are.
	cs.AfterChange = []string{"c0", "c1", "c2", "a0", "a1"} // new keys and overwrites
	for i, k := range cs.AfterChange {
		h := s.Hosts[i%3]
		if err := h.Propose(ShardID, k, "after-change"); err != nil {
			return nil, fmt.Errorf("proposal %s via %s after the change: %w", k, h.Name, err)
		}
	}
	if s.FinalState, err = m1.Read(ShardID); err != nil {
		return nil, err
	}
	s.LastIndex = s.FinalState.LastIndex
	if err := WaitApplied(ShardID, s.LastIndex, 20*time.Second, s.Hosts...); err != nil {
		return nil, err
	}
	return cs, nil
}
