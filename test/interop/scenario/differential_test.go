package scenario

import (
	"bytes"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	pb "github.com/lni/dragonboat/v4/raftpb"
	"github.com/lni/dragonboat/v4/tools"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/leveldblogdb"
)

// TestDifferentialAgainstReference runs Dragonboat's tools.ImportSnapshot
// (over the LevelDB store; the Pebble variant is in pebble_test.go) and our import on identical copies of the same
// hosts and export, then compares every record and file. Only the
// differences docs/import-contract.md lists are allowed, each asserted on its own:
//   - config_change_id: reference = INDEX, ours = the source value;
//   - stale entries: the reference keeps the replica's old entries, ours removes them;
//   - LOCK files: ours may leave an empty NodeHostDir/LOCK (and WALDir/LOCK)
//     from its lock check; the reference never locks.
func TestDifferentialAgainstReference(t *testing.T) {
	cli := harness.RequireCLI(t)
	for _, o := range []harness.SeedOptions{
		{Kind: harness.Regular},
		{Kind: harness.OnDisk, DeploymentID: 42, WithWAL: true},
	} {
		t.Run(o.Kind.String(), func(t *testing.T) {
			runDifferential(t, cli, o, 1, 4, 5)
		})
	}
}

// runDifferential imports with the reference and with our CLI on identical
// copies of m1 and of fresh hosts m4, m5 (the replicas among ids), then
// compares replica by replica. The members are always {1, 4, 5}.
func runDifferential(t *testing.T, cli *harness.CLI, o harness.SeedOptions, ids ...uint64) {
	runDifferentialWith(t, cli, o, diffVariant{}, ids...)
}

// diffVariant varies runDifferential (minimal_loss_test.go: an export taken
// by our CLI with --with-log, imported by ours with --ignore-log).
type diffVariant struct {
	// prepare runs on each seed copy (m2, m3 deleted) before the imports; it
	// may replace the export (ExportDir, SnapshotIndex/Term, ConfigChangeID).
	prepare func(t *testing.T, s *harness.Seed)
	// importArgs are extra arguments of our import.
	importArgs []string
}

