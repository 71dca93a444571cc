package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cockroachdb/pebble"
	"github.com/lni/dragonboat/v4/config"

	"nodehost-tools/interop/leveldblogdb"
)

// LogStore is the log store a host runs on.
type LogStore string

const (
	// LevelDB is leveldblogdb (type sharded-leveldb) plugged in through
	// Expert.LogDBFactory. The zero value means LevelDB: every scenario
	// written before the Pebble ones runs on it.
	LevelDB LogStore = ""
	// Pebble is Dragonboat v4's default log store (sharded-pebble): no
	// LogDBFactory, Dragonboat opens one Pebble database per partition.
	Pebble LogStore = "pebble"
)

// TypeName is the log store type dragonboat.ds records (and our CLI's logdbType).
func (s LogStore) TypeName() string {
	if s == Pebble {
		return "sharded-pebble"
	}
	return leveldblogdb.Name
}

func (s LogStore) String() string {
	if s == Pebble {
		return "pebble"
	}
	return "leveldb"
}

// HostOptions describe how a host runs; every field's zero value is the
// harness's historical setup (LevelDB store, Dragonboat's 16/16 shard counts).
type HostOptions struct {
	DeploymentID uint64 // 0 = unmanaged (1)
	WithWAL      bool
	Store        LogStore
	// LogDBShards and ExecShards: Expert.LogDB.Shards and
	// Expert.Engine.ExecShards (0 = Dragonboat's default, 16).
	LogDBShards, ExecShards uint64
	// CLILogDBType: write "logdbType" into the CLI config even where it is
	// the default (Pebble hosts leave it out otherwise, exercising the default).
	CLILogDBType bool
}

func orDefault(v uint64) uint64 {
	if v == 0 {
		return 16
	}
	return v
}

// Shards returns the effective (logDBShards, execShards).
func (h *Host) Shards() (logDBShards, execShards uint64) {
	return orDefault(h.LogDBShards), orDefault(h.ExecShards)
}

// Partition is the log store partition of shardID on h:
// (shardID % logDBShards) % execShards, as Dragonboat computes it.
func (h *Host) Partition(shardID uint64) uint64 {
	ls, es := h.Shards()
	return leveldblogdb.Partition(shardID, es, ls)
}

// PartitionDir is the data directory of partition p
// (NodeHostDir/<hostname>/<deployment>/logdb-<p>).
func (h *Host) PartitionDir(p uint64) string {
	return filepath.Join(DeploymentDir(h.Dir, h.DeploymentID), leveldblogdb.PartitionDirName(p))
}

// PartitionWALDir is the directory holding partition p's WALs: the same
// layout under WALDir when one is configured, else the partition itself.
func (h *Host) PartitionWALDir(p uint64) string {
	if h.WALDir == "" {
		return h.PartitionDir(p)
	}
	return filepath.Join(DeploymentDir(h.WALDir, h.DeploymentID), leveldblogdb.PartitionDirName(p))
}

