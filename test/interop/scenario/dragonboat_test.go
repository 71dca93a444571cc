package scenario

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/tools"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/sm"
)

// TestDragonboatOnLevelDBStore proves the Dragonboat side without our CLI:
// the LevelDB log store carries a real 3-node cluster, a restart replays from
// it, and the reference tools.ImportSnapshot over it repairs the shard.
func TestDragonboatOnLevelDBStore(t *testing.T) {
	for _, o := range []harness.SeedOptions{
		{Kind: harness.Regular},
		{Kind: harness.OnDisk, DeploymentID: 42, WithWAL: true},
	} {
		t.Run(o.Kind.String(), func(t *testing.T) {
			t.Run("seed cluster elects, proposes, snapshots", func(t *testing.T) {
				s := seedClone(t, o)
				if s.SnapshotIndex == 0 || s.LocalSnapshotIndex <= s.SnapshotIndex || s.LastIndex <= s.LocalSnapshotIndex {
					t.Fatalf("unexpected seed indexes: export %d, local %d, last %d",
						s.SnapshotIndex, s.LocalSnapshotIndex, s.LastIndex)
				}
				if len(s.SnapshotState.KV) != 20 || s.SnapshotState.KV["k00"] != "before" {
					t.Fatalf("snapshot state %v", s.SnapshotState.KV)
				}
			})
			t.Run("restart replays from the store", func(t *testing.T) {
				s := seedClone(t, o)
				t.Cleanup(func() { harness.StopAll(s.Hosts...) })
				for i, h := range s.Hosts {
					harness.Must(t, h.Start())
					harness.Must(t, h.StartReplica(o.Kind, harness.ShardID, uint64(i+1), nil, sm.KVOptions{}, config.NoCompression))
				}
				_, err := harness.WaitLeader(harness.ShardID, 30*time.Second, s.Hosts...)
				harness.Must(t, err)
				st, err := s.Hosts[0].Read(harness.ShardID)
				harness.Must(t, err)
				assertState(t, "after restart", st, s.FinalState)
				harness.Must(t, s.Hosts[1].Propose(harness.ShardID, "restarted", "yes"))
				st, err = s.Hosts[2].Read(harness.ShardID)
				harness.Must(t, err)
				if st.KV["restarted"] != "yes" {
					t.Fatalf("proposal after restart not visible: %v", st.KV)
				}
			})
			t.Run("reference ImportSnapshot repairs to {1,4,5}", func(t *testing.T) {
				s := seedClone(t, o)
				harness.Must(t, s.DeleteHostDirs(2, 3))
				fresh := newHosts(t, filepath.Join(s.Root, "new"), o, "m4", "m5")
				hosts := map[uint64]*harness.Host{1: s.Host(1), 4: fresh[0], 5: fresh[1]}
				members := map[uint64]string{}
				for id, h := range hosts {
					members[id] = h.Addr
				}
				for id, h := range hosts {
					start := time.Now()
					if err := tools.ImportSnapshot(h.Config(), s.ExportDir, members, id); err != nil {
						t.Fatalf("tools.ImportSnapshot on %s: %v", h.Name, err)
					}
					t.Logf("reference import on %s took %v", h.Name, time.Since(start).Round(time.Millisecond))
				}
				if o.Kind == harness.OnDisk {
					checkOnDiskState(t, s, "before restart", false)
				}
				checkRepairedShard(t, s, hosts)
				if o.Kind == harness.OnDisk {
					checkOnDiskState(t, s, "after restart", true)
				}
			})
			t.Run("reference ImportSnapshot refuses bad input", func(t *testing.T) {
				s := seedClone(t, o)
				h := s.Host(1)
				bad := map[uint64]string{1: "127.0.0.1:1", 4: "127.0.0.1:2"}
				if err := tools.ImportSnapshot(h.Config(), s.ExportDir, bad, 1); err != tools.ErrInvalidMembers {
					t.Fatalf("address mismatch: want ErrInvalidMembers, got %v", err)
				}
				good := map[uint64]string{1: h.Addr}
				if err := tools.ImportSnapshot(h.Config(), filepath.Join(s.Root, "nope"), good, 1); err != tools.ErrPathNotExist {
					t.Fatalf("missing src: want ErrPathNotExist, got %v", err)
				}
				readd := map[uint64]string{1: h.Addr, s.RemovedID: "127.0.0.1:3"}
				if err := tools.ImportSnapshot(h.Config(), s.ExportDir, readd, 1); err == nil ||
					err.Error() != "adding a removed node" {
					t.Fatalf("re-adding removed replica: got %v", err)
				}
			})
		})
	}
}

// checkOnDiskState reads m1's on-disk state machine file (outside the
// NodeHost dir, which no import touches). Before the restart it is newer than
// the snapshot; once Dragonboat has restarted on the imported snapshot it is
// rolled back: at init an Imported snapshot is always recovered into an
// on-disk state machine (rsm.StateMachine.recoverRequired).
func checkOnDiskState(t *testing.T, s *harness.Seed, when string, rolledBack bool) {
	t.Helper()
	st, err := sm.ReadDiskKV(sm.DiskKVPath(s.Host(1).SMDir, harness.ShardID, 1))
	harness.Must(t, err)
	newer := st.KV["k20"] != "" || st.KV["k00"] == "after"
	if rolledBack == newer {
		t.Fatalf("m1 on-disk state %s: last index %d, k00=%q, k20=%q (rolled back expected: %t)",
			when, st.LastIndex, st.KV["k00"], st.KV["k20"], rolledBack)
	}
	if !rolledBack && st.LastIndex != s.LastIndex {
		t.Fatalf("m1 on-disk state %s: last index %d, want %d", when, st.LastIndex, s.LastIndex)
	}
}
