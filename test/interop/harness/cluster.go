// Package harness runs real Dragonboat v4 NodeHosts on the LevelDB log
// store or on Dragonboat's default Pebble store, drives the nodehost-tools CLI, and dumps data directories so the
// scenario tests can compare them.
package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"

	"nodehost-tools/interop/sm"
)

// ShardID is the shard of the seed scenario.
const ShardID uint64 = 100

var quietOnce sync.Once

// Quiet lowers Dragonboat's logging to errors (set INTEROP_VERBOSE=1 to keep it).
func Quiet() {
	quietOnce.Do(func() {
		if os.Getenv("INTEROP_VERBOSE") != "" {
			return
		}
		for _, name := range []string{"dragonboat", "raft", "rsm", "transport", "logdb",
			"raftpb", "config", "server", "tools", "settings", "gossip", "registry",
			"LogDB", "pebblekv", "raft-mt", "tan"} {
			lvl := logger.ERROR
			if name == "transport" {
				lvl = logger.CRITICAL
			}
			logger.GetLogger(name).SetLevel(lvl)
		}
	})
}

// handedOut holds every address FreeAddr has returned in this process.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// FreeAddr returns a 127.0.0.1 address with a port that was free just now
// and that it has never returned before: the kernel may give the port just
// released to the next bind, and two hosts of one test with one address make
// a membership the tool refuses.
func FreeAddr() (string, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	// A port already handed out stays bound until a new one comes, so the
	// kernel cannot offer it again and again.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for len(held) < 1000 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		held = append(held, l)
		addr := l.Addr().String()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr, nil
		}
	}
	return "", fmt.Errorf("no loopback port this process has not handed out already in %d binds", len(held))
}

// Host is one NodeHost's identity and directories; it outlives the running
// NodeHost so a test can stop, import and restart it.
type Host struct {
	Name         string
	Dir          string // NodeHostDir
	WALDir       string // optional
	Addr         string // RaftAddress
	DeploymentID uint64 // 0 = unmanaged (1)
	// Store is the log store; LogDBShards/ExecShards the shard counts (0 = 16).
	Store                   LogStore
	LogDBShards, ExecShards uint64
	// CLILogDBType: see HostOptions.
	CLILogDBType bool
	// SMDir holds on-disk state machine data and scratch files (outside NodeHostDir).
	SMDir string
	NH    *dragonboat.NodeHost
}

// NewHost lays out a host under root/name with a fresh loopback address.
func NewHost(root, name string, o HostOptions) (*Host, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	h := &Host{
		Name:         name,
		Dir:          filepath.Join(root, name, "nodehost"),
		Addr:         addr,
		DeploymentID: o.DeploymentID,
		Store:        o.Store,
		LogDBShards:  o.LogDBShards,
		ExecShards:   o.ExecShards,
		CLILogDBType: o.CLILogDBType,
		SMDir:        filepath.Join(root, name, "sm"),
	}
	if o.WithWAL {
		h.WALDir = filepath.Join(root, name, "wal")
	}
	return h, nil
}

// Config is the NodeHostConfig this host always runs with.
func (h *Host) Config() config.NodeHostConfig {
	c := config.NodeHostConfig{
		NodeHostDir:    h.Dir,
		WALDir:         h.WALDir,
		RaftAddress:    h.Addr,
		DeploymentID:   h.DeploymentID,
		RTTMillisecond: 10,
	}
	h.applyStore(&c)
	return c
}

// Start creates the NodeHost (not the replica).
func (h *Host) Start() error {
	Quiet()
	if h.NH != nil {
		return fmt.Errorf("%s already running", h.Name)
	}
	nh, err := dragonboat.NewNodeHost(h.Config())
	if err != nil {
		return fmt.Errorf("start NodeHost %s: %w", h.Name, err)
	}
	h.NH = nh
	return nil
}

// Stop closes the NodeHost if it runs.
func (h *Host) Stop() {
	if h.NH != nil {
		h.NH.Close()
		h.NH = nil
	}
}

// SMKind selects the state machine flavour of a scenario.
type SMKind int

const (
	// Regular is sm.KV (IStateMachine).
	Regular SMKind = iota
	// OnDisk is sm.DiskKV (IOnDiskStateMachine).
	OnDisk
)

func (k SMKind) String() string {
	if k == OnDisk {
		return "ondisk"
	}
	return "regular"
}

// ShardConfig is the replica configuration used everywhere.
func ShardConfig(shardID, replicaID uint64, ct config.CompressionType) config.Config {
	return config.Config{
		ShardID:                 shardID,
		ReplicaID:               replicaID,
		ElectionRTT:             10,
		HeartbeatRTT:            1,
		CheckQuorum:             true,
		SnapshotEntries:         0,
		CompactionOverhead:      5,
		SnapshotCompressionType: ct,
	}
}

