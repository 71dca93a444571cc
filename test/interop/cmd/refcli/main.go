// Command refcli is a Go stand-in for the nodehost-tools CLI contract
// (`import` and `verify` with --json), built on Dragonboat's own
// tools.ImportSnapshot over the LevelDB store. It exists to prove the
// harness itself: run the suite with INTEROP_CLI pointing at a refcli binary.
//
// REFCLI_MODE=reference (default) behaves exactly like the reference, so the
// CLI tests must fail where IMPORT.md says we differ; REFCLI_MODE=ours adds
// those differences (lock check, source config_change_id, stale entries
// removed, full block verification), so the CLI tests must pass.
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
	nh := config.NodeHostConfig{NodeHostDir: cfg.NodeHostDir, WALDir: cfg.WALDir,
		RaftAddress: cfg.RaftAddress, DeploymentID: cfg.DeploymentID, RTTMillisecond: 10}
	nh.Expert.LogDBFactory = leveldblogdb.Factory{}
	if ours() {
		meta, err := harness.ReadSnapshotFlag(filepath.Join(*src, "snapshot.metadata"))
		if err != nil {
			return fail("ErrCorruptFlagFile", "%v", err)
		}
		part := leveldblogdb.PartitionDirName(leveldblogdb.Partition(meta.ShardID, 16, 16))
		locks := []string{filepath.Join(harness.DeploymentDir(cfg.NodeHostDir, cfg.DeploymentID), part, "LOCK")}
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
	}
	err = tools.ImportSnapshot(nh, *src, members, *replicaID)
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
		return oursAfterImport(cfg, *src, *replicaID)
	}
	return nil
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

// oursAfterImport applies IMPORT.md's differences on top of the reference
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
