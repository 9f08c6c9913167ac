package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/checks"
)

// TestJSONAndSARIFEscapeInvisibleRunes: bidi overrides, C1 controls and
// other invisible runes in values from the image reach JSON and SARIF as
// \u escapes, and long values are clipped.
func TestJSONAndSARIFEscapeInvisibleRunes(t *testing.T) {
	t.Parallel()
	invisible := "evil\u202etxt.exe\u0085next\u200bzw\U000e0041tag"
	r := &Report{Image: "acme/p:1", Result: ResultFail, APIVersion: strings.Repeat("9", 7<<20), FailOn: checks.Error,
		Findings: []checks.Finding{{Rule: "labels/format", Severity: checks.Error, Message: invisible, Label: invisible}}}
	for _, format := range []string{"json", "sarif"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			f, _ := Lookup(format)
			var buf bytes.Buffer
			if err := f(&buf, r); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, bad := range []string{"\u202e", "\u0085", "\u200b", "\U000e0041"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s report holds %U raw", format, []rune(bad)[0])
				}
			}
			for _, want := range []string{`\u202e`, `\u0085`, `\u200b`, `\udb40\udc41`} {
				if !strings.Contains(out, want) {
					t.Errorf("%s report lacks the escape %s", format, want)
				}
			}
			if !json.Valid(buf.Bytes()) {
				t.Errorf("%s report is not valid JSON after escaping", format)
			}
			if len(out) > 1<<20 {
				t.Errorf("%s report is %d bytes: a 7 MiB value was not clipped", format, len(out))
			}
		})
	}
}
