package image

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestSpoolKeepsOnlyWhatMayBeReadAgain: a blob read past spoolMax (a large
// layer read to its end) leaves nothing on disk; a small one is kept for a
// second question, which then costs no fetch.
func TestSpoolKeepsOnlyWhatMayBeReadAgain(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	big := imagetest.Layer(t, imagetest.File{Path: "opt/big", Body: string(imagetest.Incompressible(3<<20, "big"))})
	small := imagetest.Layer(t, imagetest.File{Path: "etc/motd", Body: "hi"})
	ref := host + "/acme/p:1"
	imagetest.Push(t, ref, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{big, small}}))
	img, err := Open(context.Background(), ref, Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	img.scans.spoolMax = 1 << 20
	v := img.Variants[0]
	// Absent: both layers are read to their end.
	if _, err := v.Files(context.Background(), Want{Path: "/metadata.json"}); err != nil {
		t.Fatal(err)
	}
	var kept []string
	var size int64
	filepath.Walk(img.scans.spool, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			kept = append(kept, p)
			size += fi.Size()
		}
		return nil
	})
	if len(kept) != 1 || size > 1<<20 {
		t.Errorf("spool holds %d files, %d bytes; want only the small layer's copy", len(kept), size)
	}
	// A second question about the small layer is answered from the spool.
	before := img.Stats().Requests()
	if _, err := v.Files(context.Background(), Want{Path: "/etc/motd", Max: 16}); err != nil {
		t.Fatal(err)
	}
	if n := img.Stats().Requests() - before; n != 0 {
		t.Errorf("%d requests for a question about a spooled layer, want 0", n)
	}
}
