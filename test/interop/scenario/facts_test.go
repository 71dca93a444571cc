package scenario

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/lni/dragonboat/v4/config"
	pb "github.com/lni/dragonboat/v4/raftpb"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/leveldblogdb"
	"nodehost-tools/interop/sm"
)

// TestFormatFacts pins what Dragonboat itself writes, as docs/formats.md states
// it, plus the facts the spec is silent on. Each sub-test names its fact.
func TestFormatFacts(t *testing.T) {
	s := seedClone(t, harness.SeedOptions{Kind: harness.Regular})
	m1 := s.Host(1)
	base := filepath.Base(s.ExportDir)

	t.Run("exported dir holds exactly the gbsnap and snapshot.metadata", func(t *testing.T) {
		names := dirNames(t, s.ExportDir)
		want := []string{base + ".gbsnap", "snapshot.metadata"}
		if strings.Join(names, ",") != strings.Join(want, ",") {
			t.Fatalf("export dir %s holds %v, want %v", s.ExportDir, names, want)
		}
		if base != fmt.Sprintf("snapshot-%016X", s.SnapshotIndex) {
			t.Fatalf("dir name %s for index %d", base, s.SnapshotIndex)
		}
	})

	t.Run("snapshot.metadata is the export's Snapshot record", func(t *testing.T) {
		ss, err := harness.ReadSnapshotFlag(filepath.Join(s.ExportDir, "snapshot.metadata"))
		harness.Must(t, err)
		gb := filepath.Join(s.ExportDir, base+".gbsnap")
		fi, err := os.Stat(gb)
		harness.Must(t, err)
		sf, err := harness.ReadSnapFile(gb)
		harness.Must(t, err)
		// The record names the file by its absolute path at export time (the
		// seed's original export dir; this test runs on a copy).
		if !filepath.IsAbs(ss.Filepath) || filepath.Base(ss.Filepath) != base+".gbsnap" ||
			filepath.Base(filepath.Dir(ss.Filepath)) != base {
			t.Fatalf("filepath %q, want an absolute path ending in %s/%s.gbsnap", ss.Filepath, base, base)
		}
		if ss.FileSize != uint64(fi.Size()) || ss.Index != s.SnapshotIndex || ss.ShardID != harness.ShardID ||
			ss.Type != pb.RegularStateMachine || ss.Dummy || ss.Imported || ss.Witness || ss.OnDiskIndex != 0 ||
			len(ss.Files) != 0 {
			t.Fatalf("record %+v", ss)
		}
		if !bytes.Equal(ss.Checksum, sf.CRCOfCRCs) {
			t.Fatalf("record checksum % x, CRC of block CRCs % x", ss.Checksum, sf.CRCOfCRCs)
		}
		if ss.Term == 0 || ss.Membership.ConfigChangeId == 0 || ss.Membership.ConfigChangeId >= ss.Index {
			t.Fatalf("term %d, config change id %d, index %d", ss.Term, ss.Membership.ConfigChangeId, ss.Index)
		}
		if len(ss.Membership.Addresses) != 3 || ss.Membership.NonVotings[s.NonVotingID] == "" ||
			!ss.Membership.Removed[s.RemovedID] || len(ss.Membership.Witnesses) != 0 {
			t.Fatalf("membership %+v", ss.Membership)
		}
		t.Logf("record: index %d term %d file_size %d ccid %d addresses %v non_votings %v removed %v checksum % x",
			ss.Index, ss.Term, ss.FileSize, ss.Membership.ConfigChangeId, ss.Membership.Addresses,
			ss.Membership.NonVotings, ss.Membership.Removed, ss.Checksum)
	})

	t.Run("gbsnap header area and v2 layout", func(t *testing.T) {
		sf, err := harness.ReadSnapFile(filepath.Join(s.ExportDir, base+".gbsnap"))
		harness.Must(t, err)
		h := sf.Header
		if h.Version != 2 || h.ChecksumType != pb.CRC32IEEE || h.CompressionType != pb.NoCompression {
			t.Fatalf("header %+v", h)
		}
		if h.SessionSize != 0 || h.DataStoreSize != 0 || h.GitVersion != "" || h.UnreliableTime == 0 {
			t.Fatalf("v4 header fields: %+v", h)
		}
		if sf.HeaderCRC != [4]byte{} || !sf.RestIsZero {
			t.Fatalf("header-area CRC % x (Dragonboat leaves it zero), rest zero %t", sf.HeaderCRC, sf.RestIsZero)
		}
		if !sf.HeaderChecksumOK() {
			t.Fatal("header_checksum is not the CRC32 (big-endian) of the header without field 5")
		}
		if !bytes.Equal(h.PayloadChecksum, sf.CRCOfCRCs) || !sf.AllBlocksOK || !sf.TailMagicOK {
			t.Fatalf("payload checksum % x vs % x, blocks ok %t, magic ok %t",
				h.PayloadChecksum, sf.CRCOfCRCs, sf.AllBlocksOK, sf.TailMagicOK)
		}
		if sf.TailTotal != uint64(sf.PayloadBytes)+4*uint64(len(sf.Blocks)) || harness.V2FileSize(sf.PayloadBytes) != sf.Size {
			t.Fatalf("tail total %d, payload %d, blocks %d, size %d", sf.TailTotal, sf.PayloadBytes, len(sf.Blocks), sf.Size)
		}
		t.Logf("header: %d bytes % x", sf.HeaderLen, sf.HeaderBytes)
		t.Logf("payload %d bytes in %d block(s), file %d bytes", sf.PayloadBytes, len(sf.Blocks), sf.Size)
	})

	t.Run("dragonboat.ds written for the LevelDB store", func(t *testing.T) {
		ds, err := harness.ReadDataStatus(filepath.Join(m1.Dir, "dragonboat.ds"))
		harness.Must(t, err)
		want := pb.RaftDataStatus{Address: m1.Addr, BinVer: 100, HardHash: 0, LogdbType: "sharded-leveldb",
			Hostname: harness.Hostname(), DeploymentId: 1, StepWorkerCount: 16, LogdbShardCount: 16,
			MaxSessionCount: 4096, EntryBatchSize: 48, AddressByNodeHostId: false}
		if fmt.Sprintf("%+v", ds) != fmt.Sprintf("%+v", want) {
			t.Fatalf("dragonboat.ds\n got %+v\nwant %+v", ds, want)
		}
	})

	t.Run("NODEHOST.ID flag file sits beside dragonboat.ds", func(t *testing.T) {
		payload, err := harness.ReadFlagFile(filepath.Join(m1.Dir, "NODEHOST.ID"))
		harness.Must(t, err)
		t.Logf("NODEHOST.ID payload %d bytes: % x", len(payload), payload)
	})

	t.Run("a node's own snapshot dir also holds snapshot.metadata", func(t *testing.T) {
		root := harness.SnapshotRoot(m1.Dir, 0, harness.ShardID, 1)
		local := fmt.Sprintf("snapshot-%016X", s.LocalSnapshotIndex)
		if got := dirNames(t, root); strings.Join(got, ",") != local {
			t.Fatalf("snapshot root holds %v, want only %s", got, local)
		}
		names := dirNames(t, filepath.Join(root, local))
		if strings.Join(names, ",") != local+".gbsnap,snapshot.metadata" {
			t.Fatalf("local snapshot dir holds %v", names)
		}
	})

	t.Run("log store records as Dragonboat leaves them", func(t *testing.T) {
		d, err := harness.DumpNode(m1.Dir, 0, harness.ShardID, 1)
		harness.Must(t, err)
		if d.Partition != 4 || d.Bootstrap == nil || d.State == nil || d.MaxIndex == nil || d.HasNodeInfo || len(d.BatchIDs) != 0 {
			t.Fatalf("dump %+v", d)
		}
		if len(d.Snapshots) != 1 || d.Snapshots[s.LocalSnapshotIndex].Index != s.LocalSnapshotIndex {
			t.Fatalf("snapshot records %v, want only %d", keysOf(d.Snapshots), s.LocalSnapshotIndex)
		}
		if *d.MaxIndex < s.LastIndex || d.EntryIndexes[len(d.EntryIndexes)-1] != *d.MaxIndex {
			t.Fatalf("max index %d, last entry %d, last applied %d", *d.MaxIndex,
				d.EntryIndexes[len(d.EntryIndexes)-1], s.LastIndex)
		}
		// Compaction removed entries below local snapshot - CompactionOverhead.
		if d.EntryIndexes[0] > s.LocalSnapshotIndex {
			t.Fatalf("first entry %d above the local snapshot %d", d.EntryIndexes[0], s.LocalSnapshotIndex)
		}
		if d.Bootstrap.Join || len(d.Bootstrap.Addresses) != 3 || d.Bootstrap.Type != pb.RegularStateMachine {
			t.Fatalf("bootstrap %+v", d.Bootstrap)
		}
		// Entry values are Dragonboat's Colfer encoding (pb.Entry.Marshal), not protobuf.
		raw := d.Raw[leveldblogdb.HeaderEntry][len(d.Raw[leveldblogdb.HeaderEntry])-1]
		var e pb.Entry
		harness.Must(t, e.Unmarshal(raw.Value))
		t.Logf("entry %d value (colfer) % x", e.Index, raw.Value)
		st := d.Raw[leveldblogdb.HeaderState][0].Value
		bs := d.Raw[leveldblogdb.HeaderBootstrap][0].Value
		t.Logf("state value % x (%+v); bootstrap value % x", st, *d.State, bs)
		t.Logf("entries %d..%d (%d keys), other partitions' keys %d",
			d.EntryIndexes[0], d.EntryIndexes[len(d.EntryIndexes)-1], len(d.EntryIndexes), d.OtherPartitionKeys)
	})

	t.Run("running NodeHost locks: fcntl on NodeHostDir/LOCK, flock on LevelDB LOCK", func(t *testing.T) {
		harness.Must(t, m1.Start())
		t.Cleanup(m1.Stop)
		// NewNodeHost takes both kinds of lock before it returns.
		harness.Must(t, m1.StartReplica(harness.Regular, harness.ShardID, 1, nil, sm.KVOptions{}, config.NoCompression))
		nhLock := lockKinds(t, filepath.Join(m1.Dir, "LOCK"))
		partLock := lockKinds(t, filepath.Join(harness.DeploymentDir(m1.Dir, 0), "logdb-4", "LOCK"))
		if strings.Join(nhLock, ",") != "POSIX" {
			t.Fatalf("NodeHostDir/LOCK locks %v, want one POSIX (fcntl) lock", nhLock)
		}
		if strings.Join(partLock, ",") != "FLOCK" {
			t.Fatalf("logdb-4/LOCK locks %v, want one FLOCK (goleveldb uses flock(2))", partLock)
		}
	})
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	harness.Must(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func keysOf(m map[uint64]pb.Snapshot) []uint64 {
	var out []uint64
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// lockKinds lists the /proc/locks kinds (POSIX, FLOCK, OFDLCK) held on path.
func lockKinds(t *testing.T, path string) []string {
	t.Helper()
	var st syscall.Stat_t
	harness.Must(t, syscall.Stat(path, &st))
	data, err := os.ReadFile("/proc/locks")
	harness.Must(t, err)
	suffix := fmt.Sprintf(":%d", st.Ino)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
		if len(f) >= 6 && strings.HasSuffix(f[5], suffix) {
			out = append(out, f[1])
		}
	}
	sort.Strings(out)
	return out
}
