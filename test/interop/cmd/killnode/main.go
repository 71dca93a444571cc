// Command killnode runs ONE NodeHost of the interop harness on Dragonboat's
// default Pebble store, in its own process, so a test can SIGKILL it while it
// writes (scenario/pebble_torn_test.go, TestPebbleSIGKILLedNode). It starts
// replica -replica of shard -shard with the -members map, then proposes
// values of -value-size bytes from -writers goroutines in a loop (ten keys,
// overwritten: the state stays small), printing "ready" once a proposal
// committed and "committed N" every 10 commits. It never exits by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"

	"nodehost-tools/interop/harness"
	"nodehost-tools/interop/sm"
)

func main() {
	dir := flag.String("dir", "", "NodeHostDir")
	addr := flag.String("addr", "", "RaftAddress")
	shard := flag.Uint64("shard", harness.ShardID, "shard ID")
	replica := flag.Uint64("replica", 1, "replica ID")
	members := flag.String("members", "", "initial members: 1=addr,2=addr,...")
	valueSize := flag.Int("value-size", 100<<10, "bytes per proposal")
	writers := flag.Int("writers", 4, "proposing goroutines")
	flag.Parse()
	h := &harness.Host{Name: "killnode", Dir: *dir, Addr: *addr, Store: harness.Pebble}
	initial := map[uint64]string{}
	for _, kv := range strings.Split(*members, ",") {
		id, a, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(id, 10, 64)
		if !ok || err != nil {
			fail(fmt.Errorf("bad -members entry %q", kv))
		}
		initial[n] = a
	}
	if err := h.Start(); err != nil {
		fail(err)
	}
	if err := h.StartReplica(harness.Regular, *shard, *replica, initial, sm.KVOptions{}, config.NoCompression); err != nil {
		fail(err)
	}
	value := strings.Repeat("x", *valueSize)
	var committed atomic.Int64
	var once sync.Once
	for w := 0; w < *writers; w++ {
		go func(w int) {
			for i := 0; ; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := h.NH.SyncPropose(ctx, h.NH.GetNoOPSession(*shard), sm.Set(fmt.Sprintf("big%d", (w*7+i)%10), value))
				cancel()
				if err != nil {
					if !isTransient(err) {
						fail(err)
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				once.Do(func() { fmt.Println("ready") })
				if n := committed.Add(1); n%10 == 0 {
					fmt.Printf("committed %d\n", n)
				}
			}
		}(w)
	}
	select {}
}

func isTransient(err error) bool {
	for _, e := range []error{dragonboat.ErrShardNotReady, dragonboat.ErrTimeout, dragonboat.ErrSystemBusy,
		dragonboat.ErrShardNotFound, dragonboat.ErrAborted, dragonboat.ErrRejected, dragonboat.ErrShardClosed,
		dragonboat.ErrShardNotInitialized, context.DeadlineExceeded} {
		if err == e || strings.Contains(err.Error(), e.Error()) {
			return true
		}
	}
	return false
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "killnode:", err)
	os.Exit(1)
}
