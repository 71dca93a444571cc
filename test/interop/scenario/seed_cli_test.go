package scenario

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	pb "github.com/lni/dragonboat/v4/raftpb"
	"github.com/syndtr/goleveldb/leveldb"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/leveldblogdb"
)

// TestSeedImportWithOurCLI is docs/import-contract.md's worked example with our CLI in
// place of tools.ImportSnapshot, then the real Dragonboat on the result.
func TestSeedImportWithOurCLI(t *testing.T) {
	cli := harness.RequireCLI(t)
	for _, o := range []harness.SeedOptions{
		{Kind: harness.Regular},
		{Kind: harness.OnDisk, DeploymentID: 42, WithWAL: true},
	} {
		t.Run(o.Kind.String(), func(t *testing.T) {
			s := seedClone(t, o)
			harness.Must(t, s.DeleteHostDirs(2, 3))
			fresh := newHosts(t, filepath.Join(s.Root, "new"), o, "m4", "m5")
			hosts := map[uint64]*harness.Host{1: s.Host(1), 4: fresh[0], 5: fresh[1]}
			members := map[uint64]string{}
			for id, h := range hosts {
				members[id] = h.Addr
			}
			cfgDir := filepath.Join(s.Root, "cfg")
			m1 := s.Host(1)

			t.Run("refused while m1's NodeHost holds LOCK, nothing changed", func(t *testing.T) {
				before := snapshotOfHost(t, m1, o)
				harness.Must(t, m1.Start())
				res, err := cli.Import(m1, cfgDir, s.ExportDir, members, 1)
				m1.Stop()
				harness.Must(t, err)
				if res.ExitCode != 1 || res.ErrorCode() != "ErrDirLocked" {
					t.Fatalf("want exit 1 and ErrDirLocked\n%s", res)
				}
				assertHostUnchanged(t, m1, o, before)
			})

			t.Run("refused while the partition's LevelDB is open elsewhere (flock), nothing changed", func(t *testing.T) {
				// goleveldb locks LOCK with flock(2), C++ LevelDB with fcntl(2):
				// on Linux neither sees the other, so opening the database is no test.
				before := snapshotOfHost(t, m1, o)
				part := filepath.Join(harness.DeploymentDir(m1.Dir, m1.DeploymentID),
					leveldblogdb.PartitionDirName(leveldblogdb.Partition(harness.ShardID, 16, 16)))
				db, err := leveldb.OpenFile(part, nil)
				harness.Must(t, err)
				res, err := cli.Import(m1, cfgDir, s.ExportDir, members, 1)
				harness.Must(t, db.Close())
				harness.Must(t, err)
				if res.ExitCode != 1 || res.ErrorCode() != "ErrDirLocked" {
					t.Fatalf("want exit 1 and ErrDirLocked\n%s", res)
				}
				assertHostUnchanged(t, m1, o, before)
			})

			t.Run("refused for a member map without this host, nothing changed", func(t *testing.T) {
				before := snapshotOfHost(t, m1, o)
				bad := map[uint64]string{1: "127.0.0.1:1", 4: members[4], 5: members[5]}
				res, err := cli.Import(m1, cfgDir, s.ExportDir, bad, 1)
				harness.Must(t, err)
				if res.ExitCode != 1 || res.ErrorCode() != "ErrInvalidMembers" {
					t.Fatalf("want exit 1 and ErrInvalidMembers\n%s", res)
				}
				assertHostUnchanged(t, m1, o, before)
			})

			t.Run("import on m1, m4, m5", func(t *testing.T) {
				for _, id := range []uint64{1, 4, 5} {
					res, err := cli.Import(hosts[id], cfgDir, s.ExportDir, members, id)
					harness.Must(t, err)
					if !res.OK() {
						t.Fatalf("import on %s failed\n%s", hosts[id].Name, res)
					}
				}
			})
			if t.Failed() {
				return
			}

			t.Run("rerunning the import on m1 yields the same state", func(t *testing.T) {
				before := snapshotOfHost(t, m1, o)
				res, err := cli.Import(m1, cfgDir, s.ExportDir, members, 1)
				harness.Must(t, err)
				if !res.OK() {
					t.Fatalf("second import on m1 failed\n%s", res)
				}
				assertHostEquivalent(t, m1, o, before)
			})

			t.Run("log store and snapshot dir are as docs/import-contract.md says", func(t *testing.T) {
				for _, id := range []uint64{1, 4, 5} {
					checkImportedNode(t, s, hosts[id], id, members, s.ConfigChangeID, false)
				}
			})

			t.Run("Dragonboat restarts the repaired shard", func(t *testing.T) {
				if o.Kind == harness.OnDisk {
					checkOnDiskState(t, s, "before restart", false)
				}
				checkRepairedShard(t, s, hosts)
				if o.Kind == harness.OnDisk {
					checkOnDiskState(t, s, "after restart", true)
				}
			})
		})
	}
}

