package harness

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pb "github.com/lni/dragonboat/v4/raftpb"
	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"

	"nodehost-tools/interop/leveldblogdb"
)

// ReadFlagFile reads `md5(payload)[8:16] || payload` (docs/formats.md §2) and
// checks the hash itself rather than trusting Dragonboat's reader.
func ReadFlagFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 8 {
		return nil, fmt.Errorf("%s: %d bytes, shorter than the hash", path, len(data))
	}
	sum := md5.Sum(data[8:])
	if !bytes.Equal(sum[8:], data[:8]) {
		return nil, fmt.Errorf("%s: flag hash mismatch", path)
	}
	return data[8:], nil
}

// FlagHash is the 8-byte hash that prefixes a flag file's payload.
func FlagHash(payload []byte) []byte {
	sum := md5.Sum(payload)
	return append([]byte(nil), sum[8:]...)
}

// ReadSnapshotFlag decodes a Snapshot flag file (snapshot.metadata,
// dragonboat.snapshot.message).
func ReadSnapshotFlag(path string) (pb.Snapshot, error) {
	payload, err := ReadFlagFile(path)
	if err != nil {
		return pb.Snapshot{}, err
	}
	var ss pb.Snapshot
	err = ss.Unmarshal(payload)
	return ss, err
}

// ReadDataStatus decodes a dragonboat.ds flag file.
func ReadDataStatus(path string) (pb.RaftDataStatus, error) {
	payload, err := ReadFlagFile(path)
	if err != nil {
		return pb.RaftDataStatus{}, err
	}
	var s pb.RaftDataStatus
	err = s.Unmarshal(payload)
	return s, err
}

// Hostname is the H of docs/formats.md §4.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil {
		panic(err)
	}
	return h
}

// DeploymentDir is NodeHostDir/H/D.
func DeploymentDir(nhDir string, deploymentID uint64) string {
	if deploymentID == 0 {
		deploymentID = 1
	}
	return filepath.Join(nhDir, Hostname(), fmt.Sprintf("%020d", deploymentID))
}

// SnapshotRoot is a node's snapshot root directory.
func SnapshotRoot(nhDir string, deploymentID, shardID, replicaID uint64) string {
	return filepath.Join(DeploymentDir(nhDir, deploymentID),
		fmt.Sprintf("snapshot-part-%d", shardID%512),
		fmt.Sprintf("snapshot-%d-%d", shardID, replicaID))
}

// RawRecord is one key/value of a node, value kept verbatim.
type RawRecord struct {
	Key   []byte
	Value []byte
}

// NodeDump is everything a partition holds for one (shard, replica), decoded.
type NodeDump struct {
	Partition    uint64
	Bootstrap    *pb.Bootstrap
	State        *pb.State
	MaxIndex     *uint64
	Snapshots    map[uint64]pb.Snapshot
	EntryIndexes []uint64
	BatchIDs     []uint64
	HasNodeInfo  bool
	// Raw holds every record of the node by key kind (for byte-level reports).
	Raw map[byte][]RawRecord
	// OtherNodeKeys counts keys of other nodes in the same partition.
	OtherNodeKeys int
	// OtherPartitionKeys counts keys in the remaining partitions.
	OtherPartitionKeys int
}

// DumpNode opens every existing partition read-only (goleveldb) and decodes
// the node's records; LevelDB store, Dragonboat's default 16/16 partitions.
func DumpNode(nhDir string, deploymentID, shardID, replicaID uint64) (NodeDump, error) {
	return DumpHostNode(&Host{Dir: nhDir, DeploymentID: deploymentID}, shardID, replicaID, ReadOnly)
}

