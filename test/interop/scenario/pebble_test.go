package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/tools"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/sm"
)

// The Pebble scenarios: the real Dragonboat v4 in its DEFAULT configuration
// (no LogDBFactory: sharded-pebble, 16 Pebble partitions per NodeHost), the
// store every real deployment has. Same seed scenario as on LevelDB
// (harness.BuildSeed), same checks (checkImportedNode, checkRepairedShard).

var (
	pebbleSeed    = harness.SeedOptions{Kind: harness.Regular, Store: harness.Pebble}
	pebbleWALSeed = harness.SeedOptions{Kind: harness.Regular, Store: harness.Pebble, WithWAL: true}
)

func pebbleVariantName(o harness.SeedOptions) string {
	if o.WithWAL {
		return "waldir"
	}
	return "default"
}

// TestDragonboatOnPebbleStore proves the Dragonboat side without our CLI: the
// seed on the default store has the layout docs/pebble-store.md describes, our
// Pebble reader sees its records, and the reference tools.ImportSnapshot
// repairs it (so a failing CLI test below is the CLI's doing, not the harness's).
func TestDragonboatOnPebbleStore(t *testing.T) {
	for _, o := range []harness.SeedOptions{pebbleSeed, pebbleWALSeed} {
		o := o
		t.Run(pebbleVariantName(o), func(t *testing.T) {
			t.Run("seed on the default store: sharded-pebble, shard 100 in logdb-4", func(t *testing.T) {
				s := seedClone(t, o)
				m1 := s.Host(1)
				ds, err := harness.ReadDataStatus(filepath.Join(m1.Dir, "dragonboat.ds"))
				harness.Must(t, err)
				if ds.LogdbType != "sharded-pebble" || ds.LogdbShardCount != 16 || ds.StepWorkerCount != 16 {
					t.Fatalf("dragonboat.ds %+v, want sharded-pebble 16/16", ds)
				}
				parts, err := m1.PartitionNumbers()
				harness.Must(t, err)
				if len(parts) != 16 {
					t.Fatalf("partitions %v, want logdb-0..15", parts)
				}
				if p := m1.Partition(harness.ShardID); p != 4 {
					t.Fatalf("partition of shard 100 is %d, want 4", p)
				}
				counts, err := harness.ShardRecords(m1, harness.ShardID)
				harness.Must(t, err)
				if len(counts) != 1 || counts[4] == 0 {
					t.Fatalf("shard 100's records by partition: %v, want only logdb-4", counts)
				}
				for _, h := range s.Hosts {
					assertNoLevelDBFiles(t, h)
					if o.WithWAL {
						assertWALsOnlyInWALDir(t, h)
					}
				}
				d, err := harness.DumpHostNode(m1, harness.ShardID, 1, harness.ReadOnly)
				harness.Must(t, err)
				if d.Bootstrap == nil || d.Bootstrap.Join || len(d.Bootstrap.Addresses) != 3 {
					t.Fatalf("m1 bootstrap %+v, want join=false with 3 addresses", d.Bootstrap)
				}
				if d.State == nil || d.State.Commit < s.LastIndex || d.MaxIndex == nil || *d.MaxIndex < s.LastIndex {
					t.Fatalf("m1 state %+v, max index %v, want commit/max >= %d", d.State, d.MaxIndex, s.LastIndex)
				}
				if _, ok := d.Snapshots[s.LocalSnapshotIndex]; !ok {
					t.Fatalf("m1 snapshot records at %v, want one at the local snapshot %d", keysOf(d.Snapshots), s.LocalSnapshotIndex)
				}
				if len(d.EntryIndexes) == 0 || d.EntryIndexes[len(d.EntryIndexes)-1] != *d.MaxIndex {
					t.Fatalf("m1 entries %v, max index %d", d.EntryIndexes, *d.MaxIndex)
				}
				t.Logf("m1 logdb-4: state %+v, max index %d, snapshots %v, entries %d..%d (%d), other nodes' keys %d",
					*d.State, *d.MaxIndex, keysOf(d.Snapshots), d.EntryIndexes[0], d.EntryIndexes[len(d.EntryIndexes)-1],
					len(d.EntryIndexes), d.OtherNodeKeys)
			})
			t.Run("reference ImportSnapshot repairs to {1,4,5}", func(t *testing.T) {
				s, hosts, members := pebbleRepairSetup(t, o)
				for _, id := range sortedIDs(members) {
					start := time.Now()
					if err := tools.ImportSnapshot(hosts[id].Config(), s.ExportDir, members, id); err != nil {
						t.Fatalf("tools.ImportSnapshot on %s: %v", hosts[id].Name, err)
					}
					t.Logf("reference import on %s took %v", hosts[id].Name, time.Since(start).Round(time.Millisecond))
				}
				for _, id := range sortedIDs(members) {
					// Reference: config_change_id = INDEX, stale entries kept (docs/import-contract.md).
					checkImportedNode(t, s, hosts[id], id, members, s.SnapshotIndex, true)
					assertNoLevelDBFiles(t, hosts[id])
				}
				checkRepairedShard(t, s, hosts)
			})
		})
	}
}