// checkImportedNode checks the records docs/import-contract.md step 11 writes, the final
// snapshot directory of step 10, and (unless staleEntriesKept) that no entry
// of the replica is left. A Pebble store is read from a read-only copy.
func checkImportedNode(t *testing.T, s *harness.Seed, h *harness.Host, replicaID uint64,
	members map[uint64]string, wantCCID uint64, staleEntriesKept bool) {
	t.Helper()
	checkImportedNodeMode(t, s, h, replicaID, members, wantCCID, staleEntriesKept, harness.ReadOnly)
}

// checkImportedNodeMode is checkImportedNode with the Pebble open mode chosen.
func checkImportedNodeMode(t *testing.T, s *harness.Seed, h *harness.Host, replicaID uint64,
	members map[uint64]string, wantCCID uint64, staleEntriesKept bool, mode harness.PebbleOpenMode) {
	t.Helper()
	d, err := harness.DumpHostNode(h, harness.ShardID, replicaID, mode)
	harness.Must(t, err)
	if d.HasNodeInfo {
		t.Fatalf("%s has a node-info record", h.Name)
	}
	smType := pb.RegularStateMachine
	if s.Kind == harness.OnDisk {
		smType = pb.OnDiskStateMachine
	}
	if d.Bootstrap == nil || !d.Bootstrap.Join || len(d.Bootstrap.Addresses) != 0 || d.Bootstrap.Type != smType {
		t.Fatalf("%s bootstrap %+v, want {join: true, type: %v}", h.Name, d.Bootstrap, smType)
	}
	if d.State == nil || *d.State != (pb.State{Term: s.SnapshotTerm, Vote: 0, Commit: s.SnapshotIndex}) {
		t.Fatalf("%s raft state %+v, want {term %d, vote 0, commit %d}", h.Name, d.State, s.SnapshotTerm, s.SnapshotIndex)
	}
	if d.MaxIndex == nil || *d.MaxIndex != s.SnapshotIndex {
		t.Fatalf("%s max index %v, want %d", h.Name, d.MaxIndex, s.SnapshotIndex)
	}
	if len(d.Snapshots) != 1 {
		t.Fatalf("%s snapshot records at %v, want only %d", h.Name, keysOf(d.Snapshots), s.SnapshotIndex)
	}
	rec, ok := d.Snapshots[s.SnapshotIndex]
	if !ok {
		t.Fatalf("%s has no snapshot record at %d", h.Name, s.SnapshotIndex)
	}
	if !rec.Imported || rec.Index != s.SnapshotIndex || rec.Term != s.SnapshotTerm || rec.Type != smType ||
		rec.ShardID != harness.ShardID || rec.OnDiskIndex != 0 || rec.Witness {
		t.Fatalf("%s snapshot record %+v", h.Name, rec)
	}
	if rec.Membership.ConfigChangeId != wantCCID {
		t.Fatalf("%s config change id %d, want %d", h.Name, rec.Membership.ConfigChangeId, wantCCID)
	}
	if !reflect.DeepEqual(rec.Membership.Addresses, members) {
		t.Fatalf("%s addresses %v, want %v", h.Name, rec.Membership.Addresses, members)
	}
	wantRemoved := map[uint64]bool{2: true, 3: true, s.NonVotingID: true, s.RemovedID: true}
	if !reflect.DeepEqual(rec.Membership.Removed, wantRemoved) {
		t.Fatalf("%s removed %v, want %v", h.Name, rec.Membership.Removed, wantRemoved)
	}
	if len(rec.Membership.NonVotings) != 0 || len(rec.Membership.Witnesses) != 0 {
		t.Fatalf("%s non-votings %v witnesses %v", h.Name, rec.Membership.NonVotings, rec.Membership.Witnesses)
	}
	root := harness.SnapshotRoot(h.Dir, h.DeploymentID, harness.ShardID, replicaID)
	final := filepath.Join(root, fmt.Sprintf("snapshot-%016X", s.SnapshotIndex))
	if rec.Filepath != filepath.Join(final, filepath.Base(final)+".gbsnap") {
		t.Fatalf("%s record filepath %q, want it in %s", h.Name, rec.Filepath, final)
	}
	if got := dirNames(t, root); len(got) != 1 || got[0] != filepath.Base(final) {
		t.Fatalf("%s snapshot root holds %v, want only %s", h.Name, got, filepath.Base(final))
	}
	flag, err := harness.ReadSnapshotFlag(filepath.Join(final, "dragonboat.snapshot.message"))
	harness.Must(t, err)
	if !reflect.DeepEqual(normalizeRecord(flag), normalizeRecord(rec)) {
		t.Fatalf("%s dragonboat.snapshot.message %+v differs from the log store record %+v", h.Name, flag, rec)
	}
	if !staleEntriesKept && (len(d.EntryIndexes) != 0 || len(d.BatchIDs) != 0) {
		t.Fatalf("%s still has entries %v / batches %v", h.Name, d.EntryIndexes, d.BatchIDs)
	}
	if len(d.BatchIDs) != 0 {
		t.Fatalf("%s has entry batches %v (the store uses plain entries)", h.Name, d.BatchIDs)
	}
}

