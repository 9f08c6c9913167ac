package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

// generatedLayer returns a layer of n entries named name(i), empty files or
// directories (a name ending in "/"), written into a pipe as it is read: no
// copy of the tar stream is held.
func generatedLayer(n int, name func(i int) string) func() io.Reader {
	return func() io.Reader {
		pr, pw := io.Pipe()
		go func() {
			bw := bufio.NewWriterSize(pw, 64<<10)
			tw := tar.NewWriter(bw)
			for i := range n {
				h := &tar.Header{Typeflag: tar.TypeReg, Name: name(i), Mode: 0o644}
				if strings.HasSuffix(h.Name, "/") {
					h.Typeflag, h.Mode = tar.TypeDir, 0o755
				}
				if err := tw.WriteHeader(h); err != nil {
					pw.CloseWithError(err)
					return
				}
			}
			err := tw.Close()
			if err == nil {
				err = bw.Flush()
			}
			pw.CloseWithError(err)
		}()
		return pr
	}
}

// TestTreeBound: a tree over layers of many entries holds MaxTreeEntries of
// them, the upper layers' first, and the layers below are not read.
func TestTreeBound(t *testing.T) {
	// Not parallel: it measures the heap.
	const top, middle = 100_000, 300_000
	bottom := imagetest.TarBytes(t, reg("bottom", "x"))
	fsys := newTestFS(
		func() io.Reader { return bytes.NewReader(bottom) },
		generatedLayer(middle, func(i int) string { return fmt.Sprintf("m%06d", i) }),
		generatedLayer(top, func(i int) string { return fmt.Sprintf("t%06d", i) }),
	)
	w := Want{Path: "/", Tree: true}
	f := fsys.resolve(t, w)
	defer runtime.KeepAlive(f) // neither f nor the layers read count below
	defer runtime.KeepAlive(fsys)
	if !f.TreeTruncated || len(f.Tree) != MaxTreeEntries {
		t.Fatalf("tree of %d entries, truncated %v; want %d, truncated", len(f.Tree), f.TreeTruncated, MaxTreeEntries)
	}
	// All of the top layer, and the middle layer's first in path order.
	kept := MaxTreeEntries - top
	for i, want := range map[int]string{0: "/m000000", kept - 1: fmt.Sprintf("/m%06d", kept-1), kept: "/t000000", MaxTreeEntries - 1: fmt.Sprintf("/t%06d", top-1)} {
		if got := f.Tree[i].Path; got != want {
			t.Errorf("Tree[%d] = %q, want %q", i, got, want)
		}
	}
	if want := []int{0, 1, 1}; fmt.Sprint(fsys.reads) != fmt.Sprint(want) {
		t.Errorf("layer reads %v, want %v: the bottom layer is below the bound", fsys.reads, want)
	}

	// Listing again from the layers read: what the listing holds and what it
	// allocates on the way are bounded by MaxTreeEntries, not by the 400,000
	// entries of the layers (names are shared with the layers' indexes).
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC() // and what sync.Pools kept from the reads
	runtime.ReadMemStats(&before)
	again := fsys.resolve(t, w)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	allocated := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("a tree of %d entries holds %d bytes, allocated %d", len(again.Tree), held, allocated)
	if limit := int64(MaxTreeEntries) * 64; held > limit {
		t.Errorf("the tree holds %d bytes, want at most %d (64 per entry)", held, limit)
	}
	if limit := int64(MaxTreeEntries) * 400; allocated > limit {
		t.Errorf("listing the tree allocated %d bytes, want at most %d (400 per entry)", allocated, limit)
	}
	runtime.KeepAlive(again)
}