// StartReplica starts replica on h; members empty means restart/joined node.
func (h *Host) StartReplica(kind SMKind, shardID, replicaID uint64,
	members map[uint64]string, opts sm.KVOptions, ct config.CompressionType) error {
	cfg := ShardConfig(shardID, replicaID, ct)
	targets := map[uint64]dragonboat.Target{}
	for id, a := range members {
		targets[id] = a
	}
	var err error
	switch kind {
	case OnDisk:
		err = h.NH.StartOnDiskReplica(targets, false, sm.NewDiskKV(h.SMDir), cfg)
	default:
		err = h.NH.StartReplica(targets, false, sm.NewKV(opts), cfg)
	}
	if err != nil {
		return fmt.Errorf("start replica %d on %s: %w", replicaID, h.Name, err)
	}
	return nil
}

func retryable(err error) bool {
	return errors.Is(err, dragonboat.ErrShardNotReady) || errors.Is(err, dragonboat.ErrTimeout) ||
		errors.Is(err, dragonboat.ErrSystemBusy) || errors.Is(err, dragonboat.ErrShardNotFound) ||
		errors.Is(err, dragonboat.ErrAborted) || errors.Is(err, dragonboat.ErrRejected) ||
		errors.Is(err, dragonboat.ErrShardClosed) || errors.Is(err, dragonboat.ErrShardNotInitialized) ||
		errors.Is(err, context.DeadlineExceeded)
}

// retry runs op until it succeeds, fails for good, or total elapses.
func retry(total time.Duration, op func(ctx context.Context) error) error {
	deadline := time.Now().Add(total)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := op(ctx)
		cancel()
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Propose commits one Set proposal through h.
func (h *Host) Propose(shardID uint64, key, value string) error {
	return retry(30*time.Second, func(ctx context.Context) error {
		_, err := h.NH.SyncPropose(ctx, h.NH.GetNoOPSession(shardID), sm.Set(key, value))
		return err
	})
}

// Read does a linearizable read of the whole state through h.
func (h *Host) Read(shardID uint64) (sm.State, error) {
	var st sm.State
	err := retry(30*time.Second, func(ctx context.Context) error {
		v, err := h.NH.SyncRead(ctx, shardID, sm.Query{})
		if err != nil {
			return err
		}
		st = v.(sm.State)
		return nil
	})
	return st, err
}

// StaleState reads h's local state machine without a quorum round.
func (h *Host) StaleState(shardID uint64) (sm.State, error) {
	v, err := h.NH.StaleRead(shardID, sm.Query{})
	if err != nil {
		return sm.State{}, err
	}
	return v.(sm.State), nil
}

// Membership reads the shard membership through h.
func (h *Host) Membership(shardID uint64) (*dragonboat.Membership, error) {
	var m *dragonboat.Membership
	err := retry(30*time.Second, func(ctx context.Context) error {
		var err error
		m, err = h.NH.SyncGetShardMembership(ctx, shardID)
		return err
	})
	return m, err
}

// ExportSnapshot asks h for an exported snapshot into exportRoot and returns
// its index and the exported directory (exportRoot/snapshot-<INDEX>).
func (h *Host) ExportSnapshot(shardID uint64, exportRoot string) (uint64, string, error) {
	if err := os.MkdirAll(exportRoot, 0o755); err != nil {
		return 0, "", err
	}
	var index uint64
	err := retry(60*time.Second, func(ctx context.Context) error {
		var err error
		index, err = h.NH.SyncRequestSnapshot(ctx, shardID,
			dragonboat.SnapshotOption{Exported: true, ExportPath: exportRoot})
		return err
	})
	if err != nil {
		return 0, "", fmt.Errorf("export snapshot from %s: %w", h.Name, err)
	}
	return index, filepath.Join(exportRoot, fmt.Sprintf("snapshot-%016X", index)), nil
}

// WaitLeader waits until one of hosts reports a leader for shardID.
func WaitLeader(shardID uint64, timeout time.Duration, hosts ...*Host) (uint64, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, h := range hosts {
			if h.NH == nil {
				continue
			}
			id, _, ok, err := h.NH.GetLeaderID(shardID)
			if err == nil && ok && id != 0 {
				return id, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("no leader for shard %d within %v", shardID, timeout)
}

// WaitApplied waits until every host's local state machine has applied index.
func WaitApplied(shardID, index uint64, timeout time.Duration, hosts ...*Host) error {
	deadline := time.Now().Add(timeout)
	for _, h := range hosts {
		for {
			st, err := h.StaleState(shardID)
			if err == nil && st.LastIndex >= index {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not apply index %d within %v (state %+v, %v)",
					h.Name, index, timeout, st, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// StopAll stops every host (for t.Cleanup).
func StopAll(hosts ...*Host) {
	for _, h := range hosts {
		if h != nil {
			h.Stop()
		}
	}
}

// Must fails the test on err.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
