package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// stallPlugin is a plugin of the given platforms whose host binaries sit at
// the start of one large binaries layer per platform (read in part: the
// read stops once they are found), under a small top layer with
// metadata.json and the UI. bigLayers is how many such layers each
// platform has.
func stallPlugin(t *testing.T, platforms []string, bigLayers int, api, marker string) v1.ImageIndex {
	t.Helper()
	meta := `{"icon": "docker.svg", "ui": {"dashboard-tab": {"title": "T", "root": "/ui", "src": "index.html"}},
  "host": {"binaries": [{"windows": [{"path": "/windows/tool.cmd"}], "darwin": [{"path": "/darwin/tool"}], "linux": [{"path": "/linux/tool"}]}]}}`
	labels := imagetest.ExtensionLabels()
	labels["com.docker.desktop.extension.api.version"] = api
	labels["org.opencontainers.image.revision"] = marker
	var imgs []v1.Image
	for _, p := range platforms {
		arch := strings.TrimPrefix(p, "linux/")
		var layers []v1.Layer
		for i := range bigLayers {
			// Each big layer starts with host binaries (the lowest with
			// the linux one, the upper with the others), so every one of
			// them is read in part.
			files := []imagetest.File{imagetest.Dir("linux"), {Path: "linux/tool", Body: "#!/bin/sh\n"}}
			if i == bigLayers-1 {
				files = append(files, imagetest.Dir("darwin"), imagetest.File{Path: "darwin/tool", Body: "#!/bin/sh\n"},
					imagetest.Dir("windows"), imagetest.File{Path: "windows/tool.cmd", Body: "@echo off\r\n"})
			}
			files = append(files, imagetest.File{Path: fmt.Sprintf("opt/big%d", i), Body: string(imagetest.Incompressible(9<<20, p+marker+fmt.Sprint(i)))})
			layers = append(layers, imagetest.Layer(t, files...))
		}
		layers = append(layers, imagetest.Layer(t, imagetest.File{Path: "metadata.json", Body: meta},
			imagetest.File{Path: "docker.svg", Body: "<svg/>"}, imagetest.Dir("ui"), imagetest.File{Path: "ui/index.html", Body: "<html/>"}))
		imgs = append(imgs, imagetest.Image(t, imagetest.Spec{Arch: arch, Labels: labels, Layers: layers}))
	}
	return imagetest.Index(t, imgs...)
}

// TestNoStallWithLayersReadInPart: layers whose reads stop early must not
// hold up the rest of the run (the release history's configs); a stall ends
// in the --timeout and exit 2.
func TestNoStallWithLayersReadInPart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		platforms []string
		bigLayers int
	}{
		{"2 platforms, 2 big layers each", []string{"linux/amd64", "linux/arm64"}, 2},
		{"4 platforms, one big layer each", []string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x"}, 1},
		{"8 platforms", []string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x", "linux/riscv64", "linux/386", "linux/mips64le", "linux/loong64"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := imagetest.Registry(t)
			for i, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
				imagetest.Push(t, host+"/acme/p:"+v, stallPlugin(t, tc.platforms, 1, []string{">= 0.2.3", ">= 0.3.3", ">= 0.4.2"}[i], v))
			}
			imagetest.Push(t, host+"/staging/p:c", stallPlugin(t, tc.platforms, tc.bigLayers, ">= 0.2.3", "c"))
			r := runCLI(t, "", "--format", "json", "--timeout", "60s", "--platforms", strings.Join(tc.platforms, ","),
				"--release", "1.3.0", "--repository", host+"/acme/p", host+"/staging/p:c")
			if r.code == 2 {
				t.Fatalf("exit 2 (a stall ends in the timeout):\n%s", r.stderr)
			}
			rep := decode(t, r.stdout)
			if len(rep.Platforms) != len(tc.platforms) {
				t.Errorf("%d platforms checked, want %d", len(rep.Platforms), len(tc.platforms))
			}
		})
	}
}
