package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/internal/escape/escapetest"
	"github.com/google/go-cmp/cmp"
)

func TestMarkdownStaysUnderLimit(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("<|`@\x1b", 10<<10/5) // 10 KiB that escaping inflates the most
	r := sample()
	r.Findings = nil
	for i := 0; i < 100000; i++ {
		r.Findings = append(r.Findings, checks.Finding{
			Rule: "metadata/files", Severity: checks.Severity(1 + i%3), Message: long,
			Platform: long, Path: long, Pointer: long, Label: long,
		})
	}
	for i := 0; i < 5000; i++ {
		r.Platforms = append(r.Platforms, Platform{Platform: long, Digest: long})
		r.Impact = append(r.Impact, Impact{DesktopAPIVersion: long, Before: long, After: long, Note: long})
		r.Errors = append(r.Errors, long)
		r.DesktopAPIVersions = append(r.DesktopAPIVersions, long)
	}
	r.Image, r.Digest, r.Repository, r.Release, r.Profile = long, long, long, long, long
	var buf bytes.Buffer
	if err := Markdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("the summary of %d findings is %d bytes", len(r.Findings), buf.Len())
	if buf.Len() >= summaryLimit {
		t.Fatalf("Markdown() wrote %d bytes, want less than %d", buf.Len(), summaryLimit)
	}
	out := buf.String()
	for _, want := range []string{"more findings not shown (", "more platforms not shown", "more Desktop API versions not shown", "more errors not shown"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary does not say %q", want)
		}
	}
	checkMarkdownTables(t, out)
}

// TestMarkdownWithinLimit: for a check run's summary or a pull-request
// comment (65,535 characters), the report stays within the limit however
// hostile and many the values are, says what it cut, and keeps every part.
func TestMarkdownWithinLimit(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("<|`@\x1b", 10<<10/5)
	r := sample()
	r.Findings = nil
	for i := 0; i < 5000; i++ {
		r.Findings = append(r.Findings, checks.Finding{
			Rule: "metadata/files", Severity: checks.Severity(1 + i%3), Message: long,
			Platform: long, Path: long, Pointer: long, Label: long,
		})
	}
	for i := 0; i < 500; i++ {
		r.Platforms = append(r.Platforms, Platform{Platform: long, Digest: long})
		r.Impact = append(r.Impact, Impact{DesktopAPIVersion: long, Before: long, After: long, Note: long})
		r.Errors = append(r.Errors, long)
		r.DesktopAPIVersions = append(r.DesktopAPIVersions, long)
	}
	r.Image, r.Digest, r.Repository, r.Release, r.Profile = long, long, long, long, long
	for _, limit := range []int{65535, 65536 - 1024, MinMarkdownLimit} {
		var buf bytes.Buffer
		if err := MarkdownWithin(&buf, r, limit); err != nil {
			t.Fatal(err)
		}
		if buf.Len() > limit {
			t.Errorf("MarkdownWithin(%d) wrote %d bytes", limit, buf.Len())
		}
		out := buf.String()
		for _, want := range []string{"more findings not shown (", "the job summary and the JSON report", "more platforms not shown",
			"more Desktop API versions not shown", "more errors not shown", "### Upgrade impact", "<sub>Cost:"} {
			if !strings.Contains(out, want) {
				t.Errorf("MarkdownWithin(%d) does not say %q", limit, want)
			}
		}
		checkMarkdownTables(t, out)
	}

	// A report that fits is the job summary's, whole.
	var small, whole bytes.Buffer
	if err := MarkdownWithin(&small, sample(), 65535); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&whole, sample()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(whole.String(), small.String()); diff != "" {
		t.Errorf("MarkdownWithin() mismatch (-want +got):\n%s", diff)
	}
}

func TestCutMarkdown(t *testing.T) {
	t.Parallel()
	md := []byte(strings.Repeat("| a | b |\n", 10000))
	got := cutMarkdown(md, 50000)
	if len(got) > 50000 || !strings.HasSuffix(string(got), "_The report was cut at 50000 bytes._\n") {
		t.Errorf("cutMarkdown() = %d bytes ending %q", len(got), got[max(len(got)-60, 0):])
	}
	checkMarkdownTables(t, string(got))
	if short := []byte("x\n"); string(cutMarkdown(short, 50000)) != "x\n" {
		t.Error("cutMarkdown() changed a report within the limit")
	}
}

