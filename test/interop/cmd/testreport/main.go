// Command testreport prints a readable summary of a `go test -json` stream
// (package results, skipped tests with their reason, full output of failed
// tests), so run.sh can keep the JSON for CI and still show what happened.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: testreport report.json")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	outputs := map[string][]string{} // package/test -> output lines
	var failed, skipped, pkgLines []string
	passed := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			fmt.Println(sc.Text()) // build errors and the like are not JSON
			continue
		}
		key := ev.Package + " " + ev.Test
		switch ev.Action {
		case "output":
			outputs[key] = append(outputs[key], ev.Output)
		case "pass":
			if ev.Test == "" {
				pkgLines = append(pkgLines, fmt.Sprintf("ok    %s %.1fs", ev.Package, ev.Elapsed))
			} else {
				passed++
			}
		case "fail":
			if ev.Test == "" {
				pkgLines = append(pkgLines, fmt.Sprintf("FAIL  %s %.1fs", ev.Package, ev.Elapsed))
			} else {
				failed = append(failed, key)
			}
		case "skip":
			if ev.Test != "" {
				skipped = append(skipped, key)
			}
		}
	}
	sort.Strings(skipped)
	for _, k := range skipped {
		reason := ""
		for _, l := range outputs[k] {
			if strings.Contains(l, ".go:") && reason == "" {
				reason = strings.TrimSpace(l)
			}
		}
		fmt.Printf("SKIP  %s: %s\n", k, reason)
	}
	for _, k := range failed {
		fmt.Printf("---- FAIL %s\n%s", k, strings.Join(outputs[k], ""))
	}
	for _, l := range pkgLines {
		fmt.Println(l)
	}
	fmt.Printf("interop summary (tests and sub-tests): passed=%d failed=%d skipped=%d\n", passed, len(failed), len(skipped))
}
