package harness

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/record"
)

// CopyPebblePartition copies a Pebble partition (its data dir and, when it
// is elsewhere, its WAL dir) under dst and returns the copies' data and WAL
// dirs (the same dir when the WALs live with the data).
func CopyPebblePartition(dataDir, walDir, dst string) (cdata, cwal string, err error) {
	cdata = filepath.Join(dst, "data")
	if err := CopyTree(dataDir, cdata); err != nil {
		return "", "", fmt.Errorf("copy %s: %w", dataDir, err)
	}
	cwal = cdata
	if walDir != "" && filepath.Clean(walDir) != filepath.Clean(dataDir) {
		cwal = filepath.Join(dst, "wal")
		if _, err := os.Stat(walDir); err == nil {
			if err := CopyTree(walDir, cwal); err != nil {
				return "", "", fmt.Errorf("copy %s: %w", walDir, err)
			}
		} else if err := os.MkdirAll(cwal, 0o755); err != nil {
			return "", "", err
		}
	}
	return cdata, cwal, nil
}

// L0Tables is what Pebble's metrics say about level 0.
type L0Tables struct {
	Files     int64
	Sublevels int32
}

// PebbleOpenCopy copies the partition to a scratch dir, opens the copy with
// Dragonboat's options in mode and calls inspect on the open DB (nil: only
// open and close). In ReadWrite mode automatic compactions are disabled, so
// what inspect sees is exactly what Pebble's Open made of the store: every
// WAL replayed and flushed (one L0 table per non-empty WAL), nothing merged
// yet. The error of the open itself is returned wrapped in ErrPebbleOpen.
func PebbleOpenCopy(dataDir, walDir string, mode PebbleOpenMode, inspect func(db *pebble.DB) error) (err error) {
	scratch, err := os.MkdirTemp("", "pebble-copy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	cdata, cwal, err := CopyPebblePartition(dataDir, walDir, scratch)
	if err != nil {
		return err
	}
	return PebbleOpenInPlace(cdata, cwal, mode, inspect)
}

// ErrPebbleOpen marks an error returned by pebble.Open itself.
var ErrPebbleOpen = errors.New("pebble open failed")

// PebbleOpenInPlace opens dataDir/walDir THEMSELVES (use it on copies only)
// with Dragonboat's options; see PebbleOpenCopy.
func PebbleOpenInPlace(cdata, cwal string, mode PebbleOpenMode, inspect func(db *pebble.DB) error) (err error) {
	opts := PebbleOptions(cwal)
	opts.ReadOnly = mode == ReadOnly
	opts.ErrorIfNotExists = true
	opts.DisableAutomaticCompactions = true
	db, err := pebble.Open(cdata, opts)
	opts.Cache.Unref()
	if err != nil {
		return fmt.Errorf("%w: %s open of %s: %v", ErrPebbleOpen, mode, cdata, err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if inspect != nil {
		return inspect(db)
	}
	return nil
}

// PebbleL0 counts the L0 tables of a partition (on a copy). ReadWrite: what
// a NodeHost's open of the partition leaves in L0 (Dragonboat's options;
// see PebbleOpenCopy); ReadOnly: the tables the MANIFEST already lists.
func PebbleL0(dataDir, walDir string, mode PebbleOpenMode) (L0Tables, error) {
	var out L0Tables
	err := PebbleOpenCopy(dataDir, walDir, mode, func(db *pebble.DB) error {
		m := db.Metrics()
		out = L0Tables{Files: m.Levels[0].NumFiles, Sublevels: m.Levels[0].Sublevels}
		return nil
	})
	return out, err
}

// WALFile is one `NNNNNN.log` of a Pebble WAL dir.
type WALFile struct {
	Name string
	Num  uint64
	Size int64
}

// WALFiles lists dir's WALs by number (oldest first).
func WALFiles(dir string) ([]WALFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []WALFile
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".log") {
			continue
		}
		num, err := strconv.ParseUint(strings.TrimSuffix(n, ".log"), 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, WALFile{Name: n, Num: num, Size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Num < out[j].Num })
	return out, nil
}

// WALLayout is how a WAL file reads with Pebble's own record reader.
type WALLayout struct {
	Size int64
	// Starts are the offsets of the complete records, in order.
	Starts []int64
	// GoodEnd is the offset just past the last complete record (where a
	// torn tail is cut), Size when the file ends cleanly.
	GoodEnd int64
	// Tail is the reader's error after the last complete record (nil = clean
	// EOF; record.ErrInvalidChunk, ErrZeroedChunk or io.ErrUnexpectedEOF =
	// torn: Pebble replays such a WAL only when it is the last one).
	Tail error
}

// ReadWALLayout reads path record by record as Pebble's replay does.
func ReadWALLayout(path string) (WALLayout, error) {
	var l WALLayout
	num, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(path), ".log"), 10, 64)
	if err != nil {
		return l, fmt.Errorf("%s is not a WAL name: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return l, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return l, err
	}
	l.Size = info.Size()
	rr := record.NewReader(f, pebble.FileNum(num))
	for {
		off := rr.Offset()
		r, err := rr.Next()
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		if err != nil {
			if err != io.EOF {
				l.Tail = err
			}
			break
		}
		l.Starts = append(l.Starts, off)
		// Offset() after a whole record is where the next one starts (or the
		// end of the file); the next loop's Offset() says so exactly.
		l.GoodEnd = rr.Offset()
	}
	if l.Tail == nil {
		l.GoodEnd = l.Size
	}
	return l, nil
}
