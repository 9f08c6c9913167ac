package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape/escapetest"
	"github.com/docker/desktop-plugin-check/source"
	"github.com/google/go-cmp/cmp"
)

func TestGitHubAnnotations(t *testing.T) {
	t.Parallel()
	src := &source.Sources{
		DockerfilePath: "build/Dockerfile",
		Dockerfile:     []byte("FROM alpine\nLABEL a=1 \\\n  b=2\n"),
		MetadataPath:   "metadata.json",
		Metadata:       []byte("{\n  \"ui\": {}\n}\n"),
	}
	tests := []struct {
		name string
		f    checks.Finding
		want string
	}{
		{
			name: "label on its LABEL line",
			f:    checks.Finding{Rule: "labels/format", Severity: checks.Error, Message: "bad", Label: "b"},
			want: "::error file=build/Dockerfile,line=3,title=labels/format::bad\n",
		},
		{
			name: "pointer on its parent's line, platform in the message",
			f:    checks.Finding{Rule: "metadata/schema", Severity: checks.Warning, Message: "missing", Platform: "linux/arm64", Pointer: "/ui/dashboard-tab"},
			want: "::warning file=metadata.json,line=2,title=metadata/schema::[linux/arm64] missing\n",
		},
		{
			name: "no location, notice",
			f:    checks.Finding{Rule: "api/bare", Severity: checks.Notice, Message: "50% sure"},
			want: "::notice title=api/bare::50%25 sure\n",
		},
		{
			name: "hostile message and platform",
			f:    checks.Finding{Rule: "labels/template", Severity: checks.Error, Message: "x\n::add-mask::y\r\x1b[2J", Platform: "linux/a,b:c\n::error::z"},
			want: "::error title=labels/template::[linux/a,b:c%0A::error::z] x%0A::add-mask::y%0A\\u001b[2J\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := GitHub(&buf, &Report{Sources: src, Findings: []checks.Finding{tt.f}}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
				t.Errorf("GitHub() mismatch (-want +got):\n%s", diff)
			}
			checkAnnotationLines(t, buf.String())
		})
	}
}

// checkAnnotationLines checks that every line of the output is an
// annotation command the runner parses, and nothing else.
func checkAnnotationLines(t *testing.T, out string) {
	t.Helper()
	if out != "" && !strings.HasSuffix(out, "\n") {
		t.Errorf("output does not end in a newline")
	}
	for _, line := range escapetest.SplitRunnerLines(out) {
		cmd, _, _, ok := escapetest.ParseWorkflowCommand(line)
		if !ok || (cmd != "error" && cmd != "warning" && cmd != "notice") {
			t.Errorf("line %q is not an annotation (command %q)", line, cmd)
		}
	}
}

func TestGitHubCapsPerSeverity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                      string
		errors, warnings, notices int
		want                      map[string]int // annotations written per command
		rest                      string         // the final notice's message, "" for none
	}{
		{"few", 2, 3, 4, map[string]int{"error": 2, "warning": 3, "notice": 4}, ""},
		{"exactly ten each", 10, 10, 10, map[string]int{"error": 10, "warning": 10, "notice": 10}, ""},
		{"too many errors", 25, 3, 12, map[string]int{"error": 10, "warning": 3, "notice": 10},
			"18 more findings are in the job summary (15 errors, 3 notices); GitHub shows 10 annotations of each severity"},
		{"ten notices and too many warnings", 0, 11, 10, map[string]int{"warning": 10, "notice": 10},
			"2 more findings are in the job summary (1 warning, 1 notice); GitHub shows 10 annotations of each severity"},
		{"one too many notices", 0, 0, 11, map[string]int{"notice": 10},
			"2 more findings are in the job summary (2 notices); GitHub shows 10 annotations of each severity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &Report{}
			// Interleaved, least severe first, to check the ordering.
			for i := 0; i < max(tt.errors, tt.warnings, tt.notices); i++ {
				for _, s := range []struct {
					n   int
					sev checks.Severity
				}{{tt.notices, checks.Notice}, {tt.warnings, checks.Warning}, {tt.errors, checks.Error}} {
					if i < s.n {
						r.Findings = append(r.Findings, checks.Finding{Rule: "x/y", Severity: s.sev, Message: fmt.Sprintf("%s %d", s.sev, i)})
					}
				}
			}
			var buf bytes.Buffer
			if err := GitHub(&buf, r); err != nil {
				t.Fatal(err)
			}
			checkAnnotationLines(t, buf.String())
			lines := escapetest.SplitRunnerLines(buf.String())
			got := map[string]int{}
			rest := ""
			rank := map[string]int{"error": 2, "warning": 1, "notice": 0}
			last := 3
			for i, line := range lines {
				cmd, props, data, _ := escapetest.ParseWorkflowCommand(line)
				if props["title"] == "desktop-plugin-check" {
					if i != len(lines)-1 {
						t.Errorf("the notice that counts the rest is line %d of %d", i+1, len(lines))
					}
					rest = data
					got[cmd]++
					continue
				}
				if rank[cmd] > last {
					t.Errorf("line %d (%s) follows a less severe annotation", i+1, cmd)
				}
				last = rank[cmd]
				got[cmd]++
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("annotations per command mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.rest, rest); diff != "" {
				t.Errorf("final notice mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGitHubHostileValues(t *testing.T) {
	t.Parallel()
	r := sample()
	for _, s := range escapetest.Hostile {
		r.Findings = append(r.Findings, checks.Finding{Rule: "labels/format", Severity: checks.Warning, Message: s, Platform: s, Label: s, Path: s, Pointer: s})
	}
	var buf bytes.Buffer
	if err := GitHub(&buf, r); err != nil {
		t.Fatal(err)
	}
	checkAnnotationLines(t, buf.String())
	if strings.Contains(buf.String(), "\x1b") {
		t.Error("an ANSI escape reaches the log")
	}
}

func TestGitHubEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := GitHub(&buf, &Report{Result: ResultPass}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("GitHub() wrote %q for no findings, want nothing", buf.String())
	}
}
