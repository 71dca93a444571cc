package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/sm"
)

// TestPebbleImportCrashAtEveryStep is the TypeScript crash-injection suite
// (test/ops/import-crash.test.ts) around the real Dragonboat on its default
// Pebble store. For every step boundary of IMPORT_STEPS (read from the
// compiled library), on a fresh copy of the Pebble seed: the import of m1
// (with history) and of a fresh m4 runs in a Node.js child that SIGKILLs
// itself at that boundary (nodechild/import-child.mjs). Then, on a copy of
// the crashed hosts and WITHOUT rerunning, Dragonboat must start with a
// consistent state: before 'committed', m1 the old node (old membership
// {1,2,3}, its full old state applied) and m4 no node at all
// (Dragonboat's ListNodeInfo lists no replica of the shard); from 'committed' on, the new one (m1 and m4 alone
// form a quorum of {1,4,5}: a leader, the snapshot's state, the new
// membership, a commit). And on the crashed hosts themselves: the import is
// rerun normally with the CLI on m1 and m4 (m5 imported once), and m1, m4,
// m5 restart to serve the shard with {1,4,5}.
func TestPebbleImportCrashAtEveryStep(t *testing.T) {
	cli := requireRepositoryCLI(t)
	child, why := harness.FindImportChild()
	if child == nil {
		if os.Getenv("INTEROP_REQUIRE_CLI") == "1" {
			t.Fatalf("INTEROP_REQUIRE_CLI=1 but %s", why)
		}
		t.Skipf("skipped: %s", why)
	}
	steps, err := child.Steps()
	harness.Must(t, err)
	commitAt := indexOf(steps, "committed")
	if commitAt < 0 {
		t.Fatalf("IMPORT_STEPS %v has no 'committed' step", steps)
	}
	t.Logf("IMPORT_STEPS: %v", steps)

	for i, step := range steps {
		i, step := i, step
		committed := i >= commitAt
		want := "old"
		if committed {
			want = "new"
		}
		t.Run(fmt.Sprintf("%d-%s (%s state)", i+1, step, want), func(t *testing.T) {
			s, hosts, members := pebbleRepairSetup(t, pebbleSeed)

			// The crash: m1 (history) and fresh m4 killed at this boundary.
			began := time.Now()
			for _, id := range []uint64{1, 4} {
				out, err := child.Import(hosts[id], s.ExportDir, members, id, step)
				harness.Must(t, err)
				if !out.Killed || len(out.Steps) == 0 || out.Steps[len(out.Steps)-1] != step {
					t.Fatalf("the import child on %s did not die at '%s':\n%s", hosts[id].Name, step, out)
				}
				if got := strings.Join(out.Steps, ","); got != strings.Join(steps[:i+1], ",") {
					t.Fatalf("the import child on %s reported steps %s, want %v", hosts[id].Name, got, steps[:i+1])
				}
			}

			t.Logf("crash children: %v", time.Since(began).Round(time.Millisecond))
			// A copy of the crashed hosts for the restart without a rerun.
			crashed := s.Root + "-crashed"
			harness.Must(t, harness.CopyTree(s.Root, crashed))
			t.Cleanup(func() { os.RemoveAll(crashed) })
			chosts := map[uint64]*harness.Host{}
			for id, h := range hosts {
				chosts[id] = rebaseHost(h, s.Root, crashed)
			}

			t.Run("restart without rerun: a consistent "+want+" state", func(t *testing.T) {
				if committed {
					checkCrashedNew(t, s, chosts)
				} else {
					checkCrashedOld(t, s, chosts)
				}
			})

			t.Run("rerun the CLI import on m1, m4 (m5 once); restart serves {1,4,5}", func(t *testing.T) {
				cfgDir := filepath.Join(s.Root, "cfg")
				began := time.Now()
				for _, id := range sortedIDs(members) {
					res, err := cli.Import(hosts[id], cfgDir, s.ExportDir, members, id)
					harness.Must(t, err)
					if !res.OK() {
						t.Fatalf("import on %s after a crash at '%s' failed; the CLI's output:\n%s", hosts[id].Name, step, res)
					}
				}
				imported := time.Now()
				for _, id := range sortedIDs(members) {
					checkImportedNodeMode(t, s, hosts[id], id, members, s.ConfigChangeID, false, harness.ReadOnly)
				}
				checked := time.Now()
				checkRepairedShard(t, s, hosts)
				t.Logf("rerun: imports %v, records %v, restart %v", imported.Sub(began).Round(time.Millisecond),
					checked.Sub(imported).Round(time.Millisecond), time.Since(checked).Round(time.Millisecond))
			})
		})
	}
}

