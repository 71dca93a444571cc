package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"

	"nodehost-tools/interop/sm"
)

// Seed is the stopped result of the seed scenario (docs/import-contract.md's worked
// example): shard 100 ran replicas 1, 2, 3 on m1, m2, m3; an exported
// snapshot was taken; more proposals followed; every NodeHost is closed.
type Seed struct {
	Root  string
	Kind  SMKind
	Hosts []*Host // m1, m2, m3 (replicas 1, 2, 3)
	// Members is the original voting membership {1: m1, 2: m2, 3: m3}.
	Members map[uint64]string
	// NonVotingID was added as a non-voting member and never started;
	// RemovedID was added and deleted again. Both must end in the removed set.
	NonVotingID, RemovedID uint64
	// ConfigChangeID is the source snapshot membership's config_change_id.
	ConfigChangeID uint64
	// ExportDir is root/export/snapshot-<INDEX>.
	ExportDir     string
	SnapshotIndex uint64
	SnapshotTerm  uint64
	// SnapshotState is the state captured by the exported snapshot;
	// FinalState the state when the hosts were closed (newer).
	SnapshotState, FinalState sm.State
	// LocalSnapshotIndex is m1's own (non-exported) snapshot, newer than the export.
	LocalSnapshotIndex uint64
	// LastIndex is the highest entry index m1 applied before closing.
	LastIndex uint64
}

// Host returns the seed host running replicaID (1..3).
func (s *Seed) Host(replicaID uint64) *Host { return s.Hosts[replicaID-1] }

// SeedOptions vary the seed.
type SeedOptions struct {
	Kind         SMKind
	DeploymentID uint64
	WithWAL      bool
	// Store: LevelDB (zero value, leveldblogdb through Expert.LogDBFactory)
	// or Pebble (Dragonboat's default configuration).
	Store LogStore
}

// HostOptions are the options of every host of a scenario with these seed options.
func (o SeedOptions) HostOptions() HostOptions {
	return HostOptions{DeploymentID: o.DeploymentID, WithWAL: o.WithWAL, Store: o.Store}
}

// BuildSeed runs the seed scenario under root.
func BuildSeed(root string, o SeedOptions) (s *Seed, err error) {
	s = &Seed{Root: root, Kind: o.Kind, Members: map[uint64]string{}, NonVotingID: 6, RemovedID: 7}
	for i := 1; i <= 3; i++ {
		h, err := NewHost(root, fmt.Sprintf("m%d", i), o.HostOptions())
		if err != nil {
			return nil, err
		}
		s.Hosts = append(s.Hosts, h)
		s.Members[uint64(i)] = h.Addr
	}
	defer func() {
		StopAll(s.Hosts...)
	}()
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
	propose := func(from, to int, value string) error {
		for i := from; i <= to; i++ {
			// Spread proposals over the hosts: followers forward to the leader.
			h := s.Hosts[i%3]
			if err := h.Propose(ShardID, fmt.Sprintf("k%02d", i), value); err != nil {
				return fmt.Errorf("proposal k%02d via %s: %w", i, h.Name, err)
			}
		}
		return nil
	}
	if err := propose(0, 9, "before"); err != nil {
		return nil, err
	}
	// Membership history: a non-voting member that never runs, and a replica
	// added then deleted, so the import has a non-trivial removed set.
	nvAddr, _ := FreeAddr()
	rmAddr, _ := FreeAddr()
	if err := configChange(func(ctx context.Context) error {
		return m1.NH.SyncRequestAddNonVoting(ctx, ShardID, s.NonVotingID, nvAddr, 0)
	}); err != nil {
		return nil, fmt.Errorf("add non-voting: %w", err)
	}
	if err := configChange(func(ctx context.Context) error {
		return m1.NH.SyncRequestAddReplica(ctx, ShardID, s.RemovedID, rmAddr, 0)
	}); err != nil {
		return nil, fmt.Errorf("add replica %d: %w", s.RemovedID, err)
	}
	if err := configChange(func(ctx context.Context) error {
		return m1.NH.SyncRequestDeleteReplica(ctx, ShardID, s.RemovedID, 0)
	}); err != nil {
		return nil, fmt.Errorf("delete replica %d: %w", s.RemovedID, err)
	}
	if err := propose(10, 19, "before"); err != nil {
		return nil, err
	}
	if s.SnapshotState, err = m1.Read(ShardID); err != nil {
		return nil, err
	}
	if s.SnapshotIndex, s.ExportDir, err = m1.ExportSnapshot(ShardID, filepath.Join(root, "export")); err != nil {
		return nil, err
	}
	meta, err := ReadSnapshotFlag(filepath.Join(s.ExportDir, "snapshot.metadata"))
	if err != nil {
		return nil, err
	}
	s.SnapshotTerm = meta.Term
	s.ConfigChangeID = meta.Membership.ConfigChangeId
	// Newer history the import must discard: overwrite old keys, add new ones,
	// take a local snapshot newer than the export, then a few more entries.
	if err := propose(0, 4, "after"); err != nil {
		return nil, err
	}
	if err := propose(20, 29, "after"); err != nil {
		return nil, err
	}
	if err := retry(60*time.Second, func(ctx context.Context) error {
		var err error
		s.LocalSnapshotIndex, err = m1.NH.SyncRequestSnapshot(ctx, ShardID, dragonboat.SnapshotOption{})
		return err
	}); err != nil {
		return nil, fmt.Errorf("local snapshot on m1: %w", err)
	}
	if err := propose(30, 32, "after"); err != nil {
		return nil, err
	}
	if s.FinalState, err = m1.Read(ShardID); err != nil {
		return nil, err
	}
	s.LastIndex = s.FinalState.LastIndex
	if err := WaitApplied(ShardID, s.LastIndex, 20*time.Second, s.Hosts...); err != nil {
		return nil, err
	}
	return s, nil
}

func configChange(op func(ctx context.Context) error) error {
	return retry(30*time.Second, op)
}

// Clone copies the stopped seed to dst (same addresses), for tests that
// must not share directories.
func (s *Seed) Clone(dst string) (*Seed, error) {
	if err := CopyTree(s.Root, dst); err != nil {
		return nil, err
	}
	c := *s
	c.Root = dst
	c.Hosts = nil
	for _, h := range s.Hosts {
		nh := *h
		nh.NH = nil
		nh.Dir = rebase(h.Dir, s.Root, dst)
		nh.SMDir = rebase(h.SMDir, s.Root, dst)
		if h.WALDir != "" {
			nh.WALDir = rebase(h.WALDir, s.Root, dst)
		}
		c.Hosts = append(c.Hosts, &nh)
	}
	if s.ExportDir != "" { // a seed variant may have no Dragonboat export
		c.ExportDir = rebase(s.ExportDir, s.Root, dst)
	}
	return &c, nil
}

func rebase(p, from, to string) string {
	rel, err := filepath.Rel(from, p)
	if err != nil {
		panic(err)
	}
	return filepath.Join(to, rel)
}

// DeleteHostDirs removes m2 and m3 for good.
func (s *Seed) DeleteHostDirs(replicaIDs ...uint64) error {
	for _, id := range replicaIDs {
		h := s.Host(id)
		if err := os.RemoveAll(filepath.Dir(h.Dir)); err != nil {
			return err
		}
	}
	return nil
}
