package action

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadSource: input source lints, alone or beside the image, with the
// build's target and build arguments (one a line).
func TestReadSource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		want   []string
	}{
		{"an image only", map[string]string{"image": "acme/p:1.0.0", "target": "release"},
			[]string{"--format", "github", "--", "acme/p:1.0.0"}},
		{"the sources only", map[string]string{"source": "plugin", "target": "release", "build-args": "VERSION=1.2.0\n\n  NAME=a b,c\n"},
			[]string{"lint", "--format", "github", "--target=release", "--build-arg=VERSION=1.2.0", "--build-arg=NAME=a b,c", "--", "plugin"}},
		{"both", map[string]string{"image": "acme/p:1.0.0", "source": "."},
			[]string{"--format", "github", "--source=.", "--", "acme/p:1.0.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := Read(func(k string) string {
				name, ok := strings.CutPrefix(k, "INPUT_")
				if !ok {
					return ""
				}
				return tc.inputs[strings.ToLower(name)]
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, st.Args); diff != "" {
				t.Errorf("Args mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Read(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "input source") {
		t.Errorf("Read with neither image nor source: %v, want an error naming both", err)
	}
}
