package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
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
		Tag       string
		Platforms []string
	}
	tests := []struct {
		name string
		src  string
		tag  string
	}{
		{name: "no tag", src: "docker-archive:" + one, tag: "1.0.0"},
		{name: "short name", src: "docker-archive:" + one + ":acme/plugin:1.0.0", tag: "1.0.0"},
		{name: "containerd name", src: "docker-archive:" + one + ":docker.io/acme/plugin:1.0.0", tag: "1.0.0"},
		{name: "index.docker.io name", src: "docker-archive:" + one + ":index.docker.io/acme/plugin:1.0.0", tag: "1.0.0"},
		{name: "ref name", src: "docker-archive:" + one + ":1.0.0", tag: "1.0.0"},
		{name: "index in manifest.json", src: "docker-archive:" + one + ":@0", tag: "1.0.0"},
		{name: "one image under two names", src: "docker-archive:" + twoNames, tag: "1.0.0"},
		{name: "one image under two names by index", src: "docker-archive:" + twoNames + ":@0", tag: "1.0.0"},
		{name: "second name", src: "docker-archive:" + twoNames + ":acme/plugin", tag: "latest"},
		{name: "official image without tag", src: "docker-archive:" + official + ":plugin", tag: "latest"},
		{name: "official image with library", src: "docker-archive:" + official + ":library/plugin:latest", tag: "latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := view{IsIndex: true, Digest: digest.String(), Tag: tt.tag, Platforms: []string{"linux/amd64", "linux/arm64"}}
			img := openSource(t, tt.src, Options{})
			got := view{IsIndex: img.IsIndex, Digest: img.Digest.String(), Tag: img.Tag}
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
		{name: "several images", src: "docker-archive:" + two, want: []string{two, "holds 2 images",
			`@0 "acme/plugin:1.0.0", @1 "acme/plugin:2.0.0"`, "docker-archive:FILE:TAG or docker-archive:FILE:@N"}},
		{name: "index past the end", src: "docker-archive:" + two + ":@2", want: []string{two, "no image @2", "holds 2"}},
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

// TestOpenDockerArchiveByIndex picks the images of Docker 25 archives by
// their index in manifest.json, which is not index.json's order (one image
// is listed there once per name).
func TestOpenDockerArchiveByIndex(t *testing.T) {
	t.Parallel()
	a, b := pluginIndex(t, "A"), pluginIndex(t, "B")
	file := filepath.Join(t.TempDir(), "two.tar")
	imagetest.WriteDockerSaveArchive(t, file, map[string]v1.ImageIndex{
		"docker.io/acme/plugin:1.0.0": a, "docker.io/acme/plugin:latest": a, "docker.io/acme/plugin:2.0.0": b})
	for _, tt := range []struct {
		name string
		src  string
		want v1.ImageIndex
		tag  string
	}{
		{name: "first", src: "docker-archive:" + file + ":@0", want: a, tag: "1.0.0"},
		{name: "second", src: "docker-archive:" + file + ":@1", want: b, tag: "2.0.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := openSource(t, tt.src, Options{})
			want, err := tt.want.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if img.Digest != want || img.Tag != tt.tag {
				t.Errorf("Open(%q) = %s tagged %q, want %s tagged %q", tt.src, img.Digest, img.Tag, want, tt.tag)
			}
		})
	}
}

// legacyImage is one image of a legacy docker-archive.
type legacyImage struct {
	img v1.Image
	// tags are its RepoTags; nil is written as null, as podman save -m
	// writes an untagged image.
	tags []string
}

// writeLegacyArchive writes images as containers/image (podman save, skopeo)
// writes a docker-archive: manifest.json only, the config as HEX.json and
// each layer uncompressed as HEX.tar, named by its diff ID.
func writeLegacyArchive(t *testing.T, file string, images ...legacyImage) {
	t.Helper()
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	members := map[string][]byte{}
	var order []string
	add := func(name string, body []byte) {
		if _, ok := members[name]; !ok {
			order = append(order, name)
		}
		members[name] = body
	}
	var entries []entry
	for _, im := range images {
		cfgName, err := im.img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := im.img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		e := entry{Config: cfgName.Hex + ".json", RepoTags: im.tags}
		add(e.Config, cfg)
		layers, err := im.img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			diffID, err := l.DiffID()
			if err != nil {
				t.Fatal(err)
			}
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			e.Layers = append(e.Layers, diffID.Hex+".tar")
			add(diffID.Hex+".tar", body)
		}
		entries = append(entries, e)
	}
	raw, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	add("manifest.json", raw)
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, name := range order {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(members[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(members[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteLegacyArchiveWritesNull(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "untagged.tar")
	writeLegacyArchive(t, file, legacyImage{img: pluginImage(t, "amd64", "Untagged")})
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no manifest.json: %v", err)
		}
		if h.Name == "manifest.json" {
			raw, _ := io.ReadAll(tr)
			if !strings.Contains(string(raw), `"RepoTags":null`) {
				t.Fatalf("manifest.json = %s, want RepoTags null", raw)
			}
			return
		}
	}
}

// TestOpenLegacyArchiveSelectors reads archives as podman save -m and
// skopeo write them: untagged images (RepoTags null) and several images,
// picked by tag or by @N, their index in manifest.json.
func TestOpenLegacyArchiveSelectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	untagged := filepath.Join(dir, "untagged.tar")
	writeLegacyArchive(t, untagged, legacyImage{img: pluginImage(t, "amd64", "Untagged")})
	several := filepath.Join(dir, "several.tar")
	writeLegacyArchive(t, several,
		legacyImage{img: pluginImage(t, "amd64", "Zero"), tags: []string{"acme/plugin:1.0.0", "acme/plugin:latest"}},
		legacyImage{img: pluginImage(t, "arm64", "One")},
		legacyImage{img: pluginImage(t, "amd64", "Two"), tags: []string{"registry.example/other:3"}},
	)
	type view struct {
		Title, Platform, Tag string
	}
	for _, tt := range []struct {
		name string
		src  string
		want view
	}{
		{name: "untagged single image", src: "docker-archive:" + untagged, want: view{Title: "Untagged", Platform: "linux/amd64"}},
		{name: "untagged single image by index", src: "docker-archive:" + untagged + ":@0", want: view{Title: "Untagged", Platform: "linux/amd64"}},
		{name: "first, under two names", src: "docker-archive:" + several + ":@0", want: view{Title: "Zero", Platform: "linux/amd64", Tag: "1.0.0"}},
		{name: "untagged among several", src: "docker-archive:" + several + ":@1", want: view{Title: "One", Platform: "linux/arm64"}},
		{name: "third by index", src: "docker-archive:" + several + ":@2", want: view{Title: "Two", Platform: "linux/amd64", Tag: "3"}},
		{name: "by its latest tag", src: "docker-archive:" + several + ":acme/plugin:latest", want: view{Title: "Zero", Platform: "linux/amd64", Tag: "latest"}},
		{name: "by its other tag", src: "docker-archive:" + several + ":registry.example/other:3", want: view{Title: "Two", Platform: "linux/amd64", Tag: "3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := openSource(t, tt.src, Options{})
			if len(img.Variants) != 1 {
				t.Fatalf("%d variants, want 1", len(img.Variants))
			}
			v := img.Variants[0]
			labels, err := v.Labels(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			files, err := v.Files(context.Background(), Want{Path: "/metadata.json", Max: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(files["/metadata.json"].Data); got != imagetest.PluginMetadata {
				t.Errorf("metadata.json = %q, want the plugin's", got)
			}
			got := view{Title: labels["org.opencontainers.image.title"], Platform: v.PlatformString(), Tag: img.Tag}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Open(%q) mismatch (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestOpenLegacyArchiveSelectorErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	several := filepath.Join(dir, "several.tar")
	writeLegacyArchive(t, several,
		legacyImage{img: pluginImage(t, "amd64", "Zero"), tags: []string{"acme/plugin:1.0.0", "acme/plugin:latest"}},
		legacyImage{img: pluginImage(t, "arm64", "One")},
	)
	var many []legacyImage
	for i := 0; i < maxListed+2; i++ {
		many = append(many, legacyImage{img: pluginImage(t, "amd64", strings.Repeat("x", i+1))})
	}
	manyFile := filepath.Join(dir, "many.tar")
	writeLegacyArchive(t, manyFile, many...)
	for _, tt := range []struct {
		name string
		src  string
		want []string
	}{
		{name: "several images, none named", src: "docker-archive:" + several, want: []string{several, "holds 2 images",
			`@0 "acme/plugin:1.0.0" or "acme/plugin:latest", @1 untagged`, "docker-archive:FILE:TAG or docker-archive:FILE:@N"}},
		{name: "unknown tag lists what there is", src: "docker-archive:" + several + ":acme/plugin:9.9.9", want: []string{several,
			`no image tagged "acme/plugin:9.9.9"`, `@0 "acme/plugin:1.0.0" or "acme/plugin:latest", @1 untagged`}},
		{name: "index past the end", src: "docker-archive:" + several + ":@2", want: []string{several, "no image @2", "holds 2"}},
		{name: "index not a number", src: "docker-archive:" + several + ":@one", want: []string{`"@one" is not an image index`, "counted from 0"}},
		{name: "negative index", src: "docker-archive:" + several + ":@-1", want: []string{`"@-1" is not an image index`}},
		{name: "long listing is cut", src: "docker-archive:" + manyFile, want: []string{"holds 12 images", "@9 untagged and 2 more)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			openFails(t, tt.src, tt.want...)
		})
	}
}
