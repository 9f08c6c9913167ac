package imagetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// WriteDockerSaveArchive writes `docker save` output of Docker 25 and later
// for the indexes in byName (one index may have several names): an OCI
// layout whose index.json lists each name, annotated as Docker does
// (io.containerd.image.name "docker.io/acme/plugin:1.0.0",
// org.opencontainers.image.ref.name "1.0.0"), plus the legacy manifest.json,
// which describes only each index's first image.
func WriteDockerSaveArchive(t testing.TB, file string, byName map[string]v1.ImageIndex) {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	var entries []*dockerSaveEntry
	byDigest := map[v1.Hash]*dockerSaveEntry{}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		idx := byName[n]
		tag, err := name.NewTag(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
			"io.containerd.image.name":          n,
			"org.opencontainers.image.ref.name": tag.TagStr(),
		})); err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		e := byDigest[d]
		if e == nil {
			e = firstImageEntry(t, idx)
			byDigest[d] = e
			entries = append(entries, e)
		}
		e.RepoTags = append(e.RepoTags, strings.TrimPrefix(strings.TrimPrefix(n, "docker.io/"), "library/"))
	}
	raw, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	TarDir(t, dir, file)
}

// dockerSaveEntry is one image of manifest.json.
type dockerSaveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// firstImageEntry describes idx's first image as a manifest.json entry.
func firstImageEntry(t testing.TB, idx v1.ImageIndex) *dockerSaveEntry {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	e := &dockerSaveEntry{Config: "blobs/sha256/" + cfg.Hex}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		e.Layers = append(e.Layers, "blobs/sha256/"+d.Hex)
	}
	return e
}
