package image

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// openImageLayout writes img as an OCI layout and opens it.
func openImageLayout(t *testing.T, img v1.Image) *Image {
	t.Helper()
	dir := t.TempDir()
	imagetest.WriteImageLayout(t, dir, img, "")
	return openSource(t, "oci:"+dir, Options{})
}

// openSource opens src with opts (TempDir defaulting to a test directory)
// and closes it when the test ends.
func openSource(t *testing.T, src string, opts Options) *Image {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	img, err := Open(context.Background(), src, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", src, err)
	}
	t.Cleanup(func() {
		if err := img.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return img
}

// imageOf builds a linux/amd64 image from layers of files, bottom first.
func imageOf(t *testing.T, layers ...[]imagetest.File) v1.Image {
	t.Helper()
	var ls []v1.Layer
	for _, files := range layers {
		ls = append(ls, imagetest.Layer(t, files...))
	}
	return imagetest.Image(t, imagetest.Spec{Layers: ls})
}

// fileView is what tests compare of a File.
type fileView struct {
	Kind      Kind
	Resolved  string
	Linkname  string
	Size      int64
	Data      string
	Truncated bool
	Problem   bool
	Tree      []Entry
}

func viewOf(f *File) fileView {
	if f == nil {
		return fileView{Kind: -1}
	}
	return fileView{Kind: f.Kind, Resolved: f.Resolved, Linkname: f.Linkname, Size: f.Size,
		Data: string(f.Data), Truncated: f.Truncated, Problem: f.Problem != "", Tree: f.Tree}
}

func viewsOf(files map[string]*File) map[string]fileView {
	out := map[string]fileView{}
	for p, f := range files {
		out[p] = viewOf(f)
	}
	return out
}

// digestOf returns a layer's digest.
func digestOf(t testing.TB, l v1.Layer) v1.Hash {
	t.Helper()
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sizeOf returns a layer's compressed size.
func sizeOf(t testing.TB, l v1.Layer) int64 {
	t.Helper()
	n, err := l.Size()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// openFails opens src, which must fail with an error mentioning each want,
// and returns the error.
func openFails(t *testing.T, src string, want ...string) error {
	t.Helper()
	img, err := Open(context.Background(), src, Options{TempDir: t.TempDir()})
	if err == nil {
		img.Close()
		t.Fatalf("Open(%q) succeeded, want an error", src)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Open(%q) error %q does not mention %q", src, err, w)
		}
	}
	return err
}
