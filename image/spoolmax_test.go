package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	img.scans.memBlob = 0 // every copy a file, to be seen
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

// TestSmallBlobsSpooledInMemory: a small layer's copy is kept in memory,
// not in a file (creating one per layer cost a fraction of a millisecond
// on the path of a long read), and a second question about it costs no
// fetch; the memory kept stays within maxMemSpool.
func TestSmallBlobsSpooledInMemory(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	var layers []v1.Layer
	for i := range 3 {
		layers = append(layers, imagetest.Layer(t, imagetest.File{Path: fmt.Sprintf("opt/l%d", i), Body: string(imagetest.Incompressible(64<<10, fmt.Sprint(i)))}))
	}
	ref := host + "/acme/p:1"
	imagetest.Push(t, ref, imagetest.Image(t, imagetest.Spec{Layers: layers}))
	img, err := Open(context.Background(), ref, Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	v := img.Variants[0]
	if _, err := v.Files(context.Background(), Want{Path: "/metadata.json"}); err != nil {
		t.Fatal(err)
	}
	if img.scans.spool != "" {
		entries, _ := os.ReadDir(img.scans.spool)
		if len(entries) != 0 {
			t.Errorf("spool directory holds %d files, want none (small blobs in memory)", len(entries))
		}
	}
	if got := img.scans.memSpooled; got <= 0 || got > maxMemSpool {
		t.Errorf("memory spooled = %d, want above 0 and at most %d", got, maxMemSpool)
	}
	before := img.Stats().Requests()
	files, err := v.Files(context.Background(), Want{Path: "/opt/l0", Max: 16})
	if err != nil {
		t.Fatal(err)
	}
	if f := files["/opt/l0"]; !f.Exists() || len(f.Data) != 16 {
		t.Errorf("/opt/l0 = %+v, want 16 bytes", viewOf(f))
	}
	if n := img.Stats().Requests() - before; n != 0 {
		t.Errorf("%d requests for a question about layers spooled in memory, want 0", n)
	}
}

// TestCloseWithABlobHeldInMemory: closing an image while a small blob's
// partial copy in memory is held gives its memory back and returns (it
// took the lock it held: a deadlock).
func TestCloseWithABlobHeldInMemory(t *testing.T) {
	t.Parallel()
	c := &scanCache{items: map[v1.Hash]*scanItem{}, spoolBlobs: true, spoolMax: spoolMax, memBlob: memSpoolBlob}
	if !c.reserveMem(100) {
		t.Fatal("reserveMem(100) = false")
	}
	pb := &partialBlob{mem: make([]byte, 0, 100), free: func() { c.freeMem(100) }, rest: io.NopCloser(strings.NewReader("rest")), max: spoolMax}
	pb.Write([]byte("head"))
	c.items[v1.Hash{Algorithm: "sha256", Hex: "00"}] = &scanItem{partial: pb, spooledMem: []byte("x")}
	c.held = 1
	done := make(chan error, 1)
	go func() { done <- c.close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("close did not return")
	}
	if c.memSpooled != 0 || c.held != 0 {
		t.Errorf("after close: memory spooled %d, held %d; want 0, 0", c.memSpooled, c.held)
	}
	for _, it := range c.items {
		if it.spooledMem != nil || it.partial != nil {
			t.Errorf("after close an item keeps its copy: %+v", it)
		}
	}
}
