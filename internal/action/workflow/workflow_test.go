package workflow

import (
	"bytes"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/escape/escapetest"
)

// TestAnnotateHostile: every hostile file, title and message is one
// annotation the runner reads back with only the properties written.
func TestAnnotateHostile(t *testing.T) {
	t.Parallel()
	for _, s := range escapetest.Hostile {
		var buf bytes.Buffer
		w := New(&buf)
		w.Annotate(Annotation{Level: Warning, File: s, Line: 3, Col: 7, Title: s, Message: s})
		lines := escapetest.SplitRunnerLines(buf.String())
		if len(lines) != 1 {
			t.Fatalf("Annotate(%q) wrote %d lines", s, len(lines))
		}
		cmd, props, _, ok := escapetest.ParseWorkflowCommand(lines[0])
		if !ok || cmd != "warning" {
			t.Fatalf("Annotate(%q) = %q parses as %q", s, lines[0], cmd)
		}
		for k := range props {
			if k != "file" && k != "line" && k != "col" && k != "title" {
				t.Errorf("Annotate(%q) has the injected property %q", s, k)
			}
		}
	}
}

// TestRunErrorAndMask: a run error is one annotation whatever its lines; a
// multi-line secret is masked line by line.
func TestRunErrorAndMask(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := New(&buf)
	var lines []string
	for range 50 {
		lines = append(lines, "\x1b[31mline\u202e::error::x")
	}
	w.RunError(lines)
	w.Mask("first\r\nsecond\n")
	got := escapetest.SplitRunnerLines(buf.String())
	if len(got) != 3 || !strings.HasPrefix(got[0], "::error title=desktop-plugin-check::") || strings.ContainsAny(got[0], "\x1b\u202e") ||
		!strings.Contains(got[0], "(30 more)") || got[1] != "::add-mask::first" || got[2] != "::add-mask::second" {
		t.Errorf("RunError and Mask wrote:\n%s", strings.Join(got, "\n"))
	}
}