func runDifferentialWith(t *testing.T, cli *harness.CLI, o harness.SeedOptions, v diffVariant, ids ...uint64) {
	ref := seedClone(t, o)
	ours := seedClone(t, o)
	for _, s := range []*harness.Seed{ref, ours} {
		harness.Must(t, s.DeleteHostDirs(2, 3))
		if v.prepare != nil {
			v.prepare(t, s)
		}
	}
	refNew := newHosts(t, filepath.Join(ref.Root, "new"), o, "m4", "m5")
	refHosts := map[uint64]*harness.Host{1: ref.Host(1), 4: refNew[0], 5: refNew[1]}
	ourHosts := map[uint64]*harness.Host{1: ours.Host(1)}
	for i, id := range []uint64{4, 5} {
		h := *refNew[i]
		h.Dir = strings.Replace(h.Dir, ref.Root, ours.Root, 1)
		h.SMDir = strings.Replace(h.SMDir, ref.Root, ours.Root, 1)
		if h.WALDir != "" {
			h.WALDir = strings.Replace(h.WALDir, ref.Root, ours.Root, 1)
		}
		ourHosts[id] = &h
	}
	members := map[uint64]string{}
	for id, h := range refHosts {
		members[id] = h.Addr
	}
	t.Run("reference tools.ImportSnapshot", func(t *testing.T) {
		for _, id := range ids {
			if err := tools.ImportSnapshot(refHosts[id].Config(), ref.ExportDir, members, id); err != nil {
				t.Fatalf("reference import on %s: %v", refHosts[id].Name, err)
			}
			// The reference's own result, as docs/import-contract.md describes it.
			checkImportedNode(t, ref, refHosts[id], id, members, ref.SnapshotIndex, true)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("our import", func(t *testing.T) {
		for _, id := range ids {
			res, err := cli.ImportArgs(ourHosts[id], filepath.Join(ours.Root, "cfg"), ours.ExportDir, members, id, v.importArgs...)
			harness.Must(t, err)
			if !res.OK() {
				t.Fatalf("our import on %s failed (the CLI's output below)\n%s", ourHosts[id].Name, res)
			}
		}
	})
	if t.Failed() {
		return
	}
	for _, id := range ids {
		id := id
		t.Run(refHosts[id].Name, func(t *testing.T) {
			d := differ{t: t, ref: ref, ours: ours, id: id, refHost: refHosts[id], ourHost: ourHosts[id]}
			d.compareLogStore()
			d.compareFiles()
		})
	}
}

type differ struct {
	t                *testing.T
	ref, ours        *harness.Seed
	id               uint64
	refHost, ourHost *harness.Host
}

func (d *differ) normalize(ss pb.Snapshot, root string) pb.Snapshot {
	ss = normalizeRecord(ss)
	ss.Filepath = strings.Replace(ss.Filepath, root, "<root>", 1)
	var files []*pb.SnapshotFile
	for _, f := range ss.Files {
		c := *f
		c.Filepath = strings.Replace(c.Filepath, root, "<root>", 1)
		files = append(files, &c)
	}
	ss.Files = files
	return ss
}

// compareRecords asserts the config change ID difference explicitly and
// equality of everything else.
func (d *differ) compareRecords(what string, r, o pb.Snapshot) {
	t := d.t
	t.Helper()
	if r.Membership.ConfigChangeId != d.ref.SnapshotIndex {
		t.Fatalf("%s: reference config_change_id %d, expected the snapshot index %d",
			what, r.Membership.ConfigChangeId, d.ref.SnapshotIndex)
	}
	if o.Membership.ConfigChangeId != d.ours.ConfigChangeID {
		t.Fatalf("%s: our config_change_id %d, expected the source value %d",
			what, o.Membership.ConfigChangeId, d.ours.ConfigChangeID)
	}
	rn, on := d.normalize(r, d.ref.Root), d.normalize(o, d.ours.Root)
	rn.Membership.ConfigChangeId, on.Membership.ConfigChangeId = 0, 0
	if !reflect.DeepEqual(rn, on) {
		t.Fatalf("%s differs beyond config_change_id:\nreference %+v\nours      %+v", what, rn, on)
	}
}

func (d *differ) compareLogStore() {
	t := d.t
	rd, err := harness.DumpHostNode(d.refHost, harness.ShardID, d.id, harness.ReadOnly)
	harness.Must(t, err)
	od, err := harness.DumpHostNode(d.ourHost, harness.ShardID, d.id, harness.ReadOnly)
	harness.Must(t, err)
	if !reflect.DeepEqual(rd.Bootstrap, od.Bootstrap) {
		t.Fatalf("bootstrap: reference %+v, ours %+v", rd.Bootstrap, od.Bootstrap)
	}
	if !reflect.DeepEqual(rd.State, od.State) {
		t.Fatalf("raft state: reference %+v, ours %+v", rd.State, od.State)
	}
	if rd.MaxIndex == nil || od.MaxIndex == nil || *rd.MaxIndex != *od.MaxIndex {
		t.Fatalf("max index: reference %v, ours %v", rd.MaxIndex, od.MaxIndex)
	}
	if !reflect.DeepEqual(keysOf(rd.Snapshots), keysOf(od.Snapshots)) {
		t.Fatalf("snapshot record keys: reference %v, ours %v", keysOf(rd.Snapshots), keysOf(od.Snapshots))
	}
	for idx := range rd.Snapshots {
		d.compareRecords("snapshot record", rd.Snapshots[idx], od.Snapshots[idx])
	}
	// Stale entries: only m1 had any; the reference leaves them, we remove them.
	if d.id == 1 {
		if len(rd.EntryIndexes) == 0 {
			t.Fatal("reference removed m1's entries; expected it to keep them")
		}
		if len(od.EntryIndexes) != 0 {
			t.Fatalf("our import left entries %v", od.EntryIndexes)
		}
		t.Logf("stale entries: reference keeps %d (%d..%d), ours 0", len(rd.EntryIndexes),
			rd.EntryIndexes[0], rd.EntryIndexes[len(rd.EntryIndexes)-1])
	} else if len(rd.EntryIndexes)+len(od.EntryIndexes) != 0 {
		t.Fatalf("fresh host has entries: reference %v, ours %v", rd.EntryIndexes, od.EntryIndexes)
	}
	if len(rd.BatchIDs)+len(od.BatchIDs) != 0 || rd.HasNodeInfo || od.HasNodeInfo {
		t.Fatal("unexpected batch or node-info keys")
	}
	if rd.OtherNodeKeys != od.OtherNodeKeys || rd.OtherPartitionKeys != od.OtherPartitionKeys {
		t.Fatalf("other keys: reference %d/%d, ours %d/%d", rd.OtherNodeKeys, rd.OtherPartitionKeys,
			od.OtherNodeKeys, od.OtherPartitionKeys)
	}
	// Byte-level: decoded equality is the contract; report encodings that differ.
	for _, hdr := range []byte{leveldblogdb.HeaderBootstrap, leveldblogdb.HeaderState, leveldblogdb.HeaderMaxIndex} {
		r, o := rd.Raw[hdr], od.Raw[hdr]
		if len(r) == 1 && len(o) == 1 && !bytes.Equal(r[0].Value, o[0].Value) {
			t.Logf("note: key %02x%02x value bytes differ (decoded equal): reference % x, ours % x",
				hdr, hdr, r[0].Value, o[0].Value)
		}
	}
	refParts, ourParts := partitionDirs(t, d.refHost), partitionDirs(t, d.ourHost)
	own := leveldblogdb.PartitionDirName(rd.Partition)
	if !contains(ourParts, own) {
		t.Fatalf("our import has no %s (partitions %v)", own, ourParts)
	}
	for _, p := range ourParts {
		if !contains(refParts, p) {
			t.Fatalf("our import created %s, which the reference does not", p)
		}
	}
	if len(refParts) != len(ourParts) {
		t.Logf("note: partitions created: reference %d (all, it opens the whole store), ours %v", len(refParts), ourParts)
	}
}

func (d *differ) compareFiles() {
	t := d.t
	rootOf := func(h *harness.Host) string { return filepath.Dir(h.Dir) }
	rt, err := harness.DumpTree(rootOf(d.refHost))
	harness.Must(t, err)
	ot, err := harness.DumpTree(rootOf(d.ourHost))
	harness.Must(t, err)
	paths := map[string]bool{}
	for p := range rt {
		paths[p] = true
	}
	for p := range ot {
		paths[p] = true
	}
	var all []string
	for p := range paths {
		all = append(all, p)
	}
	sort.Strings(all)
	for _, p := range all {
		r, inRef := rt[p]
		o, inOurs := ot[p]
		switch {
		case !inRef || !inOurs:
			isLock := p == "nodehost/LOCK" || p == "wal/LOCK"
			if inOurs && isLock && o.Size == 0 {
				t.Logf("note: %s exists only after our import (its lock check); empty", p)
				continue
			}
			t.Errorf("%s exists only in the %s result", p, map[bool]string{true: "reference", false: "our"}[inRef])
		case strings.HasSuffix(p, "/dragonboat.snapshot.message"):
			rv, err := harness.ReadSnapshotFlag(filepath.Join(rootOf(d.refHost), p))
			harness.Must(t, err)
			ov, err := harness.ReadSnapshotFlag(filepath.Join(rootOf(d.ourHost), p))
			harness.Must(t, err)
			d.compareRecords(p, rv, ov)
		case strings.HasSuffix(p, "dragonboat.ds"):
			rv, err := harness.ReadDataStatus(filepath.Join(rootOf(d.refHost), p))
			harness.Must(t, err)
			ov, err := harness.ReadDataStatus(filepath.Join(rootOf(d.ourHost), p))
			harness.Must(t, err)
			if !reflect.DeepEqual(rv, ov) {
				t.Fatalf("%s: reference %+v, ours %+v", p, rv, ov)
			}
			if r.SHA256 != o.SHA256 {
				t.Logf("note: %s bytes differ (decoded equal)", p)
			}
		default:
			if r.Mode != o.Mode || r.Size != o.Size || r.SHA256 != o.SHA256 {
				t.Errorf("%s: reference %+v, ours %+v", p, r, o)
			}
		}
	}
}

func partitionDirs(t *testing.T, h *harness.Host) []string {
	t.Helper()
	var out []string
	for _, n := range dirNames(t, harness.DeploymentDir(h.Dir, h.DeploymentID)) {
		if strings.HasPrefix(n, "logdb-") {
			out = append(out, n)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
