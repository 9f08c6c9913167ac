package cli

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/checks"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// exampleLayout is the README's example plugin, an OCI layout.
var exampleLayout = filepath.Join(repoRoot, "testdata", "example-plugin")

// TestREADME keeps the README's rule table and its first commands honest.
func TestREADME(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
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
	if r := runCLI(t, "", "oci:"+exampleLayout); r.code != 0 {
		t.Errorf("the README's example exits %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestNoBuildOutputInTheTree: no committed file is an executable or an
// object file (ELF, PE, Mach-O): build output never enters the tree, a
// generator writes the fixtures.
func TestNoBuildOutputInTheTree(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing to check", err)
	}
	magics := [][]byte{{0x7f, 'E', 'L', 'F'}, []byte("MZ"), {0xcf, 0xfa, 0xed, 0xfe}, {0xca, 0xfe, 0xba, 0xbe}, {0xfe, 0xed, 0xfa, 0xcf}}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		f, err := os.Open(filepath.Join(repoRoot, name))
		if err != nil {
			continue // deleted in the work tree
		}
		head := make([]byte, 4)
		n, _ := io.ReadFull(f, head)
		st, _ := f.Stat()
		f.Close()
		for _, m := range magics {
			if n >= len(m) && bytes.Equal(head[:len(m)], m) {
				t.Errorf("%s is build output (starts with %q): remove it and ignore it", name, head[:n])
			}
		}
		if st != nil && st.Mode()&0o111 != 0 && !strings.HasSuffix(name, ".sh") && !strings.HasPrefix(name, ".ci/") && !strings.Contains(name, "testdata/") {
			t.Errorf("%s is executable: only scripts may be", name)
		}
	}
}
