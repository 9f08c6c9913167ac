package action

import (
	"strings"
	"testing"
)

// TestStarted: only a start with no arguments in a GitHub step is the
// Action; GITHUB_ACTIONS alone (set in every run: step) is not.
func TestStarted(t *testing.T) {
	t.Parallel()
	gha := func(k string) string {
		if k == "GITHUB_ACTIONS" {
			return "true"
		}
		return ""
	}
	none := func(string) string { return "" }
	for _, tc := range []struct {
		name   string
		args   []string
		getenv func(string) string
		want   bool
	}{
		{"the Action's container", nil, gha, true},
		{"the CLI in a run: step", []string{"--format", "json", "acme/p:1.2.0"}, gha, false},
		{"the CLI on a laptop", []string{"acme/p:1.2.0"}, none, false},
		{"no arguments outside GitHub", nil, none, false},
	} {
		if got := Started(tc.args, tc.getenv); got != tc.want {
			t.Errorf("%s: Started() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFormatOutputs: every output has its own random delimiter that its
// value does not contain.
func TestFormatOutputs(t *testing.T) {
	t.Parallel()
	out := string(formatOutputs(map[string]string{"result": "pass", "digest": "x\nghadelimiter_\ny"}))
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			if seen[delim] || len(delim) != len("ghadelimiter_")+32 {
				t.Errorf("output %s has delimiter %q: reused or not random", name, delim)
			}
			seen[delim] = true
		}
	}
	if len(seen) != 2 {
		t.Errorf("%d outputs written, want 2:\n%s", len(seen), out)
	}
}
