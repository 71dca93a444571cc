// Package scenario runs the seed repair scenario for real: Dragonboat v4
// NodeHosts on the LevelDB log store, the reference tools.ImportSnapshot, and
// the nodehost-tools CLI, on temp directories and 127.0.0.1 ports only.
package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/config"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/sm"
)

var (
	tmpRoot string
	seedMu  sync.Mutex
	seeds   = map[harness.SeedOptions]*harness.Seed{}
	cloneN  int
)

func TestMain(m *testing.M) {
	harness.Quiet()
	dir, err := os.MkdirTemp("", "nodehost-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	tmpRoot = dir
	code := m.Run()
	if os.Getenv("INTEROP_KEEP") == "" {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "INTEROP_KEEP: kept %s\n", dir)
	}
	os.Exit(code)
}

// seedClone builds the seed of these options once per run and hands every
// caller its own copy (same addresses; tests run one after another).
func seedClone(t *testing.T, o harness.SeedOptions) *harness.Seed {
	t.Helper()
	seedMu.Lock()
	defer seedMu.Unlock()
	s, ok := seeds[o]
	if !ok {
		start := time.Now()
		root := filepath.Join(tmpRoot, fmt.Sprintf("seed-%s-%s-%d-%t", o.Store, o.Kind, o.DeploymentID, o.WithWAL))
		var err error
		s, err = harness.BuildSeed(root, o)
		if err != nil {
			t.Fatalf("seed scenario (%+v): %v", o, err)
		}
		t.Logf("seed %s/%s built in %v: export index %d (term %d, config change id %d), local snapshot %d, last index %d",
			o.Store, o.Kind, time.Since(start).Round(time.Millisecond), s.SnapshotIndex, s.SnapshotTerm,
			s.ConfigChangeID, s.LocalSnapshotIndex, s.LastIndex)
		seeds[o] = s
	}
	cloneN++
	c, err := s.Clone(filepath.Join(tmpRoot, fmt.Sprintf("clone-%d", cloneN)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newHosts lays out fresh hosts (empty directories, new ports) under root.
func newHosts(t *testing.T, root string, o harness.SeedOptions, names ...string) []*harness.Host {
	t.Helper()
	var out []*harness.Host
	for _, n := range names {
		h, err := harness.NewHost(root, n, o.HostOptions())
		harness.Must(t, err)
		out = append(out, h)
	}
	return out
}

// checkRepairedShard starts the three repaired hosts and checks docs/import-contract.md's
// promise: a leader, the snapshot's state, membership {1,4,5} with the old
// IDs removed, and new proposals committed everywhere.
func checkRepairedShard(t *testing.T, seed *harness.Seed, hosts map[uint64]*harness.Host) {
	t.Helper()
	startRepaired(t, seed.Kind, hosts, harness.ShardID)
	checkShardAfterRepair(t, hosts, repairWant{shardID: harness.ShardID, state: seed.SnapshotState,
		removed: []uint64{2, 3, seed.NonVotingID, seed.RemovedID}})
}

// startRepaired starts hosts' NodeHosts and, on each, the replica of every
// shard with restart semantics: no initial members, join=false (the imported
// bootstrap record says join=true with no addresses). Stopped at cleanup.
func startRepaired(t *testing.T, kind harness.SMKind, hosts map[uint64]*harness.Host, shardIDs ...uint64) {
	t.Helper()
	all := hostList(hosts)
	t.Cleanup(func() { harness.StopAll(all...) })
	for _, id := range sortedHostIDs(hosts) {
		h := hosts[id]
		harness.Must(t, h.Start())
		for _, shardID := range shardIDs {
			harness.Must(t, h.StartReplica(kind, shardID, id, nil, sm.KVOptions{}, config.NoCompression))
		}
	}
}

// repairWant is what a repaired shard must show.
type repairWant struct {
	shardID uint64
	state   sm.State // the snapshot's state
	removed []uint64 // IDs that must be in the removed set
}

// checkShardAfterRepair checks a started repaired shard: a leader among the
// members, every member reads the snapshot's state, the membership is
// exactly the hosts with the removed IDs, and new proposals commit everywhere.
func checkShardAfterRepair(t *testing.T, hosts map[uint64]*harness.Host, want repairWant) {
	t.Helper()
	ids := sortedHostIDs(hosts)
	all := hostList(hosts)
	shardID := want.shardID
	leader, err := harness.WaitLeader(shardID, 30*time.Second, all...)
	harness.Must(t, err)
	if _, ok := hosts[leader]; !ok {
		t.Fatalf("shard %d: leader %d is not one of the new members %v", shardID, leader, ids)
	}
	t.Logf("shard %d: leader elected: replica %d", shardID, leader)

	for _, id := range ids {
		st, err := hosts[id].Read(shardID)
		harness.Must(t, err)
		assertState(t, fmt.Sprintf("shard %d: linearizable read via replica %d", shardID, id), st, want.state)
	}

	m, err := all[0].Membership(shardID)
	harness.Must(t, err)
	if len(m.Nodes) != len(hosts) {
		t.Fatalf("shard %d: membership %v, want exactly %v", shardID, m.Nodes, ids)
	}
	for id, h := range hosts {
		if m.Nodes[id] != h.Addr {
			t.Fatalf("shard %d: member %d has address %q, want %q (membership %v)", shardID, id, m.Nodes[id], h.Addr, m.Nodes)
		}
	}
	if len(m.NonVotings) != 0 || len(m.Witnesses) != 0 {
		t.Fatalf("shard %d: non-votings %v / witnesses %v should be empty", shardID, m.NonVotings, m.Witnesses)
	}
	for _, gone := range want.removed {
		if _, ok := m.Removed[gone]; !ok {
			t.Fatalf("shard %d: replica %d is not in the removed set %v", shardID, gone, m.Removed)
		}
	}
	t.Logf("shard %d: membership: nodes %v, removed %v, config change id %d", shardID, m.Nodes, m.Removed, m.ConfigChangeID)

	for i := 0; i < 3; i++ {
		h := all[i%len(all)]
		harness.Must(t, h.Propose(shardID, fmt.Sprintf("new%d", i), "repaired"))
	}
	final, err := all[0].Read(shardID)
	harness.Must(t, err)
	harness.Must(t, harness.WaitApplied(shardID, final.LastIndex, 20*time.Second, all...))
	for _, h := range all {
		st, err := h.StaleState(shardID)
		harness.Must(t, err)
		for i := 0; i < 3; i++ {
			if st.KV[fmt.Sprintf("new%d", i)] != "repaired" {
				t.Fatalf("shard %d: %s did not apply new%d: %v", shardID, h.Name, i, st.KV)
			}
		}
		if len(st.KV) != len(want.state.KV)+3 {
			t.Fatalf("shard %d: %s has %d keys, want %d", shardID, h.Name, len(st.KV), len(want.state.KV)+3)
		}
	}
}

func sortedHostIDs(hosts map[uint64]*harness.Host) []uint64 {
	ids := make([]uint64, 0, len(hosts))
	for id := range hosts {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func hostList(hosts map[uint64]*harness.Host) []*harness.Host {
	var all []*harness.Host
	for _, id := range sortedHostIDs(hosts) {
		all = append(all, hosts[id])
	}
	return all
}

func assertState(t *testing.T, what string, got, want sm.State) {
	t.Helper()
	if len(got.KV) != len(want.KV) {
		t.Fatalf("%s: %d keys %v, want %d keys %v", what, len(got.KV), sm.SortedKeys(got.KV),
			len(want.KV), sm.SortedKeys(want.KV))
	}
	for k, v := range want.KV {
		if got.KV[k] != v {
			t.Fatalf("%s: key %s = %q, want %q", what, k, got.KV[k], v)
		}
	}
	if got.LastIndex != want.LastIndex {
		t.Fatalf("%s: last applied proposal index %d, want %d", what, got.LastIndex, want.LastIndex)
	}
}
