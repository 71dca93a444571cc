package scenario

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/config"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/sm"
)

// manyPartition is the one log store partition every shard of the
// many-shard scenario lands in: shard IDs 4, 20, 36, ... (≡ 4 mod 16).
const manyPartition uint64 = 4

// manyShardCount is how many shards TestPebbleManifestOnePartition repairs:
// 100 unless INTEROP_MANY_SHARDS says otherwise.
func manyShardCount(t *testing.T) int {
	if v := os.Getenv("INTEROP_MANY_SHARDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("INTEROP_MANY_SHARDS=%q", v)
		}
		return n
	}
	return 100
}

func manyShardIDs(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = manyPartition + 16*uint64(i)
	}
	return out
}

// forEachShard runs op for every shard, 8 at a time; errors are reported
// with the shard ID, all of them, and fail the test after all ran.
func forEachShard(t *testing.T, what string, shards []uint64, op func(shardID uint64) error) {
	t.Helper()
	var mu sync.Mutex
	var failed []string
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, id := range shards {
		id := id
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := op(id); err != nil {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("shard %d: %v", id, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		sort.Strings(failed)
		if len(failed) > 10 {
			failed = append(failed[:10], fmt.Sprintf("... and %d more", len(failed)-10))
		}
		t.Fatalf("%s failed for some shards:\n%s", what, joinLines(failed))
	}
}

func joinLines(lines []string) string {
	out := ""
	for _, l := range lines {
		out += "  " + l + "\n"
	}
	return out
}

// manifestJob is one entry of `import --manifest` (README "--manifest").
type manifestJob struct {
	ShardID   string            `json:"shardId"`
	Src       string            `json:"src"`
	Members   map[string]string `json:"members"`
	ReplicaID string            `json:"replicaId"`
}

func writeImportManifest(t *testing.T, path string, jobs []manifestJob) {
	t.Helper()
	data, err := json.MarshalIndent(map[string]any{"imports": jobs}, "", "  ")
	harness.Must(t, err)
	harness.Must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	harness.Must(t, os.WriteFile(path, data, 0o644))
}

// walNames lists the *.log names of partition p of h (none if it does not exist).
func walNames(t *testing.T, h *harness.Host, p uint64) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	wals, err := harness.WALFiles(h.PartitionWALDir(p))
	if os.IsNotExist(err) {
		return out
	}
	harness.Must(t, err)
	for _, w := range wals {
		out[w.Name] = true
	}
	return out
}

func newWALs(before, after map[string]bool) []string {
	var out []string
	for n := range after {
		if !before[n] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// TestPebbleManifestOnePartition: Dragonboat's Pebble options stop writes at
// 24 L0 tables (L0StopWritesThreshold) and Pebble's open turns every replayed
// WAL into its own L0 table, so a repair that left one WAL per shard would
// stall a NodeHost whose partition holds many repaired shards. Our `import
// --manifest` commits all jobs of one partition as ONE drop-in WAL. One
// NodeHost set (3 hosts, default Pebble config) runs N shards (default 100)
// that all live in logdb-4; each is exported from replica 1; m2, m3 are lost;
// ONE `import --manifest` per host (m1 with history, fresh m4, m5); then:
// exactly one new .log in logdb-4 per host; Pebble's own open of a copy
// (Dragonboat's options, compactions off: what the restart's open makes)
// leaves ≤ 3 L0 tables; Dragonboat restarts every shard with a leader, the
// snapshot's state and members {1,4,5}; new proposals commit. A control
// (4 shards imported one by one on a fresh host) shows the count would see
// one table per WAL.
func TestPebbleManifestOnePartition(t *testing.T) {
	cli := requireRepositoryCLI(t)
	n := manyShardCount(t)
	shards := manyShardIDs(n)
	root, err := os.MkdirTemp(tmpRoot, "manifest-one-partition-")
	harness.Must(t, err)
	ho := harness.HostOptions{Store: harness.Pebble}
	var seedHosts []*harness.Host
	origMembers := map[uint64]string{}
	for i := 1; i <= 3; i++ {
		h, err := harness.NewHost(root, fmt.Sprintf("m%d", i), ho)
		harness.Must(t, err)
		seedHosts = append(seedHosts, h)
		origMembers[uint64(i)] = h.Addr
	}
	m1 := seedHosts[0]
	exports := map[uint64]string{}
	states := map[uint64]sm.State{}
	var mu sync.Mutex
	start := time.Now()

	t.Run(fmt.Sprintf("Dragonboat runs %d shards of logdb-%d on 3 hosts; export each from replica 1", n, manyPartition), func(t *testing.T) {
		t.Cleanup(func() { harness.StopAll(seedHosts...) })
		for i, h := range seedHosts {
			harness.Must(t, h.Start())
			for _, id := range shards {
				harness.Must(t, h.StartReplica(harness.Regular, id, uint64(i+1), origMembers, sm.KVOptions{}, config.NoCompression))
			}
		}
		forEachShard(t, "leader election", shards, func(id uint64) error {
			_, err := harness.WaitLeader(id, 60*time.Second, seedHosts...)
			return err
		})
		t.Logf("%d shards elected in %v", n, time.Since(start).Round(time.Millisecond))
		forEachShard(t, "propose, read, export, propose", shards, func(id uint64) error {
			via := seedHosts[id%3]
			if err := via.Propose(id, "k", fmt.Sprintf("s%d", id)); err != nil {
				return err
			}
			st, err := m1.Read(id)
			if err != nil {
				return err
			}
			_, dir, err := m1.ExportSnapshot(id, filepath.Join(root, "export", fmt.Sprint(id)))
			if err != nil {
				return err
			}
			// History the import discards.
			if err := via.Propose(id, "after", "export"); err != nil {
				return err
			}
			mu.Lock()
			states[id], exports[id] = st, dir
			mu.Unlock()
			return nil
		})
		// Every replica has applied the history before the hosts stop.
		forEachShard(t, "apply on every host", shards, func(id uint64) error {
			st, err := m1.Read(id)
			if err != nil {
				return err
			}
			return harness.WaitApplied(id, st.LastIndex, 30*time.Second, seedHosts...)
		})
		harness.StopAll(seedHosts...)
		for _, id := range shards {
			if p := m1.Partition(id); p != manyPartition {
				t.Fatalf("shard %d is in logdb-%d, want logdb-%d", id, p, manyPartition)
			}
		}
		t.Logf("cluster phase (start, %d proposals, %d exports, stop) took %v", 2*n, n, time.Since(start).Round(time.Millisecond))
	})
	if t.Failed() {
		return
	}

	for _, h := range seedHosts[1:] {
		harness.Must(t, os.RemoveAll(filepath.Dir(h.Dir)))
	}
	fresh := make([]*harness.Host, 0, 2)
	for _, name := range []string{"m4", "m5"} {
		h, err := harness.NewHost(filepath.Join(root, "new"), name, ho)
		harness.Must(t, err)
		fresh = append(fresh, h)
	}
	hosts := map[uint64]*harness.Host{1: m1, 4: fresh[0], 5: fresh[1]}
	members := map[string]string{}
	for id, h := range hosts {
		members[fmt.Sprint(id)] = h.Addr
	}
	walsBefore := map[uint64]map[string]bool{}
	for id, h := range hosts {
		walsBefore[id] = walNames(t, h, manyPartition)
	}
	l0Before, err := harness.PebbleL0(m1.PartitionDir(manyPartition), m1.PartitionWALDir(manyPartition), harness.ReadWrite)
	harness.Must(t, err)
	t.Logf("m1 logdb-%d before the import: WALs %v; Pebble's open would leave %d L0 table(s)", manyPartition,
		sortedKeys(walsBefore[1]), l0Before.Files)

	t.Run("ONE import --manifest per host (m1, m4, m5)", func(t *testing.T) {
		for _, id := range sortedHostIDs(hosts) {
			h := hosts[id]
			var jobs []manifestJob
			for _, sid := range shards {
				jobs = append(jobs, manifestJob{ShardID: fmt.Sprint(sid), Src: exports[sid], Members: members, ReplicaID: fmt.Sprint(id)})
			}
			mf := filepath.Join(root, "manifests", h.Name+".json")
			writeImportManifest(t, mf, jobs)
			cfg, err := harness.WriteCLIConfig(h, filepath.Join(root, "cfg"))
			harness.Must(t, err)
			began := time.Now()
			res, err := cli.Run("import", "--config", cfg, "--manifest", mf, "--yes", "--json")
			harness.Must(t, err)
			if !res.OK() {
				t.Fatalf("import --manifest (%d jobs) on %s failed; the CLI's output:\n%s", len(jobs), h.Name, res)
			}
			t.Logf("import --manifest of %d shards on %s took %v", n, h.Name, time.Since(began).Round(time.Millisecond))
		}
	})
	if t.Failed() {
		return
	}

	t.Run(fmt.Sprintf("exactly one new .log in logdb-%d per host; Pebble's open leaves a few L0 tables, not one per shard", manyPartition), func(t *testing.T) {
		for _, id := range sortedHostIDs(hosts) {
			h := hosts[id]
			added := newWALs(walsBefore[id], walNames(t, h, manyPartition))
			if len(added) != 1 {
				t.Errorf("%s: the import --manifest of %d shards added %d WAL(s) to logdb-%d: %v, want exactly 1",
					h.Name, n, len(added), manyPartition, added)
			}
			l0, err := harness.PebbleL0(h.PartitionDir(manyPartition), h.PartitionWALDir(manyPartition), harness.ReadWrite)
			harness.Must(t, err)
			t.Logf("%s logdb-%d: new WAL %v; L0 after Pebble's open (Dragonboat's options): %d table(s), %d sublevel(s)",
				h.Name, manyPartition, added, l0.Files, l0.Sublevels)
			if l0.Files > 3 {
				t.Errorf("%s logdb-%d: %d L0 tables after Pebble's open, want ≤ 3 (Dragonboat stops writes at %d)",
					h.Name, manyPartition, l0.Files, config.GetDefaultLogDBConfig().KVLevel0StopWritesTrigger)
			}
		}
	})

	t.Run("control: 4 shards imported one by one on a fresh host make 4 L0 tables", func(t *testing.T) {
		m6, err := harness.NewHost(filepath.Join(root, "control"), "m6", ho)
		harness.Must(t, err)
		ctrl := map[uint64]string{1: m1.Addr, 4: fresh[0].Addr, 6: m6.Addr}
		for _, sid := range shards[:min(4, n)] {
			res, err := cli.Import(m6, filepath.Join(root, "cfg"), exports[sid], ctrl, 6)
			harness.Must(t, err)
			if !res.OK() {
				t.Fatalf("single import of shard %d on m6 failed; the CLI's output:\n%s", sid, res)
			}
		}
		l0, err := harness.PebbleL0(m6.PartitionDir(manyPartition), m6.PartitionWALDir(manyPartition), harness.ReadWrite)
		harness.Must(t, err)
		wals := walNames(t, m6, manyPartition)
		t.Logf("m6 logdb-%d after %d single imports: WALs %v, L0 after Pebble's open: %d table(s)",
			manyPartition, min(4, n), sortedKeys(wals), l0.Files)
		if l0.Files != int64(min(4, n)) || len(wals) != min(4, n) {
			t.Fatalf("control: %d single imports gave %d WALs and %d L0 tables, want %d of each (one table per replayed WAL)",
				min(4, n), len(wals), l0.Files, min(4, n))
		}
	})

	t.Run(fmt.Sprintf("Dragonboat restarts all %d shards: leader, snapshot state, members {1,4,5}, new commits", n), func(t *testing.T) {
		began := time.Now()
		all := hostList(hosts)
		t.Cleanup(func() { harness.StopAll(all...) })
		for _, id := range sortedHostIDs(hosts) {
			harness.Must(t, hosts[id].Start())
			for _, sid := range shards {
				harness.Must(t, hosts[id].StartReplica(harness.Regular, sid, id, nil, sm.KVOptions{}, config.NoCompression))
			}
		}
		forEachShard(t, "repaired shard", shards, func(sid uint64) error {
			leader, err := harness.WaitLeader(sid, 60*time.Second, all...)
			if err != nil {
				return err
			}
			if _, ok := hosts[leader]; !ok {
				return fmt.Errorf("leader %d is not one of {1,4,5}", leader)
			}
			via := all[sid%3]
			st, err := via.Read(sid)
			if err != nil {
				return err
			}
			want := states[sid]
			if st.LastIndex != want.LastIndex || len(st.KV) != len(want.KV) || st.KV["k"] != want.KV["k"] {
				return fmt.Errorf("state via %s %+v, want the snapshot's %+v", via.Name, st, want)
			}
			m, err := via.Membership(sid)
			if err != nil {
				return err
			}
			if len(m.Nodes) != 3 || len(m.NonVotings) != 0 || len(m.Witnesses) != 0 {
				return fmt.Errorf("membership %+v, want nodes {1,4,5}", m)
			}
			for id, h := range hosts {
				if m.Nodes[id] != h.Addr {
					return fmt.Errorf("membership nodes %v, want %d=%s", m.Nodes, id, h.Addr)
				}
			}
			for _, gone := range []uint64{2, 3} {
				if _, ok := m.Removed[gone]; !ok {
					return fmt.Errorf("replica %d not in the removed set %v", gone, m.Removed)
				}
			}
			if err := all[(sid+1)%3].Propose(sid, "new", "repaired"); err != nil {
				return fmt.Errorf("new proposal: %w", err)
			}
			st, err = all[(sid+2)%3].Read(sid)
			if err != nil {
				return err
			}
			if st.KV["new"] != "repaired" {
				return fmt.Errorf("new proposal not visible: %+v", st)
			}
			return nil
		})
		t.Logf("restart and checks of %d shards took %v", n, time.Since(began).Round(time.Millisecond))
		harness.StopAll(all...)
		for _, id := range sortedHostIDs(hosts) {
			h := hosts[id]
			l0, err := harness.PebbleL0(h.PartitionDir(manyPartition), h.PartitionWALDir(manyPartition), harness.ReadOnly)
			harness.Must(t, err)
			t.Logf("%s logdb-%d after the restart (MANIFEST, read-only): %d L0 table(s)", h.Name, manyPartition, l0.Files)
			if l0.Files > 3 {
				t.Errorf("%s logdb-%d: %d L0 tables after the restart, want ≤ 3", h.Name, manyPartition, l0.Files)
			}
		}
	})
	t.Logf("TestPebbleManifestOnePartition with %d shards took %v", n, time.Since(start).Round(time.Millisecond))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
