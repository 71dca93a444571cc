package scenario

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	pb "github.com/lni/dragonboat/v4/raftpb"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/leveldblogdb"
	"nodehost-tools/interop/sm"
)

// Issue #13, minimal-loss repair (docs/log-suffix.md), around the real
// Dragonboat on both log stores: `nodehost export --with-log` on the
// survivor m1 (stopped) carries the entries past its latest snapshot;
// `import` writes them on every new member (m1, fresh m4, fresh m5), so the
// repaired shard serves the state at m1's last index, not the snapshot's.

// minimalLossStores: LevelDB (leveldblogdb) and Dragonboat's default Pebble.
var minimalLossStores = []harness.SeedOptions{{Kind: harness.Regular}, pebbleSeed}

// requireSuffixCLI is RequireCLI for the suffix options: it skips (fails with
// INTEROP_REQUIRE_CLI=1) while the CLI has no export --with-log or import --ignore-log.
func requireSuffixCLI(t *testing.T) *harness.CLI {
	t.Helper()
	cli := harness.RequireCLI(t)
	for _, c := range [][2]string{{"export", "--with-log"}, {"import", "--ignore-log"}} {
		ok, err := cli.HasOption(c[0], c[1])
		harness.Must(t, err)
		if !ok {
			why := fmt.Sprintf("`nodehost %s --help` lists no %s yet (issue #13)", c[0], c[1])
			if os.Getenv("INTEROP_REQUIRE_CLI") == "1" {
				t.Fatalf("INTEROP_REQUIRE_CLI=1 but %s", why)
			}
			t.Skipf("skipped: %s", why)
		}
	}
	return cli
}

// suffixExport is one `export --with-log` and what the harness read of it.
type suffixExport struct {
	Dir         string
	Index, Term uint64
	Meta        pb.Snapshot // snapshot.metadata
	JSON        harness.SuffixJSON
	File        *harness.LogSuffix // read by harness.ReadLogSuffix
}

// LastTerm is the term of the suffix's last entry (the snapshot's if none).
func (e suffixExport) LastTerm() uint64 {
	if len(e.File.Entries) == 0 {
		return e.Term
	}
	return e.File.EndLastTerm
}

// ConfigChangeIndexes are the suffix entries that change membership.
func (e suffixExport) ConfigChangeIndexes() []uint64 {
	var out []uint64
	for _, en := range e.File.Entries {
		if en.Type == pb.ConfigChangeEntry {
			out = append(out, en.Index)
		}
	}
	return out
}

// exportWithLog runs `export --with-log` of replicaID on the stopped h into
// dest and checks what it wrote: the result's logSuffix, the file (our own
// reader: frames, CRCs, contiguity, each entry's own index/term), its
// anchor = the exported snapshot, and its manifest line (size, SHA-256).
func exportWithLog(t *testing.T, cli *harness.CLI, h *harness.Host, replicaID uint64, dest string, extra ...string) suffixExport {
	t.Helper()
	res, err := cli.Export(h, dest+"-cfg", dest, harness.ShardID, replicaID, append([]string{"--with-log"}, extra...)...)
	harness.Must(t, err)
	if !res.OK() {
		t.Fatalf("export --with-log on %s failed; the CLI's output:\n%s", h.Name, res)
	}
	e := exportOutcome(t, res)
	js, ok, err := res.LogSuffixJSON()
	harness.Must(t, err)
	if !ok {
		t.Fatalf("export --with-log on %s: no logSuffix in the result:\n%s", h.Name, res)
	}
	e.JSON = js
	e.File, err = harness.ReadLogSuffix(filepath.Join(e.Dir, harness.LogSuffixFilename))
	if err != nil {
		t.Fatalf("export --with-log on %s: the suffix file: %v\n%s", h.Name, err, res)
	}
	f := e.File
	if f.ShardID != harness.ShardID || f.ReplicaID != replicaID || f.SnapshotIndex != e.Index || f.SnapshotTerm != e.Term {
		t.Fatalf("suffix header: shard %d replica %d anchor %d/%d, want %d/%d anchored at the export %d/%d",
			f.ShardID, f.ReplicaID, f.SnapshotIndex, f.SnapshotTerm, harness.ShardID, replicaID, e.Index, e.Term)
	}
	if js.FirstIndex != f.FirstIndex || js.LastIndex != f.LastIndex || js.EntryCount != f.EntryCount ||
		js.LastTerm != e.LastTerm() {
		t.Fatalf("export result logSuffix %+v, the file holds %d..%d (%d entries, last term %d)",
			js.Raw, f.FirstIndex, f.LastIndex, f.EntryCount, e.LastTerm())
	}
	if got, want := fmt.Sprint(js.ConfigChanges), fmt.Sprint(e.ConfigChangeIndexes()); got != want {
		t.Fatalf("export result logSuffix.configChanges %s, the file's config change entries %s", got, want)
	}
	data, err := os.ReadFile(filepath.Join(e.Dir, harness.LogSuffixFilename))
	harness.Must(t, err)
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if js.SHA256 != digest {
		t.Fatalf("export result logSuffix.sha256 %q, the file's %s", js.SHA256, digest)
	}
	checkManifestLists(t, e.Dir, harness.LogSuffixFilename, int64(len(data)), digest)
	vres, err := cli.Run("verify", e.Dir, "--json")
	harness.Must(t, err)
	vjs, ok, err := vres.LogSuffixJSON()
	if !vres.OK() || err != nil || !ok || vjs.FirstIndex != f.FirstIndex || vjs.LastIndex != f.LastIndex || vjs.SHA256 != digest {
		t.Fatalf("verify of the with-log export (logSuffix %+v, %v):\n%s", vjs.Raw, err, vres)
	}
	t.Logf("export --with-log on %s: snapshot %d (term %d), suffix %d..%d (%d entries, last term %d, config changes %v)",
		h.Name, e.Index, e.Term, f.FirstIndex, f.LastIndex, f.EntryCount, e.LastTerm(), js.ConfigChanges)
	return e
}

