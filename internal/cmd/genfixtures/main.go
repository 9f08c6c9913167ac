// Command genfixtures writes the example plugin images under testdata/ that
// the README's first command checks: OCI layouts built in memory, byte for
// byte reproducible. Run it from the module root: go generate ./...
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// tb lets the test image builders run outside a test: any failure ends the
// program.
type tb struct{ testing.TB }

func (tb) Helper()           {}
func (tb) Fatal(args ...any) { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (tb) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
func (tb) TempDir() string {
	d, err := os.MkdirTemp("", "genfixtures-")
	if err != nil {
		panic(err)
	}
	return d
}

// Usage: genfixtures [DIR] writes the fixtures as OCI layouts under DIR
// (default testdata); genfixtures -push HOST[:PORT] pushes them instead, as
// HOST/example-plugin:1.0.0 and HOST/broken-plugin:1.0.0 (for CI workflows
// that run the Action against a local registry).
func main() {
	push := flag.String("push", "", "push the fixtures to this registry instead of writing them")
	flag.Parse()
	out := "testdata"
	if flag.NArg() > 0 {
		out = flag.Arg(0)
	}
	t := tb{}
	write := func(name string, idx v1.ImageIndex) {
		if *push != "" {
			ref := *push + "/" + name + ":1.0.0"
			imagetest.Push(t, ref, idx)
			fmt.Println("pushed", ref)
			return
		}
		dir := filepath.Join(out, name)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		imagetest.WriteLayout(t, dir, idx, "")
		fmt.Println("wrote", dir)
	}

	// A plugin that passes every rule.
	write("example-plugin", imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 4096))

	// A plugin with the defects authors make most often: a missing label,
	// a screenshot label that is not JSON, template values, and a
	// metadata.json that lacks the UI's entry point.
	labels := imagetest.ExtensionLabels()
	delete(labels, "com.docker.extension.changelog")
	labels["org.opencontainers.image.vendor"] = "Awesome Inc."
	labels["com.docker.extension.screenshots"] = "https://acme.example/s1.png"
	broken := `{
  "icon": "docker.svg",
  "ui": {"dashboard-tab": {"title": "My Plugin", "root": "/ui"}},
  "vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"}
}
`
	write("broken-plugin", imagetest.Plugin(t, labels, broken, 4096))
}
