package checks

import (
	"context"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
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