// DumpHostNode decodes the node's records from h's log store, whichever it
// is, in every partition that exists (the other partitions only count their
// records). Pebble partitions are read from copies opened with Dragonboat's
// options in mode; LevelDB ones read-only in place.
func DumpHostNode(h *Host, shardID, replicaID uint64, mode PebbleOpenMode) (NodeDump, error) {
	p := h.Partition(shardID)
	d := NodeDump{Partition: p, Snapshots: map[uint64]pb.Snapshot{}, Raw: map[byte][]RawRecord{}}
	parts, err := h.PartitionNumbers()
	if err != nil {
		return d, err
	}
	for _, part := range parts {
		name := leveldblogdb.PartitionDirName(part)
		isOwn := part == p
		op := func(k, v []byte) error {
			if !isOwn {
				d.OtherPartitionKeys++
				return nil
			}
			pk, err := leveldblogdb.ParseKey(k)
			if err != nil {
				return fmt.Errorf("%s: key % x: %w", name, k, err)
			}
			if pk.ShardID != shardID || pk.ReplicaID != replicaID {
				d.OtherNodeKeys++
				return nil
			}
			d.Raw[pk.Header] = append(d.Raw[pk.Header], RawRecord{Key: k, Value: v})
			return d.decode(pk, v)
		}
		if h.Store == Pebble {
			err = IteratePebblePartition(h.PartitionDir(part), h.PartitionWALDir(part), mode, op)
		} else {
			err = iterateDB(h.PartitionDir(part), op)
		}
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

// ShardRecords counts, per partition of h, the records of any replica of shardID.
func ShardRecords(h *Host, shardID uint64) (map[uint64]int, error) {
	parts, err := h.PartitionNumbers()
	if err != nil {
		return nil, err
	}
	out := map[uint64]int{}
	for _, part := range parts {
		op := func(k, _ []byte) error {
			if pk, err := leveldblogdb.ParseKey(k); err == nil && pk.ShardID == shardID {
				out[part]++
			}
			return nil
		}
		if h.Store == Pebble {
			err = IteratePebblePartition(h.PartitionDir(part), h.PartitionWALDir(part), ReadOnly, op)
		} else {
			err = iterateDB(h.PartitionDir(part), op)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *NodeDump) decode(pk leveldblogdb.ParsedKey, v []byte) error {
	switch pk.Header {
	case leveldblogdb.HeaderEntry:
		d.EntryIndexes = append(d.EntryIndexes, pk.Index)
	case leveldblogdb.HeaderEntryBatch:
		d.BatchIDs = append(d.BatchIDs, pk.Index)
	case leveldblogdb.HeaderNodeInfo:
		d.HasNodeInfo = true
	case leveldblogdb.HeaderMaxIndex:
		if len(v) != 8 {
			return fmt.Errorf("max index value of %d bytes", len(v))
		}
		mi := binary.BigEndian.Uint64(v)
		d.MaxIndex = &mi
	case leveldblogdb.HeaderState:
		var st pb.State
		if err := st.Unmarshal(v); err != nil {
			return fmt.Errorf("state: %w", err)
		}
		d.State = &st
	case leveldblogdb.HeaderBootstrap:
		var bs pb.Bootstrap
		if err := bs.Unmarshal(v); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		d.Bootstrap = &bs
	case leveldblogdb.HeaderSnapshot:
		var ss pb.Snapshot
		if err := ss.Unmarshal(v); err != nil {
			return fmt.Errorf("snapshot record %d: %w", pk.Index, err)
		}
		d.Snapshots[pk.Index] = ss
	default:
		return fmt.Errorf("unknown key header %#x", pk.Header)
	}
	return nil
}

func iterateDB(dir string, op func(k, v []byte) error) error {
	db, err := leveldb.OpenFile(dir, &opt.Options{ReadOnly: true, ErrorIfMissing: true})
	if err != nil {
		return fmt.Errorf("open %s read-only: %w", dir, err)
	}
	defer db.Close()
	it := db.NewIterator(nil, nil)
	defer it.Release()
	for it.Next() {
		if err := op(append([]byte(nil), it.Key()...), append([]byte(nil), it.Value()...)); err != nil {
			return err
		}
	}
	return it.Error()
}

// FileInfo describes one file of a tree dump.
type FileInfo struct {
	Mode   fs.FileMode
	Size   int64
	SHA256 string
}

// TreeDump maps slash-separated relative paths to files; directories end in "/".
type TreeDump map[string]FileInfo

// DumpTree walks root, skipping log store partitions (logdb-*, compared by
// DumpNode).
func DumpTree(root string) (TreeDump, error) { return dumpTree(root, true) }

// DumpTreeAll walks root including log store partitions (byte-level hashes
// of every file).
func DumpTreeAll(root string) (TreeDump, error) { return dumpTree(root, false) }

func dumpTree(root string, skipLogDB bool) (TreeDump, error) {
	out := TreeDump{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if skipLogDB && strings.HasPrefix(d.Name(), "logdb-") {
				return filepath.SkipDir
			}
			if rel != "." {
				out[rel+"/"] = FileInfo{Mode: fs.ModeDir}
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[rel] = FileInfo{Mode: info.Mode(), Size: info.Size(), SHA256: hex.EncodeToString(sum[:])}
		return nil
	})
	return out, err
}

// Paths lists the dump's paths in order.
func (t TreeDump) Paths() []string {
	out := make([]string, 0, len(t))
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// CopyTree copies src to dst (files, dirs, modes; no special files).
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chmod(target, info.Mode().Perm())
	})
}
