package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ImportChild runs nodechild/import-child.mjs: one importSnapshot of the
// compiled library (dist/) in its own Node.js process that SIGKILLs itself
// at a chosen step boundary (onStep), like a power cut there.
type ImportChild struct {
	Node   string
	Script string
}

// ChildOutcome is one child run.
type ChildOutcome struct {
	Steps    []string
	Killed   bool // died of SIGKILL
	ExitCode int
	OK       bool   // the import finished ({"ok":true})
	Result   string // the last JSON line
	Stdout   string
	Stderr   string
}

func (o ChildOutcome) String() string {
	return fmt.Sprintf("steps %v, killed %t, exit %d\nstdout:\n%s\nstderr:\n%s", o.Steps, o.Killed, o.ExitCode, o.Stdout, o.Stderr)
}

// FindImportChild returns the crash child, or why it cannot run (no node,
// dist/ not built). It runs the repository's dist/, whatever INTEROP_CLI says.
func FindImportChild() (*ImportChild, string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, "node is not on PATH"
	}
	dist := filepath.Join(RepoRoot(), "dist", "index.js")
	if _, err := os.Stat(dist); err != nil {
		return nil, fmt.Sprintf("%s is not built (npx tsc -p tsconfig.json)", dist)
	}
	c := &ImportChild{Node: node, Script: filepath.Join(RepoRoot(), "test", "interop", "nodechild", "import-child.mjs")}
	return c, ""
}

// Steps asks the library for IMPORT_STEPS.
func (c *ImportChild) Steps() ([]string, error) {
	out, err := c.run(map[string]any{"listSteps": true})
	if err != nil {
		return nil, err
	}
	var v struct {
		Steps []string `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out.Result), &v); err != nil || len(v.Steps) == 0 {
		return nil, fmt.Errorf("IMPORT_STEPS not readable from the library: %v\n%s", err, out)
	}
	return v.Steps, nil
}

// Import runs importSnapshot(CLIConfigOf(h), src, members, replicaID) and
// kills the child at crashStep ("" = never).
func (c *ImportChild) Import(h *Host, src string, members map[uint64]string, replicaID uint64, crashStep string) (ChildOutcome, error) {
	m := map[string]string{}
	for id, a := range members {
		m[fmt.Sprint(id)] = a
	}
	spec := map[string]any{"config": CLIConfigOf(h), "srcDir": src, "members": m, "replicaId": fmt.Sprint(replicaID)}
	if crashStep != "" {
		spec["crashStep"] = crashStep
	}
	return c.run(spec)
}

func (c *ImportChild) run(spec map[string]any) (ChildOutcome, error) {
	var o ChildOutcome
	arg, err := json.Marshal(spec)
	if err != nil {
		return o, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Node, c.Script, string(arg))
	cmd.Dir = RepoRoot()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	o.Stdout, o.Stderr = out.String(), errb.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		o.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			o.Killed = true
		}
	default:
		return o, fmt.Errorf("run %s: %w", c.Script, err)
	}
	for _, l := range strings.Split(o.Stdout, "\n") {
		switch {
		case strings.HasPrefix(l, "step "):
			o.Steps = append(o.Steps, strings.TrimPrefix(l, "step "))
		case strings.HasPrefix(l, "{"):
			o.Result = l
			o.OK = strings.HasPrefix(l, `{"ok":true`)
		}
	}
	return o, nil
}
