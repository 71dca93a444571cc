package scenario

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/record"
	"github.com/lni/dragonboat/v4/config"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/sm"
)

// walBlockSize is Pebble's WAL block size (record.blockSize).
const walBlockSize = 32 << 10

// tearKind is how the newest WAL of m1's logdb-4 is torn.
type tearKind string

const (
	// tearCut: the file ends in the middle of its last record (a crash while
	// the record was being written; the reader hits a chunk past EOF).
	tearCut tearKind = "cut mid-record"
	// tearZeroed: the last record's bytes are zeros and the file is zero-filled
	// to its block's end (the size reached the disk, the data did not; what
	// WAL preallocation leaves behind).
	tearZeroed tearKind = "zeroed tail"
)

// TestPebbleTornWALTail: docs/pebble-store.md writer rule 5. Pebble replays every WAL but the
// last strictly (strict_wal_tail=true in the OPTIONS Pebble writes), so a
// drop-in WAL placed after a WAL whose tail a crash tore would make the
// partition unopenable: our writer first cuts the newest WAL back to its last
// complete record. On a copy of the Pebble seed, m1's logdb-4 newest WAL is
// torn (two ways, see tearKind), then the seed repair (our import on m1 with
// the torn WAL, fresh m4, m5) and a restart must give a leader, the
// snapshot's state, membership {1,4,5} and new commits. And on a copy of the
// torn partition, the very WAL our import added, placed after the UNcut torn
// WAL, makes Pebble's open (Dragonboat's options) fail — while the torn WAL
// alone opens fine — so the cut is what makes the repaired partition open.
func TestPebbleTornWALTail(t *testing.T) {
	cli := requireRepositoryCLI(t)
	for _, kind := range []tearKind{tearCut, tearZeroed} {
		kind := kind
		t.Run(string(kind), func(t *testing.T) {
			s, hosts, members := pebbleRepairSetup(t, pebbleSeed)
			m1 := s.Host(1)
			own := m1.Partition(harness.ShardID)
			walDir := m1.PartitionWALDir(own)
			wals, err := harness.WALFiles(walDir)
			harness.Must(t, err)
			if len(wals) == 0 {
				t.Fatalf("m1 logdb-%d has no WAL", own)
			}
			newest := filepath.Join(walDir, wals[len(wals)-1].Name)
			clean, err := harness.ReadWALLayout(newest)
			harness.Must(t, err)
			if clean.Tail != nil || len(clean.Starts) < 2 {
				t.Fatalf("m1's newest WAL %s before tearing: %d records, tail %v; want a clean WAL with records",
					newest, len(clean.Starts), clean.Tail)
			}
			lastStart := clean.Starts[len(clean.Starts)-1]
			tearWAL(t, newest, kind, lastStart, clean.Size)
			torn, err := harness.ReadWALLayout(newest)
			harness.Must(t, err)
			if !record.IsInvalidRecord(torn.Tail) || torn.GoodEnd != lastStart || len(torn.Starts) != len(clean.Starts)-1 {
				t.Fatalf("tearing %s (%s) did not leave a torn tail at %d: %d records, good end %d, tail %v",
					newest, kind, lastStart, len(torn.Starts), torn.GoodEnd, torn.Tail)
			}
			t.Logf("m1 %s: %d records, %d bytes; torn (%s): size %d, last complete record ends at %d, Pebble's reader says %v",
				filepath.Base(newest), len(clean.Starts), clean.Size, kind, torn.Size, torn.GoodEnd, torn.Tail)

			// The torn partition as the crash left it, for the counterfactual.
			tornCopy := filepath.Join(s.Root, "torn-copy")
			cdata, cwal, err := harness.CopyPebblePartition(m1.PartitionDir(own), walDir, tornCopy)
			harness.Must(t, err)
			walsBefore := walNames(t, m1, own)

			t.Run("our import on m1 (torn WAL), m4, m5", func(t *testing.T) {
				cfgDir := filepath.Join(s.Root, "cfg")
				for _, id := range sortedIDs(members) {
					res, err := cli.Import(hosts[id], cfgDir, s.ExportDir, members, id)
					harness.Must(t, err)
					if !res.OK() {
						t.Fatalf("our import on %s (m1's logdb-%d newest WAL torn: %s) failed; the CLI's output:\n%s",
							hosts[id].Name, own, kind, res)
					}
				}
			})
			if t.Failed() {
				return
			}
			added := newWALs(walsBefore, walNames(t, m1, own))

			t.Run("the torn WAL was cut back to its last complete record; one new WAL", func(t *testing.T) {
				after, err := harness.ReadWALLayout(newest)
				harness.Must(t, err)
				if after.Tail != nil || after.Size != lastStart || len(after.Starts) != len(clean.Starts)-1 {
					t.Fatalf("%s after our import: size %d, %d records, tail %v; want cut to %d bytes (%d complete records), ending cleanly",
						newest, after.Size, len(after.Starts), after.Tail, lastStart, len(clean.Starts)-1)
				}
				if len(added) != 1 {
					t.Fatalf("our import added WALs %v to m1 logdb-%d, want exactly one", added, own)
				}
				t.Logf("%s cut from %d to %d bytes; new WAL %s", filepath.Base(newest), torn.Size, after.Size, added[0])
			})
			if t.Failed() {
				return
			}

			t.Run("counterfactual: the new WAL after the UNcut torn WAL makes Pebble's open fail", func(t *testing.T) {
				// The torn WAL alone is the last one: Pebble tolerates its tail.
				harness.Must(t, harness.PebbleOpenCopy(cdata, cwal, harness.ReadWrite, nil))
				data, err := os.ReadFile(filepath.Join(walDir, added[0]))
				harness.Must(t, err)
				harness.Must(t, os.WriteFile(filepath.Join(cwal, added[0]), data, 0o644))
				err = harness.PebbleOpenCopy(cdata, cwal, harness.ReadWrite, nil)
				if err == nil {
					t.Fatalf("Pebble opened the torn WAL followed by our drop-in WAL %s: the cut would not matter", added[0])
				}
				if !errors.Is(err, harness.ErrPebbleOpen) || !strings.Contains(err.Error(), "replaying WAL") {
					t.Fatalf("Pebble's open failed, but not on the WAL replay: %v", err)
				}
				t.Logf("without the cut Pebble refuses: %v", err)
			})

			t.Run("Pebble reads exactly docs/import-contract.md's records on m1 (read-only and read-write open of copies)", func(t *testing.T) {
				for _, mode := range []harness.PebbleOpenMode{harness.ReadOnly, harness.ReadWrite} {
					checkImportedNodeMode(t, s, m1, 1, members, s.ConfigChangeID, false, mode)
				}
			})

			t.Run("Dragonboat restarts the repaired shard", func(t *testing.T) {
				checkRepairedShard(t, s, hosts)
			})
		})
	}
}