// TestPebbleSeedImportWithOurCLI is docs/import-contract.md's worked example on the default
// Pebble store with our CLI: import on m1, m4, m5, then the real Dragonboat.
// "waldir" configures a WALDir on every NodeHost (and names "logdbType":
// "sharded-pebble" explicitly; "default" leaves it to the CLI's default).
func TestPebbleSeedImportWithOurCLI(t *testing.T) {
	cli := harness.RequireCLI(t)
	for _, o := range []harness.SeedOptions{pebbleSeed, pebbleWALSeed} {
		o := o
		t.Run(pebbleVariantName(o), func(t *testing.T) {
			s, hosts, members := pebbleRepairSetup(t, o)
			m1 := s.Host(1)
			if o.WithWAL {
				for _, h := range hosts {
					h.CLILogDBType = true
				}
			}
			cfgDir := filepath.Join(s.Root, "cfg")
			own := m1.Partition(harness.ShardID)
			before := otherPartitionTrees(t, m1, own)

			t.Run("import on m1, m4, m5", func(t *testing.T) {
				for _, id := range sortedIDs(members) {
					start := time.Now()
					res, err := cli.Import(hosts[id], cfgDir, s.ExportDir, members, id)
					harness.Must(t, err)
					if !res.OK() {
						t.Errorf("our import on %s (Pebble store, replica %d) failed; the CLI's output:\n%s",
							hosts[id].Name, id, res)
						continue
					}
					t.Logf("our import on %s took %v", hosts[id].Name, time.Since(start).Round(time.Millisecond))
				}
			})
			if t.Failed() {
				return
			}

			t.Run("m1's other partitions byte-identical, no LevelDB file anywhere", func(t *testing.T) {
				after := otherPartitionTrees(t, m1, own)
				if !reflect.DeepEqual(before, after) {
					for _, p := range unionPartitionKeys(before, after) {
						if !reflect.DeepEqual(before[p], after[p]) {
							t.Errorf("%s changed: %s", p, treeDiff(before[p], after[p]))
						}
					}
					t.Fatalf("our import changed partitions other than logdb-%d on m1", own)
				}
				for _, id := range sortedIDs(members) {
					assertNoLevelDBFiles(t, hosts[id])
				}
			})

			t.Run("Pebble reads exactly docs/import-contract.md's records (read-only and read-write open of copies)", func(t *testing.T) {
				for _, mode := range []harness.PebbleOpenMode{harness.ReadOnly, harness.ReadWrite} {
					for _, id := range sortedIDs(members) {
						checkImportedNodeMode(t, s, hosts[id], id, members, s.ConfigChangeID, false, mode)
					}
				}
			})

			t.Run("Dragonboat restarts the repaired shard", func(t *testing.T) {
				checkRepairedShard(t, s, hosts)
			})
		})
	}
}

// TestPebbleDifferentialAgainstReference: tools.ImportSnapshot and our CLI on
// identical copies of m1 and of a fresh m4, compared through Pebble (shard
// 100's partition, read-only copies) and the snapshot directories; only
// docs/import-contract.md's differences are allowed, each asserted (see differ). The
// reference opens and rewrites all 16 partitions; only logdb-4 is compared.
func TestPebbleDifferentialAgainstReference(t *testing.T) {
	cli := harness.RequireCLI(t)
	runDifferential(t, cli, pebbleSeed, 1, 4)
}

