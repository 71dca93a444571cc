// Command refcli is a Go stand-in for the nodehost-tools CLI contract
// (`import` and `verify` with --json), built on Dragonboat's own
// tools.ImportSnapshot over the LevelDB store or Dragonboat's default Pebble
// store (dragonboat.ds decides; for a fresh host the config's logdbType,
// default sharded-pebble). It exists to prove the harness itself: run the
// suite with INTEROP_CLI pointing at a refcli binary.
//
// REFCLI_MODE=reference (default) behaves exactly like the reference, so the
// CLI tests must fail where docs/import-contract.md says we differ; REFCLI_MODE=ours adds
// those differences (lock check, source config_change_id, stale entries
// removed, full block verification; on Pebble also: partitions other than the
// shard's left byte-identical), so the CLI tests must pass.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble"
	"github.com/lni/dragonboat/v4/config"
	pb "github.com/lni/dragonboat/v4/raftpb"
	"github.com/lni/dragonboat/v4/tools"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/leveldblogdb"
)

type cliError struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

func (e *cliError) Error() string { return e.Code + ": " + e.Message }

func fail(code, format string, a ...any) *cliError {
	return &cliError{Code: code, Message: fmt.Sprintf(format, a...)}
}

func main() {
	harness.Quiet()
	if len(os.Args) < 2 {
		finish(fail("ErrUsage", "usage: refcli import|verify ..."), 2)
	}
	var err error
	switch os.Args[1] {
	case "import":
		err = runImport(os.Args[2:])
	case "verify":
		err = runVerify(os.Args[2:])
	default:
		finish(fail("ErrUsage", "unknown command %q", os.Args[1]), 2)
	}
	var ce *cliError
	if err != nil && !errors.As(err, &ce) {
		ce = fail("ErrInternal", "%v", err)
	}
	if ce != nil && ce.Code == "ErrUsage" {
		finish(ce, 2)
	}
	finish(ce, 1)
}

func finish(e *cliError, code int) {
	out := map[string]any{"ok": e == nil}
	if e != nil {
		out["error"] = e
	} else {
		code = 0
	}
	data, _ := json.Marshal(out)
	fmt.Println(string(data))
	os.Exit(code)
}

func ours() bool { return os.Getenv("REFCLI_MODE") == "ours" }

func runImport(args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "")
	src := fs.String("src", "", "")
	membersArg := fs.String("members", "", "")
	replicaID := fs.Uint64("replica-id", 0, "")
	fs.Bool("yes", false, "")
	fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		return fail("ErrUsage", "%v", err)
	}
	var cfg harness.CLIConfig
	data, err := os.ReadFile(*cfgPath)
	if err != nil {
		return fail("ErrUsage", "%v", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fail("ErrUsage", "%v", err)
	}
	members := map[uint64]string{}
	for _, part := range strings.Split(*membersArg, ",") {
		id, addr, ok := strings.Cut(part, "=")
		n, err := strconv.ParseUint(id, 10, 64)
		if !ok || err != nil {
			return fail("ErrUsage", "bad member %q", part)
		}
		members[n] = addr
	}
	host, err := hostOf(cfg)
	if err != nil {
		return err
	}
	nh := host.Config()
	var restore func() error
	if ours() {
		meta, err := harness.ReadSnapshotFlag(filepath.Join(*src, "snapshot.metadata"))
		if err != nil {
			return fail("ErrCorruptFlagFile", "%v", err)
		}
		locks := []string{filepath.Join(host.PartitionDir(host.Partition(meta.ShardID)), "LOCK")}
		for _, dir := range []string{cfg.NodeHostDir, cfg.WALDir} {
			if dir != "" {
				locks = append(locks, filepath.Join(dir, "LOCK"))
			}
		}
		for _, l := range locks {
			if err := checkUnlocked(l); err != nil {
				return err
			}
		}
		if host.Store == harness.Pebble {
			// The reference opens (and rewrites) every partition: keep the
			// others aside and put them back byte for byte afterwards.
			if restore, err = setAsideOtherPartitions(host, host.Partition(meta.ShardID)); err != nil {
				return err
			}
		}
	}
	err = tools.ImportSnapshot(nh, *src, members, *replicaID)
	if restore != nil {
		if rerr := restore(); err == nil {
			err = rerr
		}
	}
	switch {
	case errors.Is(err, tools.ErrInvalidMembers):
		return fail("ErrInvalidMembers", "%v", err)
	case errors.Is(err, tools.ErrPathNotExist):
		return fail("ErrPathNotExist", "%v", err)
	case errors.Is(err, tools.ErrIncompleteSnapshot):
		return fail("ErrIncompleteSnapshot", "%v", err)
	case err != nil:
		return err
	}
	if ours() {
		if host.Store == harness.Pebble {
			return oursAfterPebbleImport(host, *src, *replicaID)
		}
		return oursAfterImport(cfg, *src, *replicaID)
	}
	return nil
}

