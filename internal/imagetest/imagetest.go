// Package imagetest builds plugin images in memory for tests: layers from
// file lists, platform variants, indexes with attestations, and pushes them
// to an in-process registry or writes them as OCI layouts and archives.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one tar entry of a layer.
type File struct {
	Path string
	// Body is the content of a regular file.
	Body string
	// Type is the tar type flag; the default is a regular file.
	Type byte
	// Linkname is the target of a symlink or hard link.
	Linkname string
	// Mode defaults to 0644 for files, 0755 for directories.
	Mode int64
}

// Dir is a directory entry.
func Dir(p string) File { return File{Path: p, Type: tar.TypeDir} }

// Symlink is a symbolic link entry.
func Symlink(p, target string) File { return File{Path: p, Type: tar.TypeSymlink, Linkname: target} }

// Whiteout deletes p from the layers below.
func Whiteout(p string) File {
	i := strings.LastIndex(p, "/")
	return File{Path: p[:i+1] + ".wh." + p[i+1:]}
}

// Opaque hides the lower contents of directory dir.
func Opaque(dir string) File { return File{Path: strings.TrimSuffix(dir, "/") + "/.wh..wh..opq"} }

// TarBytes returns an uncompressed tar of the files.
func TarBytes(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.Path, Typeflag: f.Type, Linkname: f.Linkname, Mode: f.Mode}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("writing tar header %s: %v", f.Path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.Body); err != nil {
				t.Fatalf("writing tar body %s: %v", f.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Layer returns a gzip-compressed layer holding the files.
func Layer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	return RawLayer(t, TarBytes(t, files...))
}

// RawLayer returns a gzip-compressed layer of an uncompressed tar stream.
func RawLayer(t testing.TB, tarball_ []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarball_)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Spec describes one platform image.
type Spec struct {
	OS, Arch, Variant string
	Labels            map[string]string
	Entrypoint, Cmd   []string
	Env               []string
	// Layers, bottom first.
	Layers []v1.Layer
	// History, when set, is the created_by of each layer's history entry,
	// bottom first (as BuildKit writes it: "RUN /bin/sh -c ... # buildkit").
	History []string
}

// Image builds a single-platform image.
func Image(t testing.TB, s Spec) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, s.Layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = orDefault(s.OS, "linux"), orDefault(s.Arch, "amd64"), s.Variant
	cf.Config.Labels = s.Labels
	cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.Env = s.Entrypoint, s.Cmd, s.Env
	if s.History != nil {
		cf.History = nil
		for _, by := range s.History {
			cf.History = append(cf.History, v1.History{CreatedBy: by, Comment: "buildkit.dockerfile.v0"})
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.MediaType(img, types.OCIManifestSchema1)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Index builds a multi-platform index of images, each announced with its
// config's platform (or the override in platforms, when given).
func Index(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant},
		}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return idx
}

// WithPlatform adds img to idx announced as platform p (which may lie about
// the config).
func WithPlatform(idx v1.ImageIndex, img v1.Image, p v1.Platform) v1.ImageIndex {
	return mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
}

// WithAttestation adds a BuildKit-style attestation manifest for the image
// at digest to idx.
func WithAttestation(t testing.TB, idx v1.ImageIndex, subject v1.Hash) v1.ImageIndex {
	t.Helper()
	att := Image(t, Spec{OS: "unknown", Arch: "unknown", Layers: []v1.Layer{Layer(t, File{Path: "sbom.json", Body: "{}"})}})
	return mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
		Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{
			"vnd.docker.reference.type":   "attestation-manifest",
			"vnd.docker.reference.digest": subject.String(),
		},
	}})
}

// Registry starts go-containerregistry's in-process registry and returns
// its host (127.0.0.1:PORT). It is closed when the test ends.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(RegistryHandler())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// RegistryHandler returns a new, silent in-process registry.
func RegistryHandler() http.Handler {
	return registry.New(registry.Logger(log.New(io.Discard, "", 0)))
}

// Push writes an image or index to ref.
func Push(t testing.TB, ref string, x remote.Taggable, opts ...remote.Option) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	switch x := x.(type) {
	case v1.ImageIndex:
		if err := remote.WriteIndex(r, x, opts...); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
		d, err := x.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	case v1.Image:
		if err := remote.Write(r, x, opts...); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
		d, err := x.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	t.Fatalf("cannot push %T", x)
	return v1.Hash{}
}