// exportPlain runs `export` without --with-log; the export has no suffix file.
func exportPlain(t *testing.T, cli *harness.CLI, h *harness.Host, replicaID uint64, dest string) suffixExport {
	t.Helper()
	res, err := cli.Export(h, dest+"-cfg", dest, harness.ShardID, replicaID)
	harness.Must(t, err)
	if !res.OK() {
		t.Fatalf("export on %s failed; the CLI's output:\n%s", h.Name, res)
	}
	e := exportOutcome(t, res)
	if _, ok, _ := res.LogSuffixJSON(); ok {
		t.Fatalf("export without --with-log reports a logSuffix:\n%s", res)
	}
	if _, err := os.Stat(filepath.Join(e.Dir, harness.LogSuffixFilename)); !os.IsNotExist(err) {
		t.Fatalf("export without --with-log wrote %s (stat: %v)", harness.LogSuffixFilename, err)
	}
	return e
}

func exportOutcome(t *testing.T, res harness.CLIResult) suffixExport {
	t.Helper()
	var e suffixExport
	e.Dir, _ = res.Get("exportDir").(string)
	var err1, err2 error
	e.Index, err1 = harness.JSONUint(res.Get("index"))
	e.Term, err2 = harness.JSONUint(res.Get("term"))
	if e.Dir == "" || err1 != nil || err2 != nil {
		t.Fatalf("export result without exportDir/index/term (%v, %v):\n%s", err1, err2, res)
	}
	meta, err := harness.ReadSnapshotFlag(filepath.Join(e.Dir, "snapshot.metadata"))
	harness.Must(t, err)
	if meta.Index != e.Index || meta.Term != e.Term {
		t.Fatalf("snapshot.metadata %d/%d, the result says %d/%d", meta.Index, meta.Term, e.Index, e.Term)
	}
	e.Meta = meta
	return e
}

