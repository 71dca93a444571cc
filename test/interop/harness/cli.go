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
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// RepoRoot is the project root, found from this file's location
// (test/interop/harness → ../../..).
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("runtime.Caller failed")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// CLI runs `node bin/nodehost.js` (or, with an empty Node, Script itself).
type CLI struct {
	Node   string
	Script string
}

// CLIResult is one CLI run.
type CLIResult struct {
	Args     []string
	ExitCode int
	Stdout   string
	Stderr   string
	// JSON is the last stdout line parsed as an object (nil if it is not one).
	JSON map[string]any
}

// OK reports {"ok":true} with exit code 0.
func (r CLIResult) OK() bool {
	ok, _ := r.JSON["ok"].(bool)
	return r.ExitCode == 0 && ok
}

// ErrorCode is error.code of a failed run ("" if absent).
func (r CLIResult) ErrorCode() string {
	e, _ := r.JSON["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// String shows everything a failing assertion needs.
func (r CLIResult) String() string {
	return fmt.Sprintf("nodehost %s\nexit %d\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.Args, " "), r.ExitCode, r.Stdout, r.Stderr)
}

var (
	cliOnce   sync.Once
	cliFound  *CLI
	cliReason string
)

// FindCLI returns the CLI, or a reason why it cannot run here. The script is
// $INTEROP_CLI if set, else <repo>/bin/nodehost.js; one probe run (`verify
// --json` without arguments, a usage error) tells a missing build apart.
func FindCLI() (*CLI, string) {
	cliOnce.Do(func() {
		script := os.Getenv("INTEROP_CLI")
		if script == "" {
			script = filepath.Join(RepoRoot(), "bin", "nodehost.js")
		}
		if _, err := os.Stat(script); err != nil {
			cliReason = fmt.Sprintf("the TypeScript CLI %s does not exist yet", script)
			return
		}
		c := &CLI{Script: script}
		if strings.HasSuffix(script, ".js") {
			node, err := exec.LookPath("node")
			if err != nil {
				cliReason = "node is not on PATH"
				return
			}
			c.Node = node
		}
		res, err := c.Run("verify", "--json")
		if err != nil {
			cliReason = err.Error()
			return
		}
		if strings.Contains(res.Stderr, "ERR_MODULE_NOT_FOUND") || strings.Contains(res.Stderr, "Cannot find module") {
			cliReason = fmt.Sprintf("the CLI %s is not built (run `npm run build`): %s", script,
				errorLine(res.Stderr))
			return
		}
		cliFound = c
	})
	return cliFound, cliReason
}

// errorLine picks the line of a Node.js stack dump that says what failed.
func errorLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); strings.Contains(l, "Error") {
			return l
		}
	}
	return strings.TrimSpace(s)
}

// RequireCLI returns the CLI or skips the test; with INTEROP_REQUIRE_CLI=1
// (set by CI once the CLI ships) a missing CLI fails instead.
func RequireCLI(t testing.TB) *CLI {
	t.Helper()
	c, why := FindCLI()
	if c == nil {
		if os.Getenv("INTEROP_REQUIRE_CLI") == "1" {
			t.Fatalf("INTEROP_REQUIRE_CLI=1 but %s", why)
		}
		t.Skipf("skipped: %s (the lead wires it up; set INTEROP_REQUIRE_CLI=1 to make this a failure)", why)
	}
	return c
}

// Run runs the CLI with args and parses its last stdout line.
func (c *CLI) Run(args ...string) (CLIResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cmd *exec.Cmd
	if c.Node != "" {
		cmd = exec.CommandContext(ctx, c.Node, append([]string{c.Script}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, c.Script, args...) // a stand-in executable (cmd/refcli)
	}
	cmd.Dir = RepoRoot()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := CLIResult{Args: args, Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		return res, fmt.Errorf("run %s: %w", c.Script, err)
	}
	lines := strings.Split(strings.TrimRight(res.Stdout, "\n"), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if strings.HasPrefix(last, "{") {
		var m map[string]any
		if json.Unmarshal([]byte(last), &m) == nil {
			res.JSON = m
		}
	}
	return res, nil
}

// CLIConfig is the cfg.json of the CLI contract.
type CLIConfig struct {
	NodeHostDir  string `json:"nodeHostDir"`
	WALDir       string `json:"walDir,omitempty"`
	RaftAddress  string `json:"raftAddress"`
	DeploymentID uint64 `json:"deploymentId,omitempty"`
	LogDBShards  uint64 `json:"logDBShards,omitempty"`
	ExecShards   uint64 `json:"execShards,omitempty"`
	Hostname     string `json:"hostname,omitempty"`
	// LogDBType is "sharded-pebble" (the default, Dragonboat v4's) or
	// "sharded-leveldb". An existing host's dragonboat.ds decides its store;
	// this decides the store of a fresh one (and must agree with dragonboat.ds).
	LogDBType string `json:"logdbType,omitempty"`
}

// CLIConfigOf is h's configuration in the CLI's terms. LevelDB hosts always
// name their store; Pebble hosts only with CLILogDBType (else the CLI's
// default applies, as for an operator of a default Dragonboat deployment).
func CLIConfigOf(h *Host) CLIConfig {
	cfg := CLIConfig{NodeHostDir: h.Dir, WALDir: h.WALDir, RaftAddress: h.Addr,
		DeploymentID: h.DeploymentID, LogDBShards: h.LogDBShards, ExecShards: h.ExecShards}
	if h.Store != Pebble || h.CLILogDBType {
		cfg.LogDBType = h.Store.TypeName()
	}
	return cfg
}

// WriteCLIConfig writes h's configuration for the CLI and returns its path.
func WriteCLIConfig(h *Host, dir string) (string, error) {
	cfg := CLIConfigOf(h)
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, h.Name+".json")
	return p, os.WriteFile(p, data, 0o644)
}

// MembersArg renders a member map as the --members argument ("1=a,4=b").
func MembersArg(members map[uint64]string) string {
	ids := make([]uint64, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if ids[j] < ids[i] {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
	}
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%d=%s", id, members[id]))
	}
	return strings.Join(parts, ",")
}

// Import runs our `import` for replica on h.
func (c *CLI) Import(h *Host, cfgDir, src string, members map[uint64]string, replicaID uint64) (CLIResult, error) {
	cfg, err := WriteCLIConfig(h, cfgDir)
	if err != nil {
		return CLIResult{}, err
	}
	return c.Run("import", "--config", cfg, "--src", src, "--members", MembersArg(members),
		"--replica-id", fmt.Sprint(replicaID), "--yes", "--json")
}

// IsRepositoryCLI reports whether the CLI is this repository's own
// bin/nodehost.js (INTEROP_CLI unset or naming it), not a stand-in such as
// cmd/refcli. Tests of properties only our writer has (one drop-in WAL per
// partition, the torn-tail cut, crash injection into dist/) need it.
func (c *CLI) IsRepositoryCLI() bool {
	own := filepath.Join(RepoRoot(), "bin", "nodehost.js")
	abs, err := filepath.Abs(c.Script)
	return err == nil && abs == own
}