// PartitionNumbers lists the partitions (logdb-<p>) that exist on h.
func (h *Host) PartitionNumbers() ([]uint64, error) {
	entries, err := os.ReadDir(DeploymentDir(h.Dir, h.DeploymentID))
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, e := range entries {
		var p uint64
		if e.IsDir() && strings.HasPrefix(e.Name(), "logdb-") {
			if _, err := fmt.Sscanf(e.Name(), "logdb-%d", &p); err == nil {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// applyStore sets the log store and shard counts on a NodeHostConfig.
func (h *Host) applyStore(c *config.NodeHostConfig) {
	if h.Store != Pebble {
		c.Expert.LogDBFactory = leveldblogdb.Factory{}
	}
	if h.LogDBShards != 0 || h.ExecShards != 0 {
		// A partly filled LogDB/Engine config is taken as is (zero Pebble
		// buffer sizes, zero worker counts): start from the defaults.
		c.Expert.LogDB = config.GetDefaultLogDBConfig()
		c.Expert.LogDB.Shards = orDefault(h.LogDBShards)
		c.Expert.Engine = config.GetDefaultEngineConfig()
		c.Expert.Engine.ExecShards = orDefault(h.ExecShards)
	}
}

// PebbleOptions are the Pebble options Dragonboat v4 opens a partition with
// (internal/logdb/kv/pebble/kv_pebble.go:157-242, docs/pebble-store.md "OPTIONS"), from the
// default LogDBConfig; only the logger and event listener are left out.
func PebbleOptions(walDir string) *pebble.Options {
	cfg := config.GetDefaultLogDBConfig()
	var levels []pebble.LevelOptions
	sz := int64(cfg.KVTargetFileSizeBase)
	for l := uint64(0); l < cfg.KVNumOfLevels; l++ {
		levels = append(levels, pebble.LevelOptions{
			Compression:    pebble.NoCompression,
			BlockSize:      int(cfg.KVBlockSize),
			TargetFileSize: sz,
		})
		sz *= int64(cfg.KVTargetFileSizeMultiplier)
	}
	o := &pebble.Options{
		Levels:                      levels,
		MaxManifestFileSize:         128 * 1024 * 1024, // kv_pebble.go maxLogFileSize
		MemTableSize:                int(cfg.KVWriteBufferSize),
		MemTableStopWritesThreshold: int(cfg.KVMaxWriteBufferNumber),
		LBaseMaxBytes:               int64(cfg.KVMaxBytesForLevelBase),
		L0CompactionFileThreshold:   int(cfg.KVLevel0FileNumCompactionTrigger),
		L0StopWritesThreshold:       int(cfg.KVLevel0StopWritesTrigger),
		Cache:                       pebble.NewCache(int64(cfg.KVLRUCacheSize)),
		WALDir:                      walDir,
	}
	if os.Getenv("INTEROP_VERBOSE") == "" {
		o.Logger = quietPebbleLogger{}
	}
	return o
}

type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...interface{}) {}
func (quietPebbleLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf(format, args...))
}

// PebbleOpenMode says how a partition is opened for reading.
type PebbleOpenMode int

const (
	// ReadOnly opens a copy read-only: Pebble replays the WALs into memory
	// and writes nothing.
	ReadOnly PebbleOpenMode = iota
	// ReadWrite opens a copy as Dragonboat does: Pebble replays the WALs
	// (all but the last strictly), flushes them to L0 tables and rewrites
	// the MANIFEST. A drop-in WAL with a wrong sequence number reads
	// differently here than read-only (docs/pebble-store.md writer rule 3).
	ReadWrite
)

func (m PebbleOpenMode) String() string {
	if m == ReadWrite {
		return "read-write"
	}
	return "read-only"
}

// IteratePebblePartition copies a Pebble partition (data dir and, if it is
// elsewhere, its WAL dir) to a scratch directory, opens the copy with
// Dragonboat's options in the given mode and calls op for every visible
// record. The original is never opened (its LOCK may be held; Pebble's
// read-write open would rewrite it).
func IteratePebblePartition(dataDir, walDir string, mode PebbleOpenMode, op func(k, v []byte) error) (err error) {
	scratch, err := os.MkdirTemp("", "pebble-copy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	cdata := filepath.Join(scratch, "data")
	if err := CopyTree(dataDir, cdata); err != nil {
		return fmt.Errorf("copy %s: %w", dataDir, err)
	}
	cwal := cdata
	if walDir != "" && filepath.Clean(walDir) != filepath.Clean(dataDir) {
		cwal = filepath.Join(scratch, "wal")
		if _, err := os.Stat(walDir); err == nil {
			if err := CopyTree(walDir, cwal); err != nil {
				return fmt.Errorf("copy %s: %w", walDir, err)
			}
		} else if err := os.MkdirAll(cwal, 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(cdata, "CURRENT")); err != nil {
		return fmt.Errorf("%s is not a Pebble store (no CURRENT): %w", dataDir, err)
	}
	opts := PebbleOptions(cwal)
	opts.ReadOnly = mode == ReadOnly
	opts.ErrorIfNotExists = true
	db, err := pebble.Open(cdata, opts)
	opts.Cache.Unref()
	if err != nil {
		return fmt.Errorf("pebble %s open of a copy of %s: %w", mode, dataDir, err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	it := db.NewIter(nil)
	for it.First(); it.Valid(); it.Next() {
		if err := op(append([]byte(nil), it.Key()...), append([]byte(nil), it.Value()...)); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// LevelDBFiles lists files only LevelDB writes (`LOG`, `LOG.old`, `*.ldb`)
// anywhere under the given directories (missing directories are skipped).
func LevelDBFiles(dirs ...string) ([]string, error) {
	var out []string
	for _, dir := range dirs {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			continue
		}
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			n := d.Name()
			if !d.IsDir() && (n == "LOG" || n == "LOG.old" || strings.HasSuffix(n, ".ldb")) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
