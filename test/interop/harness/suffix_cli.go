package harness

import (
	"fmt"
	"strconv"
	"strings"
)

// Export runs our `export` of replica on the stopped host h into dest, with
// extra arguments (e.g. --with-log).
func (c *CLI) Export(h *Host, cfgDir, dest string, shardID, replicaID uint64, extra ...string) (CLIResult, error) {
	cfg, err := WriteCLIConfig(h, cfgDir)
	if err != nil {
		return CLIResult{}, err
	}
	args := []string{"export", "--config", cfg, "--shard-id", fmt.Sprint(shardID), "--replica-id", fmt.Sprint(replicaID),
		"--dest", dest, "--json"}
	return c.Run(append(args, extra...)...)
}

// ImportArgs is Import with extra arguments (e.g. --ignore-log).
func (c *CLI) ImportArgs(h *Host, cfgDir, src string, members map[uint64]string, replicaID uint64, extra ...string) (CLIResult, error) {
	cfg, err := WriteCLIConfig(h, cfgDir)
	if err != nil {
		return CLIResult{}, err
	}
	args := []string{"import", "--config", cfg, "--src", src, "--members", MembersArg(members),
		"--replica-id", fmt.Sprint(replicaID), "--yes", "--json"}
	return c.Run(append(args, extra...)...)
}

// HasOption reports whether `nodehost <command> --help` lists option (e.g.
// "--with-log"): the CLI of this checkout implements it.
func (c *CLI) HasOption(command, option string) (bool, error) {
	res, err := c.Run(command, "--help")
	if err != nil {
		return false, err
	}
	return strings.Contains(res.Stdout+res.Stderr, option), nil
}

// Get walks the JSON result along keys (objects only); nil if absent.
func (r CLIResult) Get(keys ...string) any {
	var v any = r.JSON
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// JSONUint reads a JSON integer the CLI prints as a decimal string (bigint)
// or as a number.
func JSONUint(v any) (uint64, error) {
	switch x := v.(type) {
	case string:
		return strconv.ParseUint(x, 10, 64)
	case float64:
		if x < 0 || x != float64(uint64(x)) {
			return 0, fmt.Errorf("%v is not an unsigned integer", x)
		}
		return uint64(x), nil
	default:
		return 0, fmt.Errorf("%v (%T) is not an integer", v, v)
	}
}

// SuffixJSON is the logSuffix object of an export or import result
// (issue #13's contract). Neutralized is the import's list, ConfigChanges
// the export's.
type SuffixJSON struct {
	FirstIndex, LastIndex, EntryCount, LastTerm uint64
	SHA256                                      string
	ConfigChanges                               []uint64
	Neutralized                                 []IndexTerm
	Raw                                         map[string]any
}

// IndexTerm is one (index, term) pair.
type IndexTerm struct{ Index, Term uint64 }

// LogSuffixJSON decodes result.logSuffix; ok false when the result has none.
func (r CLIResult) LogSuffixJSON() (s SuffixJSON, ok bool, err error) {
	raw, _ := r.Get("logSuffix").(map[string]any)
	if raw == nil {
		return s, false, nil
	}
	s.Raw = raw
	for _, f := range []struct {
		key string
		dst *uint64
	}{{"firstIndex", &s.FirstIndex}, {"lastIndex", &s.LastIndex}, {"entryCount", &s.EntryCount}, {"lastTerm", &s.LastTerm}} {
		if *f.dst, err = JSONUint(raw[f.key]); err != nil {
			return s, true, fmt.Errorf("logSuffix.%s: %w", f.key, err)
		}
	}
	s.SHA256, _ = raw["sha256"].(string)
	if l, present := raw["configChanges"]; present {
		arr, _ := l.([]any)
		for _, v := range arr {
			n, err := JSONUint(v)
			if err != nil {
				return s, true, fmt.Errorf("logSuffix.configChanges: %w", err)
			}
			s.ConfigChanges = append(s.ConfigChanges, n)
		}
	}
	if l, present := raw["neutralized"]; present {
		arr, _ := l.([]any)
		for _, v := range arr {
			o, _ := v.(map[string]any)
			i, err1 := JSONUint(o["index"])
			t, err2 := JSONUint(o["term"])
			if err1 != nil || err2 != nil {
				return s, true, fmt.Errorf("logSuffix.neutralized entry %v: %v %v", v, err1, err2)
			}
			s.Neutralized = append(s.Neutralized, IndexTerm{i, t})
		}
	}
	return s, true, nil
}
