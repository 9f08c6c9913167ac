package imagetest

import (
	"archive/tar"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// PluginMetadata is a valid metadata.json of a plugin with a UI, a VM
// backend and host binaries.
const PluginMetadata = `{
  "icon": "docker.svg",
  "ui": {
    "dashboard-tab": {
      "title": "My Plugin",
      "root": "/ui",
      "src": "index.html",
      "backend": {"socket": "backend.sock"}
    }
  },
  "vm": {"image": "${DESKTOP_PLUGIN_IMAGE}"},
  "host": {
    "binaries": [
      {
        "darwin": [{"path": "/darwin/tool"}],
        "windows": [{"path": "/windows/tool.cmd"}],
        "linux": [{"path": "/linux/tool"}]
      }
    ]
  }
}
`

// PluginLabels are complete labels of the plugin profile.
func PluginLabels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":        "Disk Usage",
		"org.opencontainers.image.authors":      "Acme Tools <tools@acme.example>",
		"com.docker.desktop.plugin.api.version": ">= 0.2.0",
	}
}

// ExtensionLabels are complete labels of the extension profile.
func ExtensionLabels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":            "Disk Usage",
		"org.opencontainers.image.description":      "See what takes space in Docker Desktop.",
		"org.opencontainers.image.vendor":           "Acme Tools",
		"com.docker.desktop.extension.api.version":  ">= 0.3.4",
		"com.docker.desktop.extension.icon":         "https://acme.example/icon.svg",
		"com.docker.extension.screenshots":          `[{"alt":"Main view","url":"https://acme.example/s1.png"}]`,
		"com.docker.extension.detailed-description": "<p>Shows disk usage.</p>",
		"com.docker.extension.publisher-url":        "https://acme.example",
		"com.docker.extension.changelog":            "<ul><li>First release</li></ul>",
		"com.docker.extension.categories":           "utility-tools",
		"com.docker.extension.additional-urls":      `[{"title":"Docs","url":"https://acme.example/docs"}]`,
	}
}

// PluginFiles are the files of the plugin's top layer: metadata, icon, UI
// and host binaries (placeholders; tests of binary formats add real ones).
func PluginFiles(metadata string) []File {
	return []File{
		{Path: "metadata.json", Body: metadata},
		{Path: "docker.svg", Body: "<svg/>"},
		Dir("ui"),
		{Path: "ui/index.html", Body: "<html></html>"},
		Dir("darwin"), {Path: "darwin/tool", Body: "#!/bin/sh\n"},
		Dir("windows"), {Path: "windows/tool.cmd", Body: "@echo off\r\necho hi\r\n"},
		Dir("linux"), {Path: "linux/tool", Body: "#!/bin/sh\n"},
	}
}

// Plugin builds a two-platform plugin index (linux/amd64, linux/arm64) with
// a base layer of baseSize bytes, a backend layer and a top layer with the
// plugin files.
func Plugin(t testing.TB, labels map[string]string, metadata string, baseSize int) v1.ImageIndex {
	t.Helper()
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		base := Layer(t, Dir("bin"), File{Path: "bin/busybox-" + arch, Body: string(pseudoRandom(baseSize, arch))})
		backend := Layer(t, Dir("backend"), File{Path: "backend/service", Body: "backend for " + arch})
		top := Layer(t, PluginFiles(metadata)...)
		imgs = append(imgs, Image(t, Spec{Arch: arch, Labels: labels, Entrypoint: []string{"/backend/service"}, Layers: []v1.Layer{base, backend, top}}))
	}
	return Index(t, imgs...)
}

// pseudoRandom returns n incompressible bytes, deterministic per seed.
func pseudoRandom(n int, seed string) []byte {
	b := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for _, c := range seed {
		x ^= uint64(c)
		x *= 0x100000001b3
	}
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// WriteLayout writes idx as an OCI layout in dir, the way buildx
// --output type=oci,tar=false does: index.json points at the image index.
func WriteLayout(t testing.TB, dir string, idx v1.ImageIndex, refName string) {
	t.Helper()
	p, opts := newLayout(t, dir, refName)
	if err := p.AppendIndex(idx, opts...); err != nil {
		t.Fatal(err)
	}
}

// newLayout makes an empty OCI layout in dir and the options that name an
// entry refName.
func newLayout(t testing.TB, dir, refName string) (layout.Path, []layout.Option) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var opts []layout.Option
	if refName != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName}))
	}
	return p, opts
}

// WriteOCIArchive writes idx as an OCI layout inside a tar file.
func WriteOCIArchive(t testing.TB, file string, idx v1.ImageIndex) {
	t.Helper()
	dir := t.TempDir()
	WriteLayout(t, dir, idx, "")
	TarDir(t, dir, file)
}

// TarDir writes the tree under dir into a tar file.
func TarDir(t testing.TB, dir, file string) {
	t.Helper()
	out, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// WriteDockerArchive writes img as `docker save` output (legacy format,
// manifest.json) tagged tag.
func WriteDockerArchive(t testing.TB, file string, img v1.Image, tag string) {
	t.Helper()
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(file, ref, img); err != nil {
		t.Fatal(err)
	}
}