// TestTreeBoundNames: the names a tree holds are bounded too.
func TestTreeBoundNames(t *testing.T) {
	t.Parallel()
	const n = 6000
	long := strings.Repeat("abcdefghi/", 299) + "z" // 2991 bytes, in directories
	name := func(layer string) func(int) string {
		return func(i int) string { return fmt.Sprintf("%s%05d/%s", layer, i, long) }
	}
	fsys := newTestFS(generatedLayer(n, name("m")), generatedLayer(n, name("t")))
	f := fsys.resolve(t, Want{Path: "/", Tree: true})
	size := int64(len("/t00000/" + long))
	want := n + int((MaxTreeNameBytes-n*size)/size)
	if !f.TreeTruncated || len(f.Tree) != want {
		t.Errorf("tree of %d entries, truncated %v; want %d, truncated", len(f.Tree), f.TreeTruncated, want)
	}
	var names int64
	for _, e := range f.Tree {
		names += int64(len(e.Path) + len(e.Linkname))
	}
	if names > MaxTreeNameBytes {
		t.Errorf("the tree holds %d bytes of names, above %d", names, MaxTreeNameBytes)
	}
}

// TestTreeNotTruncated: a tree within the bounds is whole, and says so.
func TestTreeNotTruncated(t *testing.T) {
	t.Parallel()
	fsys := newTestFS(generatedLayer(1001, func(i int) string {
		if i == 0 {
			return "ui/"
		}
		return fmt.Sprintf("ui/f%04d", i)
	}))
	f := fsys.resolve(t, Want{Path: "/ui", Tree: true})
	if f.TreeTruncated || len(f.Tree) != 1000 {
		t.Errorf("tree of %d entries, truncated %v; want 1000, whole", len(f.Tree), f.TreeTruncated)
	}
}

// TestTreeRSS measures listing the root of a huge image, for a run under
// /usr/bin/time -v. It runs only when asked, in two steps (two processes, so
// that building the image does not count):
//
//	go test -c -o /tmp/image.test ./image
//	DPC_TREE_GEN=/tmp/tree-image /tmp/image.test -test.run TestTreeRSS -test.v
//	/usr/bin/time -v env DPC_TREE_READ=/tmp/tree-image /tmp/image.test -test.run TestTreeRSS -test.v
//
// DPC_TREE_LAYERS (default 6) layers of DPC_TREE_ENTRIES (default 1500000)
// entries each, every layer under a directory of its own.
func TestTreeRSS(t *testing.T) {
	gen, read := os.Getenv("DPC_TREE_GEN"), os.Getenv("DPC_TREE_READ")
	if gen == "" && read == "" {
		t.Skip("set DPC_TREE_GEN or DPC_TREE_READ to an image directory to measure a huge tree")
	}
	if gen != "" {
		writeHugeTreeImage(t, gen, envInt(t, "DPC_TREE_LAYERS", 6), envInt(t, "DPC_TREE_ENTRIES", 1_500_000))
		return
	}
	ctx := context.Background()
	img, err := Open(ctx, "oci:"+read, Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	start := time.Now()
	files, err := img.Variants[0].Files(ctx, Want{Path: "/", Tree: true})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f := files["/"]
	t.Logf("listed %d entries (truncated %v) in %v; heap in use %d MiB, from the OS %d MiB, allocated in total %d MiB",
		len(f.Tree), f.TreeTruncated, elapsed.Round(time.Millisecond), ms.HeapInuse>>20, ms.Sys>>20, ms.TotalAlloc>>20)
	runtime.KeepAlive(f)
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

// writeHugeTreeImage writes an OCI layout of layers layers, each of n
// entries (a directory every 1000 entries, empty files in between).
func writeHugeTreeImage(t *testing.T, dir string, layers, n int) {
	img := empty.Image
	tmp := t.TempDir()
	for l := range layers {
		file := filepath.Join(tmp, fmt.Sprintf("layer%d.tar.gz", l))
		if err := writeHugeTreeLayer(file, l, n); err != nil {
			t.Fatal(err)
		}
		layer, err := tarball.LayerFromFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
}

func writeHugeTreeLayer(file string, l, n int) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for i := range n {
		h := &tar.Header{Typeflag: tar.TypeReg, Mode: 0o644, Name: fmt.Sprintf("l%d/d%04d/f%07d", l, i/1000, i)}
		if i%1000 == 0 {
			h = &tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, Name: fmt.Sprintf("l%d/d%04d/", l, i/1000)}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
