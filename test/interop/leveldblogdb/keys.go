// Package leveldblogdb is a Dragonboat v4 log store (raftio.ILogDB) kept in
// LevelDB (goleveldb), one database per partition, with exactly the key
// layout of Dragonboat's own sharded log store (docs/formats.md §4–§5). It exists
// so the interop harness can run the real Dragonboat on the kind of data
// directory the nodehost-tools CLI repairs.
package leveldblogdb

import (
	"encoding/binary"
	"fmt"
)

// Key headers, one per record kind (docs/formats.md §5). Every key is
// header(2) || 00 00 || shardID(8, BE) || replicaID(8, BE) [|| index(8, BE)].
const (
	HeaderEntry      byte = 0x01
	HeaderState      byte = 0x02
	HeaderMaxIndex   byte = 0x03
	HeaderNodeInfo   byte = 0x04
	HeaderSnapshot   byte = 0x05
	HeaderBootstrap  byte = 0x06
	HeaderEntryBatch byte = 0x07
)

const (
	shortKeySize = 20
	longKeySize  = 28
)

func nodeKey(header byte, shardID, replicaID uint64) []byte {
	k := make([]byte, shortKeySize)
	k[0], k[1] = header, header
	binary.BigEndian.PutUint64(k[4:], shardID)
	binary.BigEndian.PutUint64(k[12:], replicaID)
	return k
}

func indexedKey(header byte, shardID, replicaID, index uint64) []byte {
	k := make([]byte, longKeySize)
	k[0], k[1] = header, header
	binary.BigEndian.PutUint64(k[4:], shardID)
	binary.BigEndian.PutUint64(k[12:], replicaID)
	binary.BigEndian.PutUint64(k[20:], index)
	return k
}

// EntryKey is the key of the plain (format 100) entry at index.
func EntryKey(shardID, replicaID, index uint64) []byte {
	return indexedKey(HeaderEntry, shardID, replicaID, index)
}

// EntryBatchKey is the key of a batched (format 210) entry batch.
func EntryBatchKey(shardID, replicaID, batchID uint64) []byte {
	return indexedKey(HeaderEntryBatch, shardID, replicaID, batchID)
}

// StateKey is the key of the persistent raft state (pb.State).
func StateKey(shardID, replicaID uint64) []byte {
	return nodeKey(HeaderState, shardID, replicaID)
}

// MaxIndexKey is the key of the highest saved entry index (8 bytes BE).
func MaxIndexKey(shardID, replicaID uint64) []byte {
	return nodeKey(HeaderMaxIndex, shardID, replicaID)
}

// NodeInfoKey is the node info key; Dragonboat v4 defines it but never writes it.
func NodeInfoKey(shardID, replicaID uint64) []byte {
	return nodeKey(HeaderNodeInfo, shardID, replicaID)
}

// SnapshotKey is the key of the snapshot record saved at index.
func SnapshotKey(shardID, replicaID, index uint64) []byte {
	return indexedKey(HeaderSnapshot, shardID, replicaID, index)
}

// BootstrapKey is the key of the bootstrap record (pb.Bootstrap).
func BootstrapKey(shardID, replicaID uint64) []byte {
	return nodeKey(HeaderBootstrap, shardID, replicaID)
}

// ParsedKey is a decoded log store key.
type ParsedKey struct {
	Header    byte
	ShardID   uint64
	ReplicaID uint64
	// Index is the entry index, batch ID or snapshot index (long keys only).
	Index    uint64
	HasIndex bool
}

// ParseKey decodes a key written with this layout.
func ParseKey(k []byte) (ParsedKey, error) {
	if len(k) != shortKeySize && len(k) != longKeySize {
		return ParsedKey{}, fmt.Errorf("key of %d bytes, want 20 or 28", len(k))
	}
	if k[0] != k[1] || k[2] != 0 || k[3] != 0 {
		return ParsedKey{}, fmt.Errorf("bad key header % x", k[:4])
	}
	p := ParsedKey{
		Header:    k[0],
		ShardID:   binary.BigEndian.Uint64(k[4:]),
		ReplicaID: binary.BigEndian.Uint64(k[12:]),
	}
	if len(k) == longKeySize {
		p.Index = binary.BigEndian.Uint64(k[20:])
		p.HasIndex = true
	}
	return p, nil
}

// Partition returns the partition (logdb-<p>) holding shardID, exactly as
// Dragonboat's DoubleFixedPartitioner(ExecShards, LogDBShards) computes it:
// (shardID % logDBShards) % execShards.
func Partition(shardID, execShards, logDBShards uint64) uint64 {
	return (shardID % logDBShards) % execShards
}

// PartitionDirName is the directory name of partition p inside <NodeHostDir>/<host>/<deployment>.
func PartitionDirName(p uint64) string {
	return fmt.Sprintf("logdb-%d", p)
}