// tearWAL tears the WAL at path from its last record (at lastStart; the
// file is size bytes) the way kind says.
func tearWAL(t *testing.T, path string, kind tearKind, lastStart, size int64) {
	t.Helper()
	switch kind {
	case tearCut:
		harness.Must(t, os.Truncate(path, lastStart+(size-lastStart)/2))
	case tearZeroed:
		end := (size/walBlockSize + 1) * walBlockSize
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		harness.Must(t, err)
		defer f.Close()
		_, err = f.WriteAt(make([]byte, end-lastStart), lastStart)
		harness.Must(t, err)
		harness.Must(t, f.Sync())
	default:
		panic(fmt.Sprint("unknown tear ", kind))
	}
}

// TestPebbleSIGKILLedNode: the "node SIGKILLed before the export".
// m1 runs in its own process (cmd/killnode, Dragonboat's default Pebble
// store) and proposes 100 KiB values from 4 goroutines in a loop (records
// that span several 32 KiB WAL blocks) while m2, m3 run in this process; m1
// is SIGKILLed mid-stream. m2 exports (m2 and m3 are a quorum), then m2, m3
// are lost; our import on the killed m1 (its store never closed), fresh m4
// and m5; the restart must elect a leader, serve the export's state with
// members {1,4,5} and commit. Whether the kill tore m1's newest WAL depends on
// where it landed (between two block writes of one record, or not): the test
// reports it, and when it is torn asserts the cut (TestPebbleTornWALTail
// makes both kinds of tear deterministically).
func TestPebbleSIGKILLedNode(t *testing.T) {
	cli := requireRepositoryCLI(t)
	root, err := os.MkdirTemp(tmpRoot, "sigkill-")
	harness.Must(t, err)
	bin := filepath.Join(root, "killnode")
	build := exec.Command("go", "build", "-o", bin, "./cmd/killnode")
	build.Dir = filepath.Join(harness.RepoRoot(), "test", "interop")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/killnode: %v\n%s", err, out)
	}
	ho := harness.HostOptions{Store: harness.Pebble}
	var old []*harness.Host
	orig := map[uint64]string{}
	for i := 1; i <= 3; i++ {
		h, err := harness.NewHost(root, fmt.Sprintf("m%d", i), ho)
		harness.Must(t, err)
		old = append(old, h)
		orig[uint64(i)] = h.Addr
	}
	m1, m2, m3 := old[0], old[1], old[2]
	t.Cleanup(func() { harness.StopAll(m2, m3) })
	for i, h := range []*harness.Host{m2, m3} {
		harness.Must(t, h.Start())
		harness.Must(t, h.StartReplica(harness.Regular, harness.ShardID, uint64(i+2), orig, sm.KVOptions{}, config.NoCompression))
	}

	child := exec.Command(bin, "-dir", m1.Dir, "-addr", m1.Addr, "-replica", "1", "-members", harness.MembersArg(orig))
	stdout, err := child.StdoutPipe()
	harness.Must(t, err)
	var stderr strings.Builder
	child.Stderr = &stderr
	harness.Must(t, child.Start())
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	killed := false
	deadline := time.After(60 * time.Second)
	for !killed {
		select {
		case l, ok := <-lines:
			if !ok {
				child.Wait()
				t.Fatalf("m1's process (cmd/killnode) exited before the kill; stderr:\n%s", stderr.String())
			}
			// Kill in the middle of the stream: after 30 commits through m1.
			if l == "committed 30" {
				harness.Must(t, child.Process.Signal(syscall.SIGKILL))
				killed = true
			}
		case <-deadline:
			child.Process.Kill()
			child.Wait()
			t.Fatalf("m1's process committed no 30 proposals within 60 s; stderr:\n%s", stderr.String())
		}
	}
	werr := child.Wait()
	if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("m1's process did not die of SIGKILL: %v", werr)
	}

	// m2 and m3 are a quorum without m1: read and export from replica 2. Proposals m1 replicated
	// before the kill can still commit after a read (the new leader commits them with its first
	// entry), so the export's state is pinned between two equal reads.
	var snapState sm.State
	var exportDir string
	for attempt := 0; ; attempt++ {
		before, err := m2.Read(harness.ShardID)
		harness.Must(t, err)
		_, dir, err := m2.ExportSnapshot(harness.ShardID, filepath.Join(root, fmt.Sprintf("export-%d", attempt)))
		harness.Must(t, err)
		after, err := m2.Read(harness.ShardID)
		harness.Must(t, err)
		if reflect.DeepEqual(before, after) {
			snapState, exportDir = after, dir
			break
		}
		if attempt == 4 {
			t.Fatalf("the state kept moving around the export (last applied %d, then %d)", before.LastIndex, after.LastIndex)
		}
	}
	harness.StopAll(m2, m3)
	for _, h := range []*harness.Host{m2, m3} {
		harness.Must(t, os.RemoveAll(filepath.Dir(h.Dir)))
	}

	own := m1.Partition(harness.ShardID)
	walDir := m1.PartitionWALDir(own)
	wals, err := harness.WALFiles(walDir)
	harness.Must(t, err)
	if len(wals) == 0 {
		t.Fatalf("killed m1 has no WAL in logdb-%d", own)
	}
	newest := filepath.Join(walDir, wals[len(wals)-1].Name)
	atKill, err := harness.ReadWALLayout(newest)
	harness.Must(t, err)
	if atKill.Tail != nil {
		t.Logf("the SIGKILL tore m1's %s: %d complete records, good end %d of %d bytes (%v)",
			filepath.Base(newest), len(atKill.Starts), atKill.GoodEnd, atKill.Size, atKill.Tail)
	} else {
		t.Logf("the SIGKILL left m1's %s ending cleanly: %d records, %d bytes (no record was half-written at the kill)",
			filepath.Base(newest), len(atKill.Starts), atKill.Size)
	}

	fresh := map[uint64]*harness.Host{}
	for _, id := range []uint64{4, 5} {
		h, err := harness.NewHost(filepath.Join(root, "new"), fmt.Sprintf("m%d", id), ho)
		harness.Must(t, err)
		fresh[id] = h
	}
	hosts := map[uint64]*harness.Host{1: m1, 4: fresh[4], 5: fresh[5]}
	members := map[uint64]string{}
	for id, h := range hosts {
		members[id] = h.Addr
	}
	t.Run("our import on the killed m1, m4, m5", func(t *testing.T) {
		for _, id := range sortedIDs(members) {
			res, err := cli.Import(hosts[id], filepath.Join(root, "cfg"), exportDir, members, id)
			harness.Must(t, err)
			if !res.OK() {
				t.Fatalf("our import on %s (m1 SIGKILLed while writing) failed; the CLI's output:\n%s", hosts[id].Name, res)
			}
		}
		after, err := harness.ReadWALLayout(newest)
		harness.Must(t, err)
		if after.Tail != nil || after.Size != atKill.GoodEnd {
			t.Fatalf("%s after our import: size %d, tail %v; want %d bytes ending cleanly", newest, after.Size, after.Tail, atKill.GoodEnd)
		}
	})
	if t.Failed() {
		return
	}
	t.Run("Dragonboat restarts the repaired shard", func(t *testing.T) {
		startRepaired(t, harness.Regular, hosts, harness.ShardID)
		checkShardAfterRepair(t, hosts, repairWant{shardID: harness.ShardID, state: snapState, removed: []uint64{2, 3}})
	})
}
