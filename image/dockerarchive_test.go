package image

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestOpenDockerSaveWithIndex reads archives as Docker 25 and later write
// them: index.json (the truth) next to manifest.json (one platform only).
func TestOpenDockerSaveWithIndex(t *testing.T) {
	t.Parallel()
	idx := pluginIndex(t, "Docker 25")
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	one := filepath.Join(dir, "one.tar")
	imagetest.WriteDockerSaveArchive(t, one, map[string]v1.ImageIndex{"docker.io/acme/plugin:1.0.0": idx})
	twoNames := filepath.Join(dir, "two-names.tar")
	imagetest.WriteDockerSaveArchive(t, twoNames, map[string]v1.ImageIndex{
		"docker.io/acme/plugin:1.0.0": idx, "docker.io/acme/plugin:latest": idx})
	official := filepath.Join(dir, "official.tar")
	imagetest.WriteDockerSaveArchive(t, official, map[string]v1.ImageIndex{"docker.io/library/plugin:latest": idx})

	type view struct {
		IsIndex   bool
		Digest    string
		Platforms []string
	}
	want := view{IsIndex: true, Digest: digest.String(), Platforms: []string{"linux/amd64", "linux/arm64"}}
	tests := []struct {
		name string
		src  string
	}{
		{name: "no tag", src: "docker-archive:" + one},
		{name: "short name", src: "docker-archive:" + one + ":acme/plugin:1.0.0"},
		{name: "containerd name", src: "docker-archive:" + one + ":docker.io/acme/plugin:1.0.0"},
		{name: "index.docker.io name", src: "docker-archive:" + one + ":index.docker.io/acme/plugin:1.0.0"},
		{name: "ref name", src: "docker-archive:" + one + ":1.0.0"},
		{name: "one image under two names", src: "docker-archive:" + twoNames},
		{name: "second name", src: "docker-archive:" + twoNames + ":acme/plugin"},
		{name: "official image without tag", src: "docker-archive:" + official + ":plugin"},
		{name: "official image with library", src: "docker-archive:" + official + ":library/plugin:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := openSource(t, tt.src, Options{})
			got := view{IsIndex: img.IsIndex, Digest: img.Digest.String()}
			for _, v := range img.Variants {
				got.Platforms = append(got.Platforms, v.PlatformString())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Open(%q) mismatch (-want +got):\n%s", tt.src, diff)
			}
			files, err := img.Variants[1].Files(context.Background(), Want{Path: "/metadata.json", Max: 1 << 20})
			if err != nil {
				t.Fatalf("Files: %v", err)
			}
			if got := string(files["/metadata.json"].Data); got != imagetest.PluginMetadata {
				t.Errorf("metadata.json of %s = %q, want the plugin's", img.Variants[1].PlatformString(), got)
			}
		})
	}
}

func TestOpenDockerSaveWithIndexErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "one.tar")
	imagetest.WriteDockerSaveArchive(t, file, map[string]v1.ImageIndex{"docker.io/acme/plugin:1.0.0": pluginIndex(t, "A")})
	two := filepath.Join(dir, "two-images.tar")
	imagetest.WriteDockerSaveArchive(t, two, map[string]v1.ImageIndex{
		"docker.io/acme/plugin:1.0.0": pluginIndex(t, "A"), "docker.io/acme/plugin:2.0.0": pluginIndex(t, "B")})
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "unknown tag", src: "docker-archive:" + file + ":acme/plugin:9.9.9", want: []string{file, `"acme/plugin:9.9.9"`}},
		{name: "other registry", src: "docker-archive:" + file + ":registry.example/acme/plugin:1.0.0", want: []string{`"registry.example/acme/plugin:1.0.0"`}},
		{name: "several images", src: "docker-archive:" + two, want: []string{two, "holds 2 images", "docker-archive:FILE:TAG"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			openFails(t, tt.src, tt.want...)
		})
	}
}

func TestRefNameMatches(t *testing.T) {
	t.Parallel()
	docker := map[string]string{
		"io.containerd.image.name":          "docker.io/acme/plugin:1.0.0",
		"org.opencontainers.image.ref.name": "1.0.0",
	}
	official := map[string]string{
		"io.containerd.image.name":          "docker.io/library/alpine:latest",
		"org.opencontainers.image.ref.name": "latest",
	}
	local := map[string]string{
		"io.containerd.image.name":          "localhost:5000/acme/plugin",
		"org.opencontainers.image.ref.name": "latest",
	}
	tests := []struct {
		name        string
		annotations map[string]string
		ref         string
		want        bool
	}{
		{name: "ref name", annotations: docker, ref: "1.0.0", want: true},
		{name: "containerd name", annotations: docker, ref: "docker.io/acme/plugin:1.0.0", want: true},
		{name: "short name", annotations: docker, ref: "acme/plugin:1.0.0", want: true},
		{name: "index.docker.io", annotations: docker, ref: "index.docker.io/acme/plugin:1.0.0", want: true},
		{name: "other tag", annotations: docker, ref: "acme/plugin:2.0.0"},
		{name: "no tag is latest, not 1.0.0", annotations: docker, ref: "acme/plugin"},
		{name: "other registry", annotations: docker, ref: "registry.example/acme/plugin:1.0.0"},
		{name: "other repository", annotations: docker, ref: "acme/other:1.0.0"},
		{name: "official short", annotations: official, ref: "alpine", want: true},
		{name: "official with library", annotations: official, ref: "library/alpine:latest", want: true},
		{name: "official fully qualified", annotations: official, ref: "index.docker.io/library/alpine", want: true},
		{name: "local registry without tag", annotations: local, ref: "localhost:5000/acme/plugin:latest", want: true},
		{name: "local registry is not Docker Hub", annotations: local, ref: "acme/plugin"},
		{name: "no annotations", annotations: nil, ref: "acme/plugin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := refNameMatches(tt.annotations, tt.ref); got != tt.want {
				t.Errorf("refNameMatches(%v, %q) = %v, want %v", tt.annotations, tt.ref, got, tt.want)
			}
		})
	}
}
