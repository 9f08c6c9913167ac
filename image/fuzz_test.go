package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// fuzzCapture is what the fuzzed layer reads look for.
func fuzzCapture() map[string]spec {
	return map[string]spec{
		"/metadata.json": {max: 64},
		"/ui":            {tree: true},
		"/a/b/c":         {max: 8},
	}
}

var fuzzWants = []Want{
	{Path: "/metadata.json", Max: 64},
	{Path: "/ui", Tree: true},
	{Path: "/a/b/c", Max: 8},
	{Path: "/link", NoFollow: true},
	{Path: "/x/y/z", Max: 1},
}

func FuzzReadLayer(f *testing.F) {
	plain := imagetest.TarBytes(f,
		imagetest.Dir("ui"), reg("ui/index.html", "<html>"), imagetest.Symlink("ui/up", "../../.."),
		reg("metadata.json", `{"icon":"x"}`), imagetest.Whiteout("gone"), imagetest.Opaque("ui"),
		imagetest.Symlink("a", "/ui"), imagetest.Symlink("link", "link"),
		hardlink("hl", "metadata.json"), imagetest.Dir("a/b"), reg("a/b/c", strings.Repeat("c", 100)),
	)
	f.Add(plain, false)
	f.Add(plain, true)
	f.Add(imagetest.Gzip(f, plain), false)
	f.Add(imagetest.Gzip(f, plain), true)
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(zw.EncodeAll(plain, nil), false)
	f.Add(imagetest.TarBytes(f, reg("../../etc/passwd", "x")), false)
	f.Add(imagetest.TarBytes(f, hardlink("x", "../y")), false)
	f.Add(append(imagetest.Gzip(f, plain)[:10], "garbage after the gzip header"...), false)
	f.Add(imagetest.Gzip(f, plain)[:40], true)
	f.Add(plain[:700], false)
	f.Add([]byte{}, false)
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd}, false)

	f.Fuzz(func(t *testing.T, data []byte, stopEarly bool) {
		capture := fuzzCapture()
		s, err := readLayer(context.Background(), bytes.NewReader(data), stopEarly, capture)
		if err != nil {
			if s != nil {
				t.Errorf("readLayer returned a scan and an error %v", err)
			}
			return
		}
		if !stopEarly && !s.complete {
			t.Errorf("readLayer without stopEarly stopped before the end")
		}
		for p := range s.entries {
			if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
				t.Errorf("entry %q is not a clean absolute path", p)
			}
		}
		for p := range s.whiteouts {
			if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
				t.Errorf("whiteout %q is not a clean absolute path", p)
			}
		}
		for p, data := range s.content {
			if max := capture[p].max; int64(len(data)) > max {
				t.Errorf("content of %s is %d bytes, above the %d asked for", p, len(data), max)
			}
		}
		// Resolving paths in a one-layer file system built from the scan
		// ends, without a panic, in a File or a need of that layer.
		mfs := &mergedFS{layers: []v1.Descriptor{{}}, scans: []*layerScan{s}}
		for _, w := range fuzzWants {
			f, nd := mfs.resolve(w)
			if (f == nil) == (nd == nil) {
				t.Errorf("resolve(%q) = %v, %v: want exactly one", w.Path, f, nd)
			}
			if f != nil && (!strings.HasPrefix(f.Resolved, "/") || path.Clean(f.Resolved) != f.Resolved) {
				t.Errorf("resolve(%q) led to %q, not a clean absolute path", w.Path, f.Resolved)
			}
			if f != nil && int64(len(f.Data)) > w.Max {
				t.Errorf("resolve(%q) kept %d bytes, above Max %d", w.Path, len(f.Data), w.Max)
			}
		}
	})
}

func FuzzEntryPath(f *testing.F) {
	for _, s := range []string{"", ".", "./", "/", "a", "./a/b", "/a/../b", "../a", "a/../../b", "..", "...", "a/..", "//a//b/", `a\..\..\b`, ".wh..wh..opq", "a/./../.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := entryPath(name)
		if err != nil {
			if !errors.Is(err, ErrOutsideRoot) {
				t.Errorf("entryPath(%q) error %v is not ErrOutsideRoot", name, err)
			}
			if !strings.Contains(name, "..") {
				t.Errorf("entryPath(%q) refused a name without ..: %v", name, err)
			}
			return
		}
		if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
			t.Errorf("entryPath(%q) = %q, not a clean absolute path", name, p)
		}
		for _, el := range strings.Split(p, "/") {
			if el == ".." {
				t.Errorf("entryPath(%q) = %q climbs", name, p)
			}
		}
		// The path names the same place as the member name, read from the root.
		if want := path.Join("/", name); want != p {
			t.Errorf("entryPath(%q) = %q, want %q", name, p, want)
		}
	})
}