// checkManifestLists: nodehost.manifest.json lists name with this size and SHA-256.
func checkManifestLists(t *testing.T, dir, name string, size int64, digest string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "nodehost.manifest.json"))
	harness.Must(t, err)
	var m struct {
		Files []struct {
			Name   string `json:"name"`
			Size   string `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
	}
	harness.Must(t, json.Unmarshal(data, &m))
	for _, f := range m.Files {
		if f.Name == name {
			if f.Size != fmt.Sprint(size) || f.SHA256 != digest {
				t.Fatalf("manifest lists %s with size %s sha256 %s, the file has %d / %s", name, f.Size, f.SHA256, size, digest)
			}
			return
		}
	}
	t.Fatalf("nodehost.manifest.json does not list %s:\n%s", name, data)
}

// importWithSuffix runs our import of exp on every host (the suffix carried:
// no flag) and checks each result's logSuffix against the file, the list
// of neutralised entries, after.maxIndex / after.raftState, and that every
// host prints the same recovery fingerprint. Then each host's records.
func importWithSuffix(t *testing.T, cli *harness.CLI, kind harness.SMKind, hosts map[uint64]*harness.Host,
	members map[uint64]string, exp suffixExport, cfgDir string, wantNeutralized []harness.IndexTerm) {
	t.Helper()
	fingerprints := map[string][]string{}
	for _, id := range sortedIDs(members) {
		h := hosts[id]
		res, err := cli.ImportArgs(h, cfgDir, exp.Dir, members, id)
		harness.Must(t, err)
		if !res.OK() {
			t.Fatalf("import of the export with its suffix on %s failed; the CLI's output:\n%s", h.Name, res)
		}
		checkImportResultSuffix(t, h.Name, res, exp, wantNeutralized)
		fp, _ := res.Get("fingerprint").(string)
		fingerprints[fp] = append(fingerprints[fp], h.Name)
	}
	if len(fingerprints) != 1 {
		t.Fatalf("hosts repaired the same way print different fingerprints: %v", fingerprints)
	}
	for _, id := range sortedIDs(members) {
		checkSuffixImportedNode(t, kind, hosts[id], id, members, exp, wantNeutralized)
	}
}

func checkImportResultSuffix(t *testing.T, name string, res harness.CLIResult, exp suffixExport, wantNeutralized []harness.IndexTerm) {
	t.Helper()
	js, ok, err := res.LogSuffixJSON()
	harness.Must(t, err)
	if !ok {
		t.Fatalf("import on %s: no logSuffix in the result (the suffix was not carried):\n%s", name, res)
	}
	f := exp.File
	if js.FirstIndex != f.FirstIndex || js.LastIndex != f.LastIndex || js.EntryCount != f.EntryCount ||
		js.LastTerm != exp.LastTerm() || js.SHA256 != exp.JSON.SHA256 {
		t.Fatalf("import on %s: logSuffix %+v, the export's %+v", name, js.Raw, exp.JSON.Raw)
	}
	if fmt.Sprint(js.Neutralized) != fmt.Sprint(wantNeutralized) {
		t.Fatalf("import on %s: logSuffix.neutralized %v, want %v", name, js.Neutralized, wantNeutralized)
	}
	maxIndex, err := harness.JSONUint(res.Get("after", "maxIndex"))
	harness.Must(t, err)
	term, err := harness.JSONUint(res.Get("after", "raftState", "term"))
	harness.Must(t, err)
	commit, err := harness.JSONUint(res.Get("after", "raftState", "commit"))
	harness.Must(t, err)
	if maxIndex != f.LastIndex || term != max(exp.Term, exp.LastTerm()) || commit != exp.Index {
		t.Fatalf("import on %s: after.maxIndex %d, raftState term %d commit %d; want %d, %d, %d",
			name, maxIndex, term, commit, f.LastIndex, max(exp.Term, exp.LastTerm()), exp.Index)
	}
}

// checkSuffixImportedNode reads h's records (a Pebble store from a
// read-only copy) after an import with the suffix: the bootstrap and the
// imported snapshot record as without a suffix, raft state {max(snapshot
// term, last term), vote 0, commit = snapshot index}, max index = the
// suffix's last, exactly the suffix's entries under this replica's keys,
// each decoded by Dragonboat equal to the file's, except the neutralised
// ones: Dragonboat's empty entry of the same index and term.
func checkSuffixImportedNode(t *testing.T, kind harness.SMKind, h *harness.Host, replicaID uint64,
	members map[uint64]string, exp suffixExport, neutralized []harness.IndexTerm) {
	t.Helper()
	d, err := harness.DumpHostNode(h, harness.ShardID, replicaID, harness.ReadOnly)
	harness.Must(t, err)
	smType := pb.RegularStateMachine
	if kind == harness.OnDisk {
		smType = pb.OnDiskStateMachine
	}
	if d.Bootstrap == nil || !d.Bootstrap.Join || len(d.Bootstrap.Addresses) != 0 || d.Bootstrap.Type != smType {
		t.Fatalf("%s bootstrap %+v, want {join: true, type: %v}", h.Name, d.Bootstrap, smType)
	}
	wantState := pb.State{Term: max(exp.Term, exp.LastTerm()), Vote: 0, Commit: exp.Index}
	if d.State == nil || *d.State != wantState {
		t.Fatalf("%s raft state %+v, want %+v", h.Name, d.State, wantState)
	}
	if d.MaxIndex == nil || *d.MaxIndex != exp.File.LastIndex {
		t.Fatalf("%s max index %v, want the suffix's last %d", h.Name, d.MaxIndex, exp.File.LastIndex)
	}
	rec, ok := d.Snapshots[exp.Index]
	if len(d.Snapshots) != 1 || !ok {
		t.Fatalf("%s snapshot records at %v, want only %d", h.Name, keysOf(d.Snapshots), exp.Index)
	}
	if !rec.Imported || rec.Term != exp.Term || rec.Type != smType || rec.ShardID != harness.ShardID {
		t.Fatalf("%s snapshot record %+v", h.Name, rec)
	}
	if !reflect.DeepEqual(rec.Membership.Addresses, members) {
		t.Fatalf("%s addresses %v, want %v", h.Name, rec.Membership.Addresses, members)
	}
	if want := removedAfter(exp.Meta.Membership, members); !reflect.DeepEqual(rec.Membership.Removed, want) {
		t.Fatalf("%s removed %v, want %v", h.Name, rec.Membership.Removed, want)
	}
	if len(d.BatchIDs) != 0 || d.HasNodeInfo {
		t.Fatalf("%s has entry batches %v / node info %t (the store uses plain entries)", h.Name, d.BatchIDs, d.HasNodeInfo)
	}
	var want []uint64
	for i := exp.File.FirstIndex; i <= exp.File.LastIndex && len(exp.File.Entries) > 0; i++ {
		want = append(want, i)
	}
	if fmt.Sprint(d.EntryIndexes) != fmt.Sprint(want) {
		t.Fatalf("%s entries %v, want exactly the suffix %d..%d", h.Name, d.EntryIndexes, exp.File.FirstIndex, exp.File.LastIndex)
	}
	isNeutral := map[uint64]bool{}
	for _, n := range neutralized {
		isNeutral[n.Index] = true
	}
	for _, r := range d.Raw[leveldblogdb.HeaderEntry] {
		pk, err := leveldblogdb.ParseKey(r.Key)
		harness.Must(t, err)
		var got pb.Entry
		if err := got.Unmarshal(r.Value); err != nil {
			t.Fatalf("%s entry %d: Dragonboat cannot decode it: %v", h.Name, pk.Index, err)
		}
		src := exp.File.Entry(pk.Index)
		if isNeutral[pk.Index] {
			if src.Type != pb.ConfigChangeEntry || !harness.IsEmptyEntry(got, src.Index, src.Term) || !got.IsEmpty() {
				t.Fatalf("%s entry %d: %+v, want Dragonboat's empty entry of term %d in place of the config change %+v",
					h.Name, pk.Index, got, src.Term, *src)
			}
			continue
		}
		if !entriesEqual(got, *src) {
			t.Fatalf("%s entry %d: %+v, the suffix holds %+v", h.Name, pk.Index, got, *src)
		}
	}
}

func entriesEqual(a, b pb.Entry) bool {
	return a.Term == b.Term && a.Index == b.Index && a.Type == b.Type && a.Key == b.Key && a.ClientID == b.ClientID &&
		a.SeriesID == b.SeriesID && a.RespondedTo == b.RespondedTo && bytes.Equal(a.Cmd, b.Cmd)
}

// removedAfter is the removed set an import to members writes: every ID the
// exported membership knew (voters, non-voting, witnesses, removed) that is
// not a new member.
func removedAfter(m pb.Membership, members map[uint64]string) map[uint64]bool {
	out := map[uint64]bool{}
	add := func(id uint64) {
		if _, ok := members[id]; !ok {
			out[id] = true
		}
	}
	for id := range m.Addresses {
		add(id)
	}
	for id := range m.NonVotings {
		add(id)
	}
	for id := range m.Witnesses {
		add(id)
	}
	for id := range m.Removed {
		add(id)
	}
	return out
}

func removedIDs(m pb.Membership, members map[uint64]string) []uint64 {
	var out []uint64
	for id := range removedAfter(m, members) {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// checkSuffixCarriesWrite: the suffix holds the proposal that made
// state's last applied index (so the snapshot alone cannot give it).
func checkSuffixCarriesWrite(t *testing.T, exp suffixExport, state sm.State) {
	t.Helper()
	if state.LastIndex <= exp.Index || state.LastIndex > exp.File.LastIndex {
		t.Fatalf("the survivor's last write is at %d, outside the suffix %d..%d", state.LastIndex, exp.File.FirstIndex, exp.File.LastIndex)
	}
	e := exp.File.Entry(state.LastIndex)
	k, v, ok := harness.EntryWrite(*e)
	if !ok || state.KV[k] != v {
		t.Fatalf("suffix entry %d is %+v, want the write that made the survivor's last state", state.LastIndex, *e)
	}
}

// checkTwoAlone starts only the two hosts (the third never started after the
// import): they elect one of themselves and serve want; the membership is
// still all of members. Stopped at the end.
func checkTwoAlone(t *testing.T, kind harness.SMKind, two map[uint64]*harness.Host, members map[uint64]string, want sm.State) {
	t.Helper()
	startRepaired(t, kind, two, harness.ShardID)
	defer harness.StopAll(hostList(two)...)
	leader := waitLeaderAmong(t, two)
	for _, id := range sortedHostIDs(two) {
		st, err := two[id].Read(harness.ShardID)
		harness.Must(t, err)
		assertState(t, fmt.Sprintf("%s (linearizable read, two hosts up)", two[id].Name), st, want)
	}
	m, err := hostList(two)[0].Membership(harness.ShardID)
	harness.Must(t, err)
	if !reflect.DeepEqual(m.Nodes, members) || len(m.NonVotings)+len(m.Witnesses) != 0 {
		t.Fatalf("membership with two hosts up: %v (non-voting %v, witnesses %v), want %v", m.Nodes, m.NonVotings, m.Witnesses, members)
	}
	t.Logf("%v alone: leader %d, state at %d (%d keys)", sortedHostIDs(two), leader, want.LastIndex, len(want.KV))
}

// checkAnyOneDown stops each member in turn: the other two elect a leader
// among themselves, commit a proposal and serve it; the stopped one restarts
// and catches up before the next.
func checkAnyOneDown(t *testing.T, kind harness.SMKind, hosts map[uint64]*harness.Host) {
	t.Helper()
	for _, down := range sortedHostIDs(hosts) {
		hosts[down].Stop()
		rest := map[uint64]*harness.Host{}
		for id, h := range hosts {
			if id != down {
				rest[id] = h
			}
		}
		leader := waitLeaderAmong(t, rest)
		key := fmt.Sprintf("down-%d", down)
		restList := hostList(rest)
		harness.Must(t, restList[0].Propose(harness.ShardID, key, "committed"))
		for _, h := range restList {
			st, err := h.Read(harness.ShardID)
			harness.Must(t, err)
			if st.KV[key] != "committed" {
				t.Fatalf("replica %d down: %s reads %s = %q after its commit", down, h.Name, key, st.KV[key])
			}
		}
		harness.Must(t, hosts[down].Start())
		harness.Must(t, hosts[down].StartReplica(kind, harness.ShardID, down, nil, sm.KVOptions{}, config.NoCompression))
		st, err := restList[0].Read(harness.ShardID)
		harness.Must(t, err)
		harness.Must(t, harness.WaitApplied(harness.ShardID, st.LastIndex, 20*time.Second, hosts[down]))
		t.Logf("replica %d down: leader %d of %v, %s committed; %d restarted and caught up to %d",
			down, leader, sortedHostIDs(rest), key, down, st.LastIndex)
	}
}

// waitLeaderAmong waits until a host of hosts reports a leader that is one of hosts.
func waitLeaderAmong(t *testing.T, hosts map[uint64]*harness.Host) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, h := range hosts {
			if h.NH == nil {
				continue
			}
			if id, _, ok, err := h.NH.GetLeaderID(harness.ShardID); err == nil && ok && hosts[id] != nil {
				return id
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no leader among %v within 30s", sortedHostIDs(hosts))
	return 0
}

// TestMinimalLossRepair: the seed (m1 holds entries past its latest
// snapshot: writes clients were told succeeded), m2 and m3 lost. `export
// --with-log` on m1, import on m1 and fresh m4, m5 with members {1, 4, 5}.
// Then: m4 + m5 alone (m1 never started after the import) elect and serve
// the state at m1's last index; all three serve it with membership {1,4,5}
// and commit; with any one of the three stopped the other two still do.
func TestMinimalLossRepair(t *testing.T) {
	cli := requireSuffixCLI(t)
	for _, o := range minimalLossStores {
		o := o
		t.Run(o.Store.String(), func(t *testing.T) {
			s, hosts, members := pebbleRepairSetup(t, o)
			m1 := s.Host(1)
			before, err := harness.DumpHostNode(m1, harness.ShardID, 1, harness.ReadOnly)
			harness.Must(t, err)
			exp := exportWithLog(t, cli, m1, 1, filepath.Join(s.Root, "cli-export"))
			// m1's latest snapshot is its own local one; the suffix runs to its max index.
			if exp.Index != s.LocalSnapshotIndex || before.MaxIndex == nil || exp.File.LastIndex != *before.MaxIndex {
				t.Fatalf("export at %d with a suffix to %d; m1's latest snapshot is %d and its max index %v",
					exp.Index, exp.File.LastIndex, s.LocalSnapshotIndex, before.MaxIndex)
			}
			if len(exp.File.Entries) == 0 || len(exp.JSON.ConfigChanges) != 0 {
				t.Fatalf("suffix of %d entries with config changes %v; the seed has application entries only past m1's snapshot",
					len(exp.File.Entries), exp.JSON.ConfigChanges)
			}
			checkSuffixCarriesWrite(t, exp, s.FinalState)

			t.Run("import on m1, m4, m5 carries the suffix", func(t *testing.T) {
				importWithSuffix(t, cli, o.Kind, hosts, members, exp, filepath.Join(s.Root, "cfg"), nil)
			})
			if t.Failed() {
				return
			}
			t.Run("m4 + m5 alone (m1 never started) elect and serve the state at m1's last index", func(t *testing.T) {
				checkTwoAlone(t, o.Kind, map[uint64]*harness.Host{4: hosts[4], 5: hosts[5]}, members, s.FinalState)
			})
			if t.Failed() {
				return
			}
			t.Run("m1, m4, m5: m1's last state, {1,4,5}, commits; any one down, the other two serve and commit", func(t *testing.T) {
				startRepaired(t, o.Kind, hosts, harness.ShardID)
				checkShardAfterRepair(t, hosts, repairWant{shardID: harness.ShardID, state: s.FinalState,
					removed: removedIDs(exp.Meta.Membership, members)})
				checkAnyOneDown(t, o.Kind, hosts)
			})
		})
	}
}

var (
	ccSeedMu sync.Mutex
	ccSeeds  = map[harness.SeedOptions]*harness.ConfigChangeSeed{}
)

// ccSeedClone is seedClone for harness.BuildConfigChangeSeed.
func ccSeedClone(t *testing.T, o harness.SeedOptions) *harness.ConfigChangeSeed {
	t.Helper()
	ccSeedMu.Lock()
	defer ccSeedMu.Unlock()
	s, ok := ccSeeds[o]
	if !ok {
		start := time.Now()
		root := filepath.Join(tmpRoot, fmt.Sprintf("ccseed-%s-%s", o.Store, o.Kind))
		harness.Must(t, os.RemoveAll(root)) // what an earlier failed attempt left
		var err error
		s, err = harness.BuildConfigChangeSeed(root, o)
		if err != nil {
			t.Fatalf("config-change seed (%+v): %v", o, err)
		}
		t.Logf("config-change seed %s built in %v: m1 snapshot %d, add replica %d at %d, last index %d",
			o.Store, time.Since(start).Round(time.Millisecond), s.SnapshotIndex, s.AddedID, s.ChangeIndex, s.LastIndex)
		ccSeeds[o] = s
	}
	seedMu.Lock()
	cloneN++
	n := cloneN
	seedMu.Unlock()
	c, err := s.Clone(filepath.Join(tmpRoot, fmt.Sprintf("clone-%d", n)))
	harness.Must(t, err)
	return c
}

// TestMinimalLossConfigChangeInSuffix: after m1's snapshot, "add replica 6"
// (a voter that never starts) and more writes. The import replaces the
// change by an empty entry and lists it as neutralised; every write after
// it is served; the membership is exactly {1, 4, 5} (had the change applied,
// voters {1,4,5,6} would need three of them up), and any two of the three
// elect a leader and commit. Two snapshot sources: m1's own latest snapshot
// (`export --with-log`), and the issue's worked example, a snapshot exported
// by Dragonboat on another host (m2, before the change) with m1's entries
// past it (`export --with-log --snapshot-from`).
func TestMinimalLossConfigChangeInSuffix(t *testing.T) {
	cli := requireSuffixCLI(t)
	for _, o := range minimalLossStores {
		o := o
		t.Run(o.Store.String(), func(t *testing.T) {
			for _, fromOther := range []bool{false, true} {
				fromOther := fromOther
				name := "snapshot: m1's own"
				if fromOther {
					name = "snapshot: m2's Dragonboat export (--snapshot-from)"
				}
				t.Run(name, func(t *testing.T) { runConfigChangeInSuffix(t, cli, o, fromOther) })
			}
		})
	}
}

// ccRepairSetup clones the config-change seed, deletes m2 and m3, lays out
// fresh m4, m5, and exports m1 with its log: from m1's own snapshot, or
// (fromOther) from m2's Dragonboat export with --snapshot-from. The export
// must hold the change (and the writes after it); neutralized is what the
// import must list.
func ccRepairSetup(t *testing.T, cli *harness.CLI, o harness.SeedOptions, fromOther bool) (cs *harness.ConfigChangeSeed,
	hosts map[uint64]*harness.Host, members map[uint64]string, exp suffixExport, neutralized []harness.IndexTerm) {
	t.Helper()
	cs = ccSeedClone(t, o)
	harness.Must(t, cs.DeleteHostDirs(2, 3))
	fresh := newHosts(t, filepath.Join(cs.Root, "new"), o, "m4", "m5")
	hosts = map[uint64]*harness.Host{1: cs.Host(1), 4: fresh[0], 5: fresh[1]}
	members = map[uint64]string{}
	for id, h := range hosts {
		members[id] = h.Addr
	}
	wantIndex := cs.SnapshotIndex
	var extra []string
	if fromOther {
		wantIndex = cs.OtherExportIndex
		extra = []string{"--snapshot-from", cs.ExportDir}
	}
	exp = exportWithLog(t, cli, cs.Host(1), 1, filepath.Join(cs.Root, "cli-export"), extra...)
	if exp.Index != wantIndex {
		t.Fatalf("export at %d, want %d", exp.Index, wantIndex)
	}
	if fmt.Sprint(exp.JSON.ConfigChanges) != fmt.Sprint([]uint64{cs.ChangeIndex}) {
		t.Fatalf("export's config changes %v, want [%d]", exp.JSON.ConfigChanges, cs.ChangeIndex)
	}
	change := exp.File.Entry(cs.ChangeIndex)
	var cc pb.ConfigChange
	harness.Must(t, cc.Unmarshal(change.Cmd))
	if cc.Type != pb.AddNode || cc.ReplicaID != cs.AddedID {
		t.Fatalf("suffix entry %d: config change %+v, want add replica %d", cs.ChangeIndex, cc, cs.AddedID)
	}
	checkSuffixCarriesWrite(t, exp, cs.FinalState)
	for _, k := range cs.AfterChange {
		if cs.FinalState.KV[k] != "after-change" {
			t.Fatalf("seed: %s = %q in the final state", k, cs.FinalState.KV[k])
		}
	}
	return cs, hosts, members, exp, []harness.IndexTerm{{Index: cs.ChangeIndex, Term: change.Term}}
}

func runConfigChangeInSuffix(t *testing.T, cli *harness.CLI, o harness.SeedOptions, fromOther bool) {
	cs, hosts, members, exp, neutralized := ccRepairSetup(t, cli, o, fromOther)

	t.Run("import on m1, m4, m5: the change neutralised, the rest carried", func(t *testing.T) {
		importWithSuffix(t, cli, o.Kind, hosts, members, exp, filepath.Join(cs.Root, "cfg"), neutralized)
	})
	if t.Failed() {
		return
	}
	t.Run("m4 + m5 alone (m1 never started) elect and serve every write after the change", func(t *testing.T) {
		checkTwoAlone(t, o.Kind, map[uint64]*harness.Host{4: hosts[4], 5: hosts[5]}, members, cs.FinalState)
	})
	if t.Failed() {
		return
	}
	t.Run("restart: every write after the change, exactly {1,4,5}, any two elect and commit", func(t *testing.T) {
		startRepaired(t, o.Kind, hosts, harness.ShardID)
		checkShardAfterRepair(t, hosts, repairWant{shardID: harness.ShardID, state: cs.FinalState,
			removed: removedIDs(exp.Meta.Membership, members)})
		m, err := hosts[1].Membership(harness.ShardID)
		harness.Must(t, err)
		if _, ok := m.Nodes[cs.AddedID]; ok {
			t.Fatalf("replica %d is a member: the carried change applied (%v)", cs.AddedID, m.Nodes)
		}
		checkAnyOneDown(t, o.Kind, hosts)
	})
}

// TestMinimalLossDifferential: without the suffix nothing changes. (1) The
// reference tools.ImportSnapshot and our `import --ignore-log` of the same
// `export --with-log` (the reference ignores the extra file) differ only
// as docs/import-contract.md allows (runDifferentialWith); (2) our import of
// a plain `export` and our `import --ignore-log` of a with-log export of the
// same node write the same records, snapshot files and fingerprint.
func TestMinimalLossDifferential(t *testing.T) {
	cli := requireSuffixCLI(t)
	for _, o := range minimalLossStores {
		o := o
		t.Run(o.Store.String(), func(t *testing.T) {
			t.Run("reference vs our --ignore-log import of a with-log export", func(t *testing.T) {
				useWithLog := func(t *testing.T, s *harness.Seed) {
					exp := exportWithLog(t, cli, s.Host(1), 1, filepath.Join(s.Root, "cli-export"))
					s.ExportDir, s.SnapshotIndex, s.SnapshotTerm = exp.Dir, exp.Index, exp.Term
					s.ConfigChangeID = exp.Meta.Membership.ConfigChangeId
				}
				runDifferentialWith(t, cli, o, diffVariant{prepare: useWithLog, importArgs: []string{"--ignore-log"}}, 1, 4)
			})
			t.Run("plain export == --ignore-log import of a with-log export", func(t *testing.T) {
				plain, ignore := seedClone(t, o), seedClone(t, o)
				harness.Must(t, plain.DeleteHostDirs(2, 3))
				harness.Must(t, ignore.DeleteHostDirs(2, 3))
				pexp := exportPlain(t, cli, plain.Host(1), 1, filepath.Join(plain.Root, "cli-export"))
				iexp := exportWithLog(t, cli, ignore.Host(1), 1, filepath.Join(ignore.Root, "cli-export"))
				if pexp.Index != iexp.Index || pexp.Term != iexp.Term {
					t.Fatalf("plain export at %d/%d, with-log export at %d/%d", pexp.Index, pexp.Term, iexp.Index, iexp.Term)
				}
				pm4 := newHosts(t, filepath.Join(plain.Root, "new"), o, "m4", "m5")
				pHosts := map[uint64]*harness.Host{1: plain.Host(1), 4: pm4[0]}
				iHosts := map[uint64]*harness.Host{1: ignore.Host(1), 4: rebaseHost(pm4[0], plain.Root, ignore.Root)}
				members := map[uint64]string{1: plain.Host(1).Addr, 4: pm4[0].Addr, 5: pm4[1].Addr}
				for _, id := range []uint64{1, 4} {
					pres, err := cli.ImportArgs(pHosts[id], filepath.Join(plain.Root, "cfg"), pexp.Dir, members, id)
					harness.Must(t, err)
					ires, err := cli.ImportArgs(iHosts[id], filepath.Join(ignore.Root, "cfg"), iexp.Dir, members, id, "--ignore-log")
					harness.Must(t, err)
					if !pres.OK() || !ires.OK() {
						t.Fatalf("imports on %s:\nplain export:\n%s\n--ignore-log:\n%s", pHosts[id].Name, pres, ires)
					}
					if _, ok, _ := ires.LogSuffixJSON(); ok {
						t.Fatalf("import --ignore-log on %s reports a logSuffix:\n%s", iHosts[id].Name, ires)
					}
					for _, k := range []string{"after", "fingerprint", "removedReplicas", "members", "configChangeId", "staleEntries"} {
						pv, iv := rootless(t, pres.Get(k), plain.Root), rootless(t, ires.Get(k), ignore.Root)
						if pv != iv {
							t.Fatalf("%s: result %s: plain export %s, --ignore-log %s", pHosts[id].Name, k, pv, iv)
						}
					}
					compareNodes(t, pHosts[id], iHosts[id], id, plain.Root, ignore.Root)
				}
			})
		})
	}
}

// rootless is v as JSON with root replaced by <root>.
func rootless(t *testing.T, v any, root string) string {
	t.Helper()
	b, err := json.Marshal(v)
	harness.Must(t, err)
	return strings.ReplaceAll(string(b), root, "<root>")
}

// compareNodes: the two hosts' records of replicaID and their snapshot
// directories are the same (paths compared relative to each root).
func compareNodes(t *testing.T, a, b *harness.Host, replicaID uint64, rootA, rootB string) {
	t.Helper()
	da, err := harness.DumpHostNode(a, harness.ShardID, replicaID, harness.ReadOnly)
	harness.Must(t, err)
	db, err := harness.DumpHostNode(b, harness.ShardID, replicaID, harness.ReadOnly)
	harness.Must(t, err)
	norm := func(d harness.NodeDump, root string) harness.NodeDump {
		d.Raw = nil
		ss := map[uint64]pb.Snapshot{}
		for i, s := range d.Snapshots {
			s = normalizeRecord(s)
			s.Filepath = strings.Replace(s.Filepath, root, "<root>", 1)
			ss[i] = s
		}
		d.Snapshots = ss
		return d
	}
	if na, nb := norm(da, rootA), norm(db, rootB); !reflect.DeepEqual(na, nb) {
		t.Fatalf("%s records differ:\nplain export  %+v\n--ignore-log  %+v", a.Name, na, nb)
	}
	sa := harness.SnapshotRoot(a.Dir, a.DeploymentID, harness.ShardID, replicaID)
	sb := harness.SnapshotRoot(b.Dir, b.DeploymentID, harness.ShardID, replicaID)
	ta, err := harness.DumpTree(sa)
	harness.Must(t, err)
	tb, err := harness.DumpTree(sb)
	harness.Must(t, err)
	for _, p := range unionPaths(ta, tb) {
		if strings.HasSuffix(p, "dragonboat.snapshot.message") {
			ra := mustSnapshotFlag(t, filepath.Join(sa, p))
			rb := mustSnapshotFlag(t, filepath.Join(sb, p))
			ra.Filepath = strings.Replace(ra.Filepath, rootA, "<root>", 1)
			rb.Filepath = strings.Replace(rb.Filepath, rootB, "<root>", 1)
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("%s %s: %+v vs %+v", a.Name, p, ra, rb)
			}
			continue
		}
		if ta[p] != tb[p] {
			t.Fatalf("%s snapshot dir %s: plain export %+v, --ignore-log %+v", a.Name, p, ta[p], tb[p])
		}
	}
}

// TestMinimalLossCrashAtEveryStep is TestPebbleImportCrashAtEveryStep for an
// import that carries a suffix: for each step boundary of IMPORT_STEPS, m1
// (the survivor) and a fresh m4 are killed there. Restarted without a
// rerun, each host is the old one (killed before 'committed': m1 its whole
// old node, m4 no node) or the new one (m1 and m4 both committed: a quorum
// of {1,4,5} serving m1's last state, the suffix being part of the same
// commit). Then the CLI import rerun on m1 and m4 (m5 once) and a restart
// give the new one with the suffix. Sources: on both stores, the
// config-change seed exported with --snapshot-from m2's Dragonboat export
// (every step on both hosts, a neutralised change in the suffix); on Pebble,
// the seed exported from m1's own snapshot, which the survivor keeps in
// place (its path has no temp-created, snapshot-copied, finalized: it
// finishes instead, which is asserted).
func TestMinimalLossCrashAtEveryStep(t *testing.T) {
	cli := requireSuffixCLI(t)
	if !cli.IsRepositoryCLI() {
		t.Skipf("skipped: INTEROP_CLI=%s is not this repository's bin/nodehost.js", cli.Script)
	}
	child, why := harness.FindImportChild()
	if child == nil {
		t.Fatalf("the CLI runs but the crash child cannot: %s", why)
	}
	steps, err := child.Steps()
	harness.Must(t, err)
	if indexOf(steps, "committed") < 0 {
		t.Fatalf("IMPORT_STEPS %v has no 'committed' step", steps)
	}
	t.Logf("IMPORT_STEPS: %v", steps)
	type source struct {
		o         harness.SeedOptions
		fromOther bool
	}
	for _, src := range []source{{minimalLossStores[0], true}, {minimalLossStores[1], true}, {minimalLossStores[1], false}} {
		src := src
		name := src.o.Store.String() + ", snapshot from m2 (--snapshot-from)"
		if !src.fromOther {
			name = src.o.Store.String() + ", m1's own snapshot"
		}
		t.Run(name, func(t *testing.T) {
			for i, step := range steps {
				i, step := i, step
				t.Run(fmt.Sprintf("%d-%s", i+1, step), func(t *testing.T) {
					var (
						s           *harness.Seed
						hosts       map[uint64]*harness.Host
						members     map[uint64]string
						exp         suffixExport
						neutralized []harness.IndexTerm
					)
					old := map[uint64]string{}
					if src.fromOther {
						var cs *harness.ConfigChangeSeed
						cs, hosts, members, exp, neutralized = ccRepairSetup(t, cli, src.o, true)
						s = cs.Seed
						old[cs.AddedID] = cs.AddedAddr
					} else {
						s, hosts, members = pebbleRepairSetup(t, src.o)
						exp = exportWithLog(t, cli, s.Host(1), 1, filepath.Join(s.Root, "cli-export"))
					}
					for id, a := range s.Members {
						old[id] = a
					}
					committed := map[uint64]bool{}
					for _, id := range []uint64{1, 4} {
						out, err := child.Import(hosts[id], exp.Dir, members, id, step)
						harness.Must(t, err)
						committed[id] = crashOutcome(t, hosts[id].Name, out, steps, step, !src.fromOther && id == 1)
					}
					crashed := s.Root + "-crashed"
					harness.Must(t, harness.CopyTree(s.Root, crashed))
					t.Cleanup(func() { os.RemoveAll(crashed) })
					chosts := map[uint64]*harness.Host{}
					for id, h := range hosts {
						chosts[id] = rebaseHost(h, s.Root, crashed)
					}
					t.Run(fmt.Sprintf("restart without rerun (m1 committed %t, m4 committed %t)", committed[1], committed[4]), func(t *testing.T) {
						switch {
						case committed[1] && committed[4]:
							checkCrashedNewState(t, s.Kind, chosts, s.FinalState)
						case !committed[1] && !committed[4]:
							oldSeed := *s
							oldSeed.Members = old // the old node's membership (with replica 6 in the config-change seed)
							checkCrashedOld(t, &oldSeed, chosts)
						case committed[1]:
							checkCrashedSurvivorOnlyNew(t, s.Kind, chosts, members)
						default:
							t.Fatalf("m4 committed but m1 did not, at step %s", step)
						}
					})
					t.Run("rerun on m1, m4 (m5 once), restart: m1's last state with {1,4,5}", func(t *testing.T) {
						importWithSuffix(t, cli, s.Kind, hosts, members, exp, filepath.Join(s.Root, "cfg"), neutralized)
						checkRepairedWithState(t, hosts, s.FinalState, removedIDs(exp.Meta.Membership, members), s.Kind)
					})
				})
			}
		})
	}
}

// crashOutcome checks one crash child run at step and says whether the host
// committed: killed exactly at step after a run of IMPORT_STEPS in order, or
// (maySkip: the survivor keeping its own snapshot directory), when its path
// has no such step, finished without it.
func crashOutcome(t *testing.T, name string, out harness.ChildOutcome, steps []string, step string, maySkip bool) bool {
	t.Helper()
	last := -1
	for _, st := range out.Steps {
		at := indexOf(steps, st)
		if at <= last {
			t.Fatalf("the import child on %s reported steps %v, not in IMPORT_STEPS order %v", name, out.Steps, steps)
		}
		last = at
	}
	switch {
	case out.Killed:
		if len(out.Steps) == 0 || out.Steps[len(out.Steps)-1] != step {
			t.Fatalf("the import child on %s was killed elsewhere than at '%s':\n%s", name, step, out)
		}
	case maySkip && out.OK && indexOf(out.Steps, step) < 0:
		t.Logf("%s: its import has no '%s' step (path %v): it finished", name, step, out.Steps)
	default:
		t.Fatalf("the import child on %s neither died at '%s' nor finished without it:\n%s", name, step, out)
	}
	return indexOf(out.Steps, "committed") >= 0
}

// checkCrashedSurvivorOnlyNew: m1 finished its import (its path has no such
// step) while m4 died before its commit. m1 alone is the new node (its
// membership {1,4,5}, no quorum to elect); m4 has no node.
func checkCrashedSurvivorOnlyNew(t *testing.T, kind harness.SMKind, hosts map[uint64]*harness.Host, members map[uint64]string) {
	t.Helper()
	m1, m4 := hosts[1], hosts[4]
	t.Cleanup(func() { harness.StopAll(m1, m4) })
	harness.Must(t, m1.Start())
	harness.Must(t, m1.StartReplica(kind, harness.ShardID, 1, nil, sm.KVOptions{}, config.NoCompression))
	if got := shardReplicas(t, m1, harness.ShardID); !reflect.DeepEqual(got, members) {
		t.Fatalf("m1 (import finished) reports membership %v, want %v", got, members)
	}
	harness.Must(t, m4.Start())
	info := m4.NH.GetNodeHostInfo(dragonboat.NodeHostInfoOption{})
	for _, ni := range info.LogInfo {
		if ni.ShardID == harness.ShardID {
			t.Fatalf("m4 killed before its commit: Dragonboat lists replica %d of shard %d", ni.ReplicaID, ni.ShardID)
		}
	}
	t.Logf("m1: the new node (members %v); m4: no node", members)
}

func checkRepairedWithState(t *testing.T, hosts map[uint64]*harness.Host, state sm.State, removed []uint64, kind harness.SMKind) {
	t.Helper()
	startRepaired(t, kind, hosts, harness.ShardID)
	checkShardAfterRepair(t, hosts, repairWant{shardID: harness.ShardID, state: state, removed: removed})
}

// TestMinimalLossSeeds proves the Dragonboat side of the scenarios above
// without the CLI: in both seeds m1's log store holds, past its latest
// snapshot, the entries the suffix must carry (contiguous to its max index),
// and in the config-change seed the entry at ChangeIndex is Dragonboat's
// "add replica 6" with application writes after it.
func TestMinimalLossSeeds(t *testing.T) {
	for _, o := range minimalLossStores {
		o := o
		t.Run(o.Store.String(), func(t *testing.T) {
			t.Run("seed", func(t *testing.T) {
				s := seedClone(t, o)
				entries := survivorEntriesAfter(t, s.Host(1), s.LocalSnapshotIndex)
				if len(entries) == 0 || entries[len(entries)-1].Index < s.LastIndex {
					t.Fatalf("m1 holds %d entries past its snapshot %d, want them up to its last write %d", len(entries), s.LocalSnapshotIndex, s.LastIndex)
				}
			})
			t.Run("config-change seed", func(t *testing.T) {
				cs := ccSeedClone(t, o)
				entries := survivorEntriesAfter(t, cs.Host(1), cs.SnapshotIndex)
				var change *pb.Entry
				writesAfter := 0
				for i := range entries {
					switch e := &entries[i]; {
					case e.Index == cs.ChangeIndex:
						change = e
					case e.Index > cs.ChangeIndex:
						if k, v, ok := harness.EntryWrite(*e); ok && cs.FinalState.KV[k] == v {
							writesAfter++
						}
					}
				}
				if change == nil || change.Type != pb.ConfigChangeEntry {
					t.Fatalf("m1's entry at %d: %+v, want the config change", cs.ChangeIndex, change)
				}
				var cc pb.ConfigChange
				harness.Must(t, cc.Unmarshal(change.Cmd))
				if cc.Type != pb.AddNode || cc.ReplicaID != cs.AddedID {
					t.Fatalf("config change %+v, want add replica %d", cc, cs.AddedID)
				}
				if writesAfter != len(cs.AfterChange) {
					t.Fatalf("%d writes after the change in m1's log, want %d", writesAfter, len(cs.AfterChange))
				}
				t.Logf("m1: snapshot %d, entries %d..%d, add replica %d at %d (term %d), %d writes after it",
					cs.SnapshotIndex, entries[0].Index, entries[len(entries)-1].Index, cc.ReplicaID, change.Index, change.Term, writesAfter)
			})
		})
	}
}

// survivorEntriesAfter decodes h's entries of replica 1 past index from its
// log store and requires them contiguous from index+1 to its max index, with
// a snapshot record at index.
func survivorEntriesAfter(t *testing.T, h *harness.Host, index uint64) []pb.Entry {
	t.Helper()
	d, err := harness.DumpHostNode(h, harness.ShardID, 1, harness.ReadOnly)
	harness.Must(t, err)
	if _, ok := d.Snapshots[index]; !ok {
		t.Fatalf("%s: no snapshot record at %d (records at %v)", h.Name, index, keysOf(d.Snapshots))
	}
	if len(d.BatchIDs) != 0 {
		t.Fatalf("%s: entry batches %v", h.Name, d.BatchIDs)
	}
	var out []pb.Entry
	for _, r := range d.Raw[leveldblogdb.HeaderEntry] {
		var e pb.Entry
		harness.Must(t, e.Unmarshal(r.Value))
		if e.Index > index {
			if want := index + 1 + uint64(len(out)); e.Index != want {
				t.Fatalf("%s: entry %d where %d was due", h.Name, e.Index, want)
			}
			out = append(out, e)
		}
	}
	if d.MaxIndex == nil || len(out) == 0 || out[len(out)-1].Index != *d.MaxIndex {
		t.Fatalf("%s: %d entries past %d, max index %v", h.Name, len(out), index, d.MaxIndex)
	}
	return out
}

// TestEntryEncodingIsColfer pins how Dragonboat v4 stores an Entry (the bytes
// a log suffix carries and an import writes): Colfer (raftpb/raft_optimized.go),
// not protobuf. Fields 0..7 (term, index, type, key, client ID, series ID,
// responded-to, cmd) each as a header byte = field number then an unsigned
// varint, only when non-zero; a value >= 2^49 as header|0x80 then 8 bytes
// big-endian; cmd as 7, varint length, bytes; the record ends with 0x7f.
// Dragonboat's empty entry of term 5, index 5 is 00 05 01 05 7f. The
// protobuf encoding of the same entry (08 05 10 05 18 00 ..., what
// src/records/codec.ts encodeEntry wrote when this test was added) is
// refused by Dragonboat's decoder.
func TestEntryEncodingIsColfer(t *testing.T) {
	mustHex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		harness.Must(t, err)
		return b
	}
	for _, c := range []struct {
		e   pb.Entry
		hex string
	}{
		{pb.Entry{Term: 5, Index: 5}, "000501057f"},
		{pb.Entry{Term: 3, Index: 300, Type: pb.EncodedEntry, Key: 1, SeriesID: 1, Cmd: []byte{0, 'a', '=', 'b'}},
			"000301ac020202030105010704" + "00613d62" + "7f"},
		{pb.Entry{Term: 1 << 49, Index: 2, Type: pb.ConfigChangeEntry}, "800002000000000000" + "0102" + "0201" + "7f"},
	} {
		got, err := c.e.Marshal()
		harness.Must(t, err)
		if want := mustHex(c.hex); !bytes.Equal(got, want) {
			t.Fatalf("%+v: Dragonboat writes % x, this test expects % x", c.e, got, want)
		}
		var back pb.Entry
		harness.Must(t, back.Unmarshal(got))
		if !entriesEqual(back, c.e) {
			t.Fatalf("round trip %+v -> %+v", c.e, back)
		}
	}
	var e pb.Entry
	if err := e.Unmarshal(mustHex("0805100518002000280030003800")); err == nil {
		t.Fatalf("Dragonboat decoded the protobuf encoding of an empty entry as %+v", e)
	} else {
		t.Logf("protobuf bytes of an empty entry: Dragonboat's decoder says %v", err)
	}
}
