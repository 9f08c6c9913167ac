package main

import (
	"os"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/checks"
)

// TestREADME keeps the README's rule table and its first commands honest.
func TestREADME(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, r := range checks.All() {
		if !strings.Contains(readme, "| `"+r.ID+"` |") {
			t.Errorf("README's rule table lacks %s", r.ID)
		}
	}
	top := readme[:min(len(readme), 1500)]
	for _, cmd := range []string{"go run . oci:testdata/example-plugin", "go test ./..."} {
		if !strings.Contains(top, cmd) {
			t.Errorf("README does not show %q near the top", cmd)
		}
	}
	// The example command must pass on the committed fixture.
	if r := runCLI(t, "", "oci:testdata/example-plugin"); r.code != 0 {
		t.Errorf("the README's example exits %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}