// checkCrashedOld: a crash before the commit leaves m1 the node it was (its
// old membership, its whole old state applied at restart, no quorum without
// m2, m3) and m4 without a node (Dragonboat refuses to start a replica that
// was never bootstrapped: no bootstrap record) — and both NodeHosts start.
func checkCrashedOld(t *testing.T, s *harness.Seed, hosts map[uint64]*harness.Host) {
	t.Helper()
	m1, m4 := hosts[1], hosts[4]
	t.Cleanup(func() { harness.StopAll(m1, m4) })
	harness.Must(t, m1.Start())
	harness.Must(t, m1.StartReplica(harness.Regular, harness.ShardID, 1, nil, sm.KVOptions{}, config.NoCompression))
	harness.Must(t, harness.WaitApplied(harness.ShardID, s.LastIndex, 20*time.Second, m1))
	st, err := m1.StaleState(harness.ShardID)
	harness.Must(t, err)
	assertState(t, "m1 restarted after the crash (local state)", st, s.FinalState)
	replicas := shardReplicas(t, m1, harness.ShardID)
	if fmt.Sprint(replicas) != fmt.Sprint(s.Members) {
		t.Fatalf("m1's membership after the crash: %v, want the old %v", replicas, s.Members)
	}
	t.Logf("m1: old node: applied %d, members %v", st.LastIndex, replicas)

	harness.Must(t, m4.Start())
	// Dragonboat's own list of the replicas this host has (ListNodeInfo: the
	// bootstrap records). Starting the replica would panic the whole process
	// (ErrShardNotBootstrapped is fatal in startShard), so it is not tried.
	info := m4.NH.GetNodeHostInfo(dragonboat.NodeHostInfoOption{})
	for _, ni := range info.LogInfo {
		if ni.ShardID == harness.ShardID {
			t.Fatalf("m4 after a crash before the commit: Dragonboat lists replica %d of shard %d (want no node): %+v",
				ni.ReplicaID, ni.ShardID, info.LogInfo)
		}
	}
	t.Logf("m4: NodeHost starts, no node of shard %d (LogInfo %+v)", harness.ShardID, info.LogInfo)
}

// checkCrashedNew: from the commit on, m1 and m4 hold the new node; the two of
// them are a quorum of {1,4,5}: a leader, the snapshot's state, the new
// membership, and a commit.
func checkCrashedNew(t *testing.T, s *harness.Seed, hosts map[uint64]*harness.Host) {
	t.Helper()
	checkCrashedNewState(t, s.Kind, hosts, s.SnapshotState)
}

// checkCrashedNewState is checkCrashedNew with the state the new node must
// serve (with a carried log suffix: the survivor's last state, not the snapshot's).
func checkCrashedNewState(t *testing.T, kind harness.SMKind, hosts map[uint64]*harness.Host, want sm.State) {
	t.Helper()
	two := map[uint64]*harness.Host{1: hosts[1], 4: hosts[4]}
	startRepaired(t, kind, two, harness.ShardID)
	leader, err := harness.WaitLeader(harness.ShardID, 30*time.Second, hosts[1], hosts[4])
	harness.Must(t, err)
	if leader != 1 && leader != 4 {
		t.Fatalf("leader %d, want 1 or 4", leader)
	}
	for _, id := range []uint64{1, 4} {
		st, err := two[id].Read(harness.ShardID)
		harness.Must(t, err)
		assertState(t, fmt.Sprintf("%s after the crash (linearizable read)", two[id].Name), st, want)
	}
	m, err := hosts[1].Membership(harness.ShardID)
	harness.Must(t, err)
	if len(m.Nodes) != 3 || m.Nodes[1] != hosts[1].Addr || m.Nodes[4] != hosts[4].Addr || m.Nodes[5] != hosts[5].Addr {
		t.Fatalf("membership after the crash: %v, want {1,4,5}", m.Nodes)
	}
	harness.Must(t, hosts[4].Propose(harness.ShardID, "after-crash", "committed"))
	t.Logf("new node on m1 and m4: leader %d, members %v, removed %v", leader, m.Nodes, m.Removed)
}

// shardReplicas is the membership the local replica on h reports (no quorum needed).
func shardReplicas(t *testing.T, h *harness.Host, shardID uint64) map[uint64]string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info := h.NH.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
		for _, si := range info.ShardInfoList {
			if si.ShardID == shardID && !si.Pending && len(si.Replicas) > 0 {
				return si.Replicas
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s reports no membership for shard %d: %+v", h.Name, shardID, info.ShardInfoList)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rebaseHost is h with every directory moved from root from to root to.
func rebaseHost(h *harness.Host, from, to string) *harness.Host {
	c := *h
	c.NH = nil
	c.Dir = strings.Replace(h.Dir, from, to, 1)
	c.SMDir = strings.Replace(h.SMDir, from, to, 1)
	if h.WALDir != "" {
		c.WALDir = strings.Replace(h.WALDir, from, to, 1)
	}
	return &c
}

// requireRepositoryCLI is RequireCLI for tests of what only our own CLI
// does (see harness.CLI.IsRepositoryCLI): a stand-in CLI skips them.
func requireRepositoryCLI(t *testing.T) *harness.CLI {
	t.Helper()
	cli := harness.RequireCLI(t)
	if !cli.IsRepositoryCLI() {
		t.Skipf("skipped: INTEROP_CLI=%s is not this repository's bin/nodehost.js; this test proves properties of our Pebble writer", cli.Script)
	}
	return cli
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