// normalizeRecord makes maps comparable with DeepEqual (nil == empty).
func normalizeRecord(ss pb.Snapshot) pb.Snapshot {
	m := ss.Membership
	if len(m.Addresses) == 0 {
		m.Addresses = nil
	}
	if len(m.Removed) == 0 {
		m.Removed = nil
	}
	if len(m.NonVotings) == 0 {
		m.NonVotings = nil
	}
	if len(m.Witnesses) == 0 {
		m.Witnesses = nil
	}
	ss.Membership = m
	if len(ss.Files) == 0 {
		ss.Files = nil
	}
	return ss
}

type hostSnapshot struct {
	tree  harness.TreeDump
	node  harness.NodeDump
	flags map[string]*pb.Snapshot // decoded dragonboat.snapshot.message files
}

func snapshotOfHost(t *testing.T, h *harness.Host, o harness.SeedOptions) hostSnapshot {
	t.Helper()
	tree, err := harness.DumpTree(filepath.Dir(h.Dir))
	harness.Must(t, err)
	// LOCK files never change content; whether they exist is not data.
	delete(tree, "nodehost/LOCK")
	delete(tree, "wal/LOCK")
	node, err := harness.DumpNode(h.Dir, h.DeploymentID, harness.ShardID, 1)
	harness.Must(t, err)
	flags := map[string]*pb.Snapshot{}
	for p := range tree {
		if strings.HasSuffix(p, "/dragonboat.snapshot.message") {
			ss := mustSnapshotFlag(t, filepath.Join(filepath.Dir(h.Dir), p))
			flags[p] = &ss
		}
	}
	return hostSnapshot{tree: tree, node: node, flags: flags}
}

// assertHostUnchanged compares h with before. Byte-exact for refusals
// (nothing may be rewritten); for a rerun, flag files and records compare
// decoded, since an encoder may order map entries freely (Dragonboat's does).
func assertHostUnchanged(t *testing.T, h *harness.Host, o harness.SeedOptions, before hostSnapshot) {
	t.Helper()
	compareHost(t, h, o, before, true)
}

func assertHostEquivalent(t *testing.T, h *harness.Host, o harness.SeedOptions, before hostSnapshot) {
	t.Helper()
	compareHost(t, h, o, before, false)
}

func compareHost(t *testing.T, h *harness.Host, o harness.SeedOptions, before hostSnapshot, exact bool) {
	t.Helper()
	after := snapshotOfHost(t, h, o)
	root := filepath.Dir(h.Dir)
	for _, p := range unionPaths(before.tree, after.tree) {
		b, inB := before.tree[p]
		a, inA := after.tree[p]
		if inB && inA && b != a && !exact && strings.HasSuffix(p, "/dragonboat.snapshot.message") {
			// Same file now: only its decoded content can be compared with the one before.
			if b.Mode == a.Mode && before.flags[p] != nil && reflect.DeepEqual(*before.flags[p], mustSnapshotFlag(t, filepath.Join(root, p))) {
				continue
			}
		}
		if inB != inA || b != a {
			t.Errorf("%s: %s changed: before %+v (exists %t), after %+v (exists %t)", h.Name, p, b, inB, a, inA)
		}
	}
	if exact {
		if !reflect.DeepEqual(before.node.Raw, after.node.Raw) {
			t.Errorf("%s log store records changed", h.Name)
		}
	} else {
		bn, an := before.node, after.node
		bn.Raw, an.Raw = nil, nil
		if !reflect.DeepEqual(bn, an) {
			t.Errorf("%s log store differs:\nbefore %+v\nafter  %+v", h.Name, bn, an)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func mustSnapshotFlag(t *testing.T, path string) pb.Snapshot {
	t.Helper()
	ss, err := harness.ReadSnapshotFlag(path)
	harness.Must(t, err)
	return normalizeRecord(ss)
}

func sortedIDs(m map[uint64]string) []uint64 {
	out := make([]uint64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func unionPaths(a, b harness.TreeDump) []string {
	seen := map[string]bool{}
	for p := range a {
		seen[p] = true
	}
	for p := range b {
		seen[p] = true
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
