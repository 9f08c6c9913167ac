package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range All() {
		if r.ID == "" || r.Title == "" || r.Help == "" || r.Run == nil {
			t.Errorf("rule %q lacks an ID, title, help or Run", r.ID)
		}
		if r.Severity < Notice || r.Severity > Error {
			t.Errorf("rule %s has default severity %v", r.ID, r.Severity)
		}
		if seen[r.ID] {
			t.Errorf("rule ID %s is not unique", r.ID)
		}
		seen[r.ID] = true
		if Lookup(r.ID) != r {
			t.Errorf("Lookup(%q) does not return the rule", r.ID)
		}
	}
}

func TestRunAppliesSeverityOverrides(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	idx := twoPlatforms(t, imagetest.PluginLabels(), imagetest.PluginLabels(), imagetest.PluginMetadata)
	img := openIndex(t, idx)
	target, err := NewTarget(ctx, img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	always := &Rule{ID: "test/always", Title: "t", Help: "h", Severity: Error, Run: func(ctx context.Context, p *Pass) error {
		p.Reportf("linux/amd64", "found %d", 1)
		return nil
	}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []Severity
	}{
		{"default", Config{}, []Severity{Error}},
		{"lowered", Config{Severities: map[string]Severity{"test/always": Notice}}, []Severity{Notice}},
		{"off", Config{Severities: map[string]Severity{"test/always": Off}}, nil},
	} {
		res, err := Run(ctx, target, []*Rule{always}, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got []Severity
		for _, f := range res.Findings {
			got = append(got, f.Severity)
		}
		if len(got) != len(tc.want) || (len(got) == 1 && got[0] != tc.want[0]) {
			t.Errorf("%s: severities %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseJSONDepth(t *testing.T) {
	t.Parallel()
	deep := make([]byte, 0, 400002)
	for range 200000 {
		deep = append(deep, '[')
	}
	for range 200000 {
		deep = append(deep, ']')
	}
	if _, err := ParseJSON(deep); err == nil {
		t.Error("ParseJSON accepted 200,000 levels of nesting")
	}
	if _, err := ParseJSON([]byte(`{"a":"[[[[[[","b":[1]}`)); err != nil {
		t.Errorf("ParseJSON refused brackets inside strings: %v", err)
	}
}

// TestCapFindings: a rule's findings beyond the cap become one finding
// that counts them, with the highest severity among them.
func TestCapFindings(t *testing.T) {
	t.Parallel()
	r := &Rule{ID: "x/y", Severity: Error}
	var fs []Finding
	for i := range 250 {
		sev := Warning
		if i%50 == 0 {
			sev = Error
		}
		fs = append(fs, Finding{Rule: r.ID, Severity: sev, Message: fmt.Sprintf("m%03d", i)})
	}
	got := capFindings(r, fs)
	if len(got) != maxFindingsPerRule+1 {
		t.Fatalf("%d findings, want %d", len(got), maxFindingsPerRule+1)
	}
	last := got[len(got)-1]
	if want := (Finding{Rule: "x/y", Severity: Warning, Message: "150 more x/y findings are not listed"}); last != want {
		t.Errorf("last finding = %+v, want %+v", last, want)
	}
	if got[0].Severity != Error || got[4].Severity != Error || got[5].Severity != Warning {
		t.Errorf("the most severe findings are not kept first: %v %v %v", got[0], got[4], got[5])
	}
}

// TestSpecCaps: a metadata.json naming 10,000 host binaries and 5,000 UIs (within the 1 MiB cap)
// is checked for the first ones only, with a warning that says so.
func TestSpecCaps(t *testing.T) {
	t.Parallel()
	var bins, uis []string
	for i := range 10000 {
		bins = append(bins, fmt.Sprintf(`{"path": "/windows/t%d.exe"}`, i))
	}
	for i := range 5000 {
		uis = append(uis, fmt.Sprintf(`"tab%05d": {"title": "T", "root": "/ui%d", "src": "index.html"}`, i, i))
	}
	meta := `{"icon": "docker.svg", "ui": {` + strings.Join(uis, ",") + `}, "host": {"binaries": [{"windows": [` + strings.Join(bins, ",") + `]}]}}`
	idx := twoPlatforms(t, imagetest.PluginLabels(), imagetest.PluginLabels(), meta)
	got := runRules(t, idx, Options{}, metadataFiles)
	counts := map[Severity]int{}
	var warnings []string
	for _, f := range got {
		counts[f.Severity]++
		if f.Severity == Warning {
			warnings = append(warnings, f.Message)
		}
	}
	want := []string{
		"metadata.json names 10000 host binaries; the first 64 are checked, the other 9936 are not",
		"metadata.json names 5000 UIs; the first 16 (by name) are checked, the other 4984 are not",
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
	// 16 UI roots, their 16 entry points and 64 binaries are missing: 96 errors.
	if counts[Error] != 96 {
		t.Errorf("%d errors, want 96 (16 UI roots + 16 entry points + 64 binaries)", counts[Error])
	}
}