// FuzzResolveAgainstKernel builds a small tree from the input (directories,
// files, and symlinks whose targets mix names, ".", "..", and leading and
// trailing slashes), and resolves paths in it as a one-layer image and as
// the kernel does on the tree extracted for real (see compareWithKernel).
func FuzzResolveAgainstKernel(f *testing.F) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 16 {
		seed := make([]byte, 96)
		for i := range seed {
			seed[i] = byte(rnd.Uint32())
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, wants := fuzzTree(&choices{b: data})
		compareWithKernel(t, nodes, wants)
	})
}

// choices reads decisions from fuzz input; past its end every one is 0.
type choices struct {
	b []byte
	i int
}

// n returns a choice in [0, k).
func (c *choices) n(k int) int {
	if c.i >= len(c.b) {
		return 0
	}
	c.i++
	return int(c.b[c.i-1]) % k
}

var fuzzNames = []string{"a", "b", "c", "d"}

// fuzzTree returns a tree of up to 16 entries, every parent a directory
// made before its children, and the paths to resolve in it: each entry's,
// without and with NoFollow, and a few more.
func fuzzTree(c *choices) ([]treeNode, []Want) {
	var nodes []treeNode
	dirs := []string{""}
	exists := map[string]bool{}
	for range 2 + c.n(15) {
		p := path.Join(dirs[c.n(len(dirs))], fuzzNames[c.n(len(fuzzNames))])
		kind := [...]Kind{Dir, Regular, Symlink, Symlink}[c.n(4)]
		if exists[p] {
			continue
		}
		exists[p] = true
		n := treeNode{path: p, kind: kind}
		switch kind {
		case Dir:
			dirs = append(dirs, p)
		case Symlink:
			n.target = fuzzTarget(c)
		}
		nodes = append(nodes, n)
	}
	var wants []Want
	for _, n := range nodes {
		wants = append(wants, Want{Path: "/" + n.path, Max: 64}, Want{Path: "/" + n.path, Max: 64, NoFollow: true})
	}
	for range 1 + c.n(6) {
		var p string
		for range 1 + c.n(4) {
			p += "/" + fuzzNames[c.n(len(fuzzNames))]
		}
		wants = append(wants, Want{Path: p, Max: 64, NoFollow: c.n(2) == 0})
	}
	return nodes, wants
}

// fuzzTarget returns a symlink target of one to four components, never
// empty (no file system makes a symlink to "").
func fuzzTarget(c *choices) string {
	var b strings.Builder
	if c.n(3) == 0 {
		b.WriteString("/")
	}
	for i := range 1 + c.n(4) {
		if i > 0 {
			b.WriteString("/")
		}
		b.WriteString([...]string{"a", "b", "c", "d", "..", "..", "."}[c.n(7)])
	}
	if c.n(4) == 0 {
		b.WriteString("/")
	}
	return b.String()
}

// TestReadLayerHeaders checks readLayer against tar headers that
// imagetest.TarBytes does not write.
func TestReadLayerHeaders(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}},
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./metadata.json", Typeflag: tar.TypeReg, Size: 2, Mode: 0o600},
		{Name: "ui/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "ui/.wh..wh.plnk", Typeflag: tar.TypeReg},
		{Name: "ui/.wh.", Typeflag: tar.TypeReg},
		{Name: "ui/.wh..", Typeflag: tar.TypeReg},
		{Name: "fifo", Typeflag: tar.TypeFifo},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("{}"))
		}
	}
	tw.Close()
	s, err := readLayer(context.Background(), &buf, false, map[string]spec{"/metadata.json": {max: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.content["/metadata.json"]); got != "{}" {
		t.Errorf("content of ./metadata.json = %q, want {}", got)
	}
	if e := s.entries["/metadata.json"]; e == nil || e.mode != 0o600 {
		t.Errorf("entry of ./metadata.json = %+v, want mode 0600", e)
	}
	if len(s.whiteouts) != 0 || len(s.opaque) != 0 {
		t.Errorf("whiteouts %v, opaque %v: want none from AUFS metadata or empty names", s.whiteouts, s.opaque)
	}
	if e := s.entries["/fifo"]; e == nil || e.kind != Other {
		t.Errorf("entry of fifo = %+v, want Other", e)
	}
	if e := s.entries["/pax_global_header"]; e != nil {
		t.Errorf("a PAX global header became entry %+v", e)
	}
}

func TestSizedReadCloser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, blob string
		size       int64
		want       string
		err        bool
	}{
		{name: "exact", blob: "0123456789", size: 10, want: "0123456789"},
		{name: "shorter", blob: "01234", size: 10, want: "01234"},
		{name: "longer", blob: "0123456789abc", size: 10, want: "0123456789", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &sizedReadCloser{rc: io.NopCloser(strings.NewReader(tt.blob)), left: tt.size, d: v1.Descriptor{Size: tt.size}}
			got, err := io.ReadAll(r)
			if string(got) != tt.want || (err != nil) != tt.err {
				t.Errorf("ReadAll() = %q, %v; want %q and error %v", got, err, tt.want, tt.err)
			}
		})
	}
}