// hostOf is the host the CLI config describes; its store is the one
// dragonboat.ds records, else the config's logdbType, else sharded-pebble.
func hostOf(cfg harness.CLIConfig) (*harness.Host, error) {
	h := &harness.Host{Name: "refcli", Dir: cfg.NodeHostDir, WALDir: cfg.WALDir, Addr: cfg.RaftAddress,
		DeploymentID: cfg.DeploymentID, LogDBShards: cfg.LogDBShards, ExecShards: cfg.ExecShards}
	typ := cfg.LogDBType
	if ds, err := harness.ReadDataStatus(filepath.Join(cfg.NodeHostDir, "dragonboat.ds")); err == nil {
		if typ != "" && typ != ds.LogdbType {
			return nil, fail("ErrInvalidConfig", "logdbType %s, but dragonboat.ds records %s", typ, ds.LogdbType)
		}
		typ = ds.LogdbType
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fail("ErrCorruptFlagFile", "%v", err)
	}
	switch typ {
	case "", "sharded-pebble":
		h.Store = harness.Pebble
	case leveldblogdb.Name:
		h.Store = harness.LevelDB
	default:
		return nil, fail("ErrUnsupportedLogStore", "log store %q", typ)
	}
	return h, nil
}

// setAsideOtherPartitions copies every existing partition but own (data and
// WAL dirs) to a scratch dir; the returned function removes what the
// reference left in their place (or created) and restores the copies.
func setAsideOtherPartitions(h *harness.Host, own uint64) (func() error, error) {
	scratch, err := os.MkdirTemp("", "refcli-partitions-")
	if err != nil {
		return nil, err
	}
	saved := map[string]string{}
	if parts, err := h.PartitionNumbers(); err == nil {
		for _, p := range parts {
			for _, dir := range []string{h.PartitionDir(p), h.PartitionWALDir(p)} {
				if _, ok := saved[dir]; ok || p == own {
					continue
				}
				if _, err := os.Stat(dir); err != nil {
					continue
				}
				dst := filepath.Join(scratch, strconv.Itoa(len(saved)))
				if err := harness.CopyTree(dir, dst); err != nil {
					return nil, err
				}
				saved[dir] = dst
			}
		}
	}
	return func() error {
		defer os.RemoveAll(scratch)
		logDBShards, _ := h.Shards()
		for p := uint64(0); p < logDBShards; p++ {
			if p == own {
				continue
			}
			for _, dir := range []string{h.PartitionDir(p), h.PartitionWALDir(p)} {
				if err := os.RemoveAll(dir); err != nil {
					return err
				}
			}
		}
		for dir, copyDir := range saved {
			if err := harness.CopyTree(copyDir, dir); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// oursAfterPebbleImport applies docs/import-contract.md's differences to the shard's Pebble
// partition (opened alone, with Dragonboat's options): the source
// config_change_id in the record and the flag file, no entries of the replica.
func oursAfterPebbleImport(h *harness.Host, src string, replicaID uint64) error {
	meta, err := harness.ReadSnapshotFlag(filepath.Join(src, "snapshot.metadata"))
	if err != nil {
		return err
	}
	p := h.Partition(meta.ShardID)
	opts := harness.PebbleOptions(h.PartitionWALDir(p))
	db, err := pebble.Open(h.PartitionDir(p), opts)
	opts.Cache.Unref()
	if err != nil {
		return err
	}
	defer db.Close()
	key := leveldblogdb.SnapshotKey(meta.ShardID, replicaID, meta.Index)
	v, closer, err := db.Get(key)
	if err != nil {
		return fmt.Errorf("snapshot record %x: %w", key, err)
	}
	var ss pb.Snapshot
	err = ss.Unmarshal(v)
	closer.Close()
	if err != nil {
		return err
	}
	ss.Membership.ConfigChangeId = meta.Membership.ConfigChangeId
	data, err := ss.Marshal()
	if err != nil {
		return err
	}
	b := db.NewBatch()
	for _, kf := range []func(shardID, replicaID, index uint64) []byte{leveldblogdb.EntryKey, leveldblogdb.EntryBatchKey} {
		last := kf(meta.ShardID, replicaID, math.MaxUint64)
		if err := b.DeleteRange(kf(meta.ShardID, replicaID, 0), last, nil); err != nil {
			return err
		}
		if err := b.Delete(last, nil); err != nil {
			return err
		}
	}
	if err := b.Set(key, data, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	return writeFlag(filepath.Join(filepath.Dir(ss.Filepath), "dragonboat.snapshot.message"), &ss)
}

// checkUnlocked tries both lock families on path: POSIX (fcntl, Dragonboat
// and C++ LevelDB) and BSD (flock, goleveldb).
func checkUnlocked(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fail("ErrDirLocked", "%s is locked (flock)", path)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		return fail("ErrDirLocked", "%s is locked (fcntl)", path)
	}
	lk.Type = syscall.F_UNLCK
	return syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
}

// oursAfterImport applies docs/import-contract.md's differences on top of the reference
// result: the source config_change_id and no stale entries.
func oursAfterImport(cfg harness.CLIConfig, src string, replicaID uint64) error {
	meta, err := harness.ReadSnapshotFlag(filepath.Join(src, "snapshot.metadata"))
	if err != nil {
		return err
	}
	nh := config.NodeHostConfig{}
	nh.Expert.Engine = config.GetDefaultEngineConfig()
	nh.Expert.LogDB = config.GetDefaultLogDBConfig()
	store, err := leveldblogdb.Open(nh, []string{harness.DeploymentDir(cfg.NodeHostDir, cfg.DeploymentID)})
	if err != nil {
		return err
	}
	defer store.Close()
	ss, err := store.GetSnapshot(meta.ShardID, replicaID)
	if err != nil {
		return err
	}
	ss.Membership.ConfigChangeId = meta.Membership.ConfigChangeId
	if err := store.ImportSnapshot(ss, replicaID); err != nil {
		return err
	}
	if err := store.RemoveEntriesTo(meta.ShardID, replicaID, math.MaxUint64); err != nil {
		return err
	}
	final := filepath.Dir(ss.Filepath)
	return writeFlag(filepath.Join(final, "dragonboat.snapshot.message"), &ss)
}

func writeFlag(path string, ss *pb.Snapshot) error {
	payload, err := ss.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(harness.FlagHash(payload), payload...), 0o644)
}

func runVerify(args []string) error {
	var target string
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			target = a
		}
	}
	if target == "" {
		return fail("ErrUsage", "verify needs a file or directory")
	}
	gb := target
	var meta *pb.Snapshot
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		m, err := harness.ReadSnapshotFlag(filepath.Join(target, "snapshot.metadata"))
		if err != nil {
			return err
		}
		meta = &m
		gb = filepath.Join(target, filepath.Base(target)+".gbsnap")
	}
	sf, err := harness.ReadSnapFile(gb)
	if err != nil {
		return fail("ErrIncompleteSnapshot", "%v", err)
	}
	bad := func(check string) error {
		e := fail("ErrIncompleteSnapshot", "%s failed", check)
		e.Details = map[string]any{"check": check, "path": gb}
		return e
	}
	switch {
	case !sf.TailMagicOK:
		return bad("tail-magic")
	case sf.TailTotal != uint64(sf.PayloadBytes)+4*uint64(len(sf.Blocks)):
		return bad("tail-total")
	case !sf.AllBlocksOK && ours():
		return bad("block-crc")
	case meta != nil && meta.FileSize != uint64(sf.Size):
		return bad("file-size")
	case meta != nil && string(meta.Checksum) != string(sf.CRCOfCRCs):
		return bad("checksum")
	}
	return nil
}