// TestPebblePartitionFormula proves where Dragonboat puts a shard when the
// two shard counts differ (Expert.LogDB.Shards 16, Expert.Engine.ExecShards
// 12): partition (shardID % 16) % 12, i.e. logdb-1 for shard 13, and that our
// import with "logDBShards": 16, "execShards": 12 writes there. Shard 13 gives
// 1 under either order of the moduli ((13 % 12) % 16 = 1 too), so shard 29
// runs beside it: (29 % 16) % 12 = 1, but (29 % 12) % 16 = 5.
func TestPebblePartitionFormula(t *testing.T) {
	const wantPart = 1
	shards := []uint64{13, 29}
	root := filepath.Join(tmpRoot, "partition-formula")
	ho := harness.HostOptions{Store: harness.Pebble, LogDBShards: 16, ExecShards: 12}
	m1, err := harness.NewHost(root, "m1", ho)
	harness.Must(t, err)
	exports := map[uint64]string{}
	states := map[uint64]sm.State{}

	t.Run("Dragonboat puts shards 13 and 29 in logdb-1", func(t *testing.T) {
		t.Cleanup(m1.Stop)
		harness.Must(t, m1.Start())
		for _, shardID := range shards {
			harness.Must(t, m1.StartReplica(harness.Regular, shardID, 1, map[uint64]string{1: m1.Addr},
				sm.KVOptions{}, config.NoCompression))
		}
		for _, shardID := range shards {
			_, err := harness.WaitLeader(shardID, 20*time.Second, m1)
			harness.Must(t, err)
			for i := 0; i < 5; i++ {
				harness.Must(t, m1.Propose(shardID, fmt.Sprintf("k%d", i), fmt.Sprintf("s%d", shardID)))
			}
			st, err := m1.Read(shardID)
			harness.Must(t, err)
			states[shardID] = st
			_, dir, err := m1.ExportSnapshot(shardID, filepath.Join(root, fmt.Sprintf("export-%d", shardID)))
			harness.Must(t, err)
			exports[shardID] = dir
			// History the import discards.
			harness.Must(t, m1.Propose(shardID, "after", "export"))
		}
		m1.Stop()
		ds, err := harness.ReadDataStatus(filepath.Join(m1.Dir, "dragonboat.ds"))
		harness.Must(t, err)
		if ds.LogdbType != "sharded-pebble" || ds.LogdbShardCount != 16 || ds.StepWorkerCount != 12 {
			t.Fatalf("dragonboat.ds %+v, want sharded-pebble, logdb_shard_count 16, step_worker_count 12", ds)
		}
		for _, shardID := range shards {
			if p := m1.Partition(shardID); p != wantPart {
				t.Fatalf("harness partition of shard %d is %d, want %d", shardID, p, wantPart)
			}
			assertShardOnlyIn(t, m1, shardID, wantPart)
		}
	})
	if t.Failed() {
		return
	}

	cli := harness.RequireCLI(t)
	m2, err := harness.NewHost(root, "m2", ho)
	harness.Must(t, err)
	hosts := map[uint64]*harness.Host{1: m1, 2: m2}
	members := map[uint64]string{1: m1.Addr, 2: m2.Addr}
	t.Run("our import (logDBShards 16, execShards 12) on m1 and a fresh m2 writes logdb-1", func(t *testing.T) {
		for _, shardID := range shards {
			for _, id := range sortedIDs(members) {
				res, err := cli.Import(hosts[id], filepath.Join(root, "cfg"), exports[shardID], members, id)
				harness.Must(t, err)
				if !res.OK() {
					t.Fatalf("our import of shard %d on %s failed; the CLI's output:\n%s", shardID, hosts[id].Name, res)
				}
			}
		}
		for _, h := range []*harness.Host{m1, m2} {
			for _, shardID := range shards {
				assertShardOnlyIn(t, h, shardID, wantPart)
			}
			assertNoLevelDBFiles(t, h)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("Dragonboat restarts both shards on m1 and m2", func(t *testing.T) {
		startRepaired(t, harness.Regular, hosts, shards...)
		for _, shardID := range shards {
			checkShardAfterRepair(t, hosts, repairWant{shardID: shardID, state: states[shardID]})
		}
	})
}

// pebbleRepairSetup clones the seed, deletes m2 and m3 and lays out fresh
// m4, m5: the hosts {1: m1, 4: m4, 5: m5} and their member map.
func pebbleRepairSetup(t *testing.T, o harness.SeedOptions) (*harness.Seed, map[uint64]*harness.Host, map[uint64]string) {
	t.Helper()
	s := seedClone(t, o)
	harness.Must(t, s.DeleteHostDirs(2, 3))
	fresh := newHosts(t, filepath.Join(s.Root, "new"), o, "m4", "m5")
	hosts := map[uint64]*harness.Host{1: s.Host(1), 4: fresh[0], 5: fresh[1]}
	members := map[uint64]string{}
	for id, h := range hosts {
		members[id] = h.Addr
	}
	return s, hosts, members
}

// otherPartitionTrees hashes every file of every partition of h except own
// (data dir, and WAL dir when configured), keyed by the partition's path.
func otherPartitionTrees(t *testing.T, h *harness.Host, own uint64) map[string]harness.TreeDump {
	t.Helper()
	parts, err := h.PartitionNumbers()
	harness.Must(t, err)
	out := map[string]harness.TreeDump{}
	for _, p := range parts {
		if p == own {
			continue
		}
		dirs := []string{h.PartitionDir(p)}
		if w := h.PartitionWALDir(p); w != dirs[0] {
			dirs = append(dirs, w)
		}
		for _, dir := range dirs {
			if _, err := os.Stat(dir); os.IsNotExist(err) {
				continue
			}
			tree, err := harness.DumpTreeAll(dir)
			harness.Must(t, err)
			out[strings.TrimPrefix(dir, filepath.Dir(h.Dir)+"/")] = tree
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no partition besides logdb-%d", h.Name, own)
	}
	return out
}

func assertNoLevelDBFiles(t *testing.T, h *harness.Host) {
	t.Helper()
	dirs := []string{harness.DeploymentDir(h.Dir, h.DeploymentID)}
	if h.WALDir != "" {
		dirs = append(dirs, harness.DeploymentDir(h.WALDir, h.DeploymentID))
	}
	files, err := harness.LevelDBFiles(dirs...)
	harness.Must(t, err)
	if len(files) != 0 {
		t.Fatalf("%s: LevelDB files in a Pebble store: %v", h.Name, files)
	}
}

// assertWALsOnlyInWALDir: with a WALDir, Pebble keeps every partition's
// *.log there, none in the data dir (docs/pebble-store.md writer rule 1).
func assertWALsOnlyInWALDir(t *testing.T, h *harness.Host) {
	t.Helper()
	parts, err := h.PartitionNumbers()
	harness.Must(t, err)
	walCount := 0
	for _, p := range parts {
		for _, dir := range []string{h.PartitionDir(p), h.PartitionWALDir(p)} {
			entries, err := os.ReadDir(dir)
			harness.Must(t, err)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".log") {
					if dir == h.PartitionDir(p) {
						t.Fatalf("%s: WAL %s in the data dir %s", h.Name, e.Name(), dir)
					}
					walCount++
				}
			}
		}
	}
	if walCount == 0 {
		t.Fatalf("%s: no WAL in %s", h.Name, h.WALDir)
	}
}

// assertShardOnlyIn reads every partition of h (Pebble, read-only copies)
// and requires shardID's records in partition want and nowhere else.
func assertShardOnlyIn(t *testing.T, h *harness.Host, shardID, want uint64) {
	t.Helper()
	counts, err := harness.ShardRecords(h, shardID)
	harness.Must(t, err)
	var where []string
	for p, n := range counts {
		where = append(where, fmt.Sprintf("logdb-%d: %d", p, n))
	}
	sort.Strings(where)
	if len(counts) != 1 || counts[want] == 0 {
		t.Fatalf("%s: shard %d's records by partition: %v, want only logdb-%d", h.Name, shardID, where, want)
	}
	t.Logf("%s: shard %d: %s", h.Name, shardID, strings.Join(where, ", "))
}

func unionPartitionKeys(a, b map[string]harness.TreeDump) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// treeDiff names the files added, removed and rewritten between two dumps.
func treeDiff(before, after harness.TreeDump) string {
	var added, removed, changed []string
	for _, p := range unionPaths(before, after) {
		b, inB := before[p]
		a, inA := after[p]
		switch {
		case !inB:
			added = append(added, p)
		case !inA:
			removed = append(removed, p)
		case a != b:
			changed = append(changed, p)
		}
	}
	return fmt.Sprintf("added %v, removed %v, rewritten %v", added, removed, changed)
}