func TestMarkdownSections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		report  *Report
		want    []string
		notWant []string
	}{
		{
			name:    "pass without findings",
			report:  &Report{Result: ResultPass, Image: "x:1", FailOn: checks.Error},
			want:    []string{"## ✅ Docker Desktop plugin check: pass", "No findings.", "- **Image:** `x:1`", "0 errors, 0 warnings, 0 notices; fails on error and above"},
			notWant: []string{"### Upgrade impact", "### Errors", "### Platforms"},
		},
		{
			name:   "error",
			report: &Report{Result: ResultError, Errors: []string{"reading config of linux/arm64: unexpected EOF"}},
			want:   []string{"## ⚠️ Docker Desktop plugin check: error", "### Errors", "- ⚠️ reading config of linux/arm64: unexpected EOF"},
		},
		{
			name: "upgrade impact",
			report: &Report{Result: ResultPass, Impact: []Impact{
				{DesktopAPIVersion: "0.3.4", Before: "1.1.0", After: "1.2.0"},
				{DesktopAPIVersion: "0.2.0"},
			}},
			want:    []string{"### Upgrade impact", "| Desktop API version | Before | After |\n", "| `0.3.4` | `1.1.0` | `1.2.0` |", "| `0.2.0` | _none_ | _none_ |"},
			notWant: []string{"Note"},
		},
		{
			name: "upgrade impact with notes",
			report: &Report{Result: ResultPass, Impact: []Impact{
				{DesktopAPIVersion: "0.3.4", Before: "1.1.0", After: "1.2.0"},
				{DesktopAPIVersion: "0.2.0", Note: "unchanged"},
			}},
			want: []string{"| Desktop API version | Before | After | Note |", "| `0.3.4` | `1.1.0` | `1.2.0` |  |", "| `0.2.0` | — | — | unchanged |"},
		},
		{
			name:   "sample",
			report: sample(),
			want: []string{
				"## ❌ Docker Desktop plugin check: fail",
				"| ❌ error | `labels/required` |  | `Dockerfile:8`<br>label `com.docker.extension.changelog` |",
				"| Platform | Digest |",
				"<sub>Cost: 12 requests, 337.6 KiB, 900 ms.</sub>",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Markdown(&buf, tt.report); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, s := range tt.want {
				if !strings.Contains(out, s) {
					t.Errorf("Markdown() lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(out, s) {
					t.Errorf("Markdown() has %q:\n%s", s, out)
				}
			}
			checkMarkdownTables(t, out)
		})
	}
}

func TestMarkdownHostileValues(t *testing.T) {
	t.Parallel()
	r := sample()
	for _, s := range escapetest.Hostile {
		r.Findings = append(r.Findings, checks.Finding{Rule: s, Severity: checks.Warning, Message: s, Platform: s, Label: s, Path: s, Pointer: s})
		r.Platforms = append(r.Platforms, Platform{Platform: s, Digest: s})
		r.Impact = append(r.Impact, Impact{DesktopAPIVersion: s, Before: s, After: s}, Impact{DesktopAPIVersion: s, Note: s})
		r.Errors = append(r.Errors, s)
	}
	var buf bytes.Buffer
	if err := Markdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkMarkdownTables(t, out)
	for _, bad := range []string{"<script", "<!--", "\x1b", "@octocat", "![img]", "\u202e"} {
		if strings.Contains(out, bad) {
			t.Errorf("the summary contains %q", bad)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "::") || strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "## ") && !strings.HasPrefix(line, "### ") {
			t.Errorf("a value started a line: %q", line)
		}
	}
}

// checkMarkdownTables checks that every row of every table has as many
// cells as the table's header.
func checkMarkdownTables(t *testing.T, out string) {
	t.Helper()
	cells := 0
	for i, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = 0
			continue
		}
		n := escapetest.UnescapedPipes(line) - 1
		if cells == 0 {
			cells = n
			continue
		}
		if n != cells {
			t.Errorf("line %d has %d cells, want %d: %.200q", i+1, n, cells, line)
		}
	}
}

func TestMdCode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"sha256:abc", "`sha256:abc`"},
		{"registry.example/a/b:1.2.0@sha256:0f", "`registry.example/a/b:1.2.0@sha256:0f`"},
		{"/ui/dashboard-tab", "`/ui/dashboard-tab`"},
		{"a b", "a b"},
		{"a`b", "a\\`b"},
		{"", ""},
		{strings.Repeat("a", 300), strings.Repeat("a", 300)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20s", tt.in), func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, escape.MarkdownCode(tt.in)); diff != "" {
				t.Errorf("escape.MarkdownCode(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
