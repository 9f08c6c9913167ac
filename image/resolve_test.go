package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestFilesSymlinkWalk: paths resolve one component at a time, as the
// kernel does, not lexically.
func TestFilesSymlinkWalk(t *testing.T) {
	t.Parallel()
	loop := func(p, target string) imagetest.File { return imagetest.Symlink(p, target) }
	var chain []imagetest.File // c00 -> c01 -> ... -> c40, a file: 40 symlinks
	for i := range 40 {
		chain = append(chain, imagetest.Symlink(fmt.Sprintf("c%02d", i), fmt.Sprintf("c%02d", i+1)))
	}
	chain = append(chain, reg("c40", "end"), imagetest.Symlink("c-1", "c00"))
	testFiles(t, []filesCase{
		{
			// The example: lexically /real.json, but d is a/b, so
			// d/.. is /a.
			name: ".. after a symlinked directory",
			layers: [][]imagetest.File{{
				imagetest.Dir("a"), imagetest.Dir("a/b"), reg("a/real.json", "a/real.json"), reg("real.json", "real.json"),
				imagetest.Symlink("d", "a/b"), imagetest.Symlink("metadata.json", "d/../real.json"),
			}},
			wants: []Want{{Path: "/metadata.json", Max: 100}},
			want:  map[string]fileView{"/metadata.json": regular("/a/real.json", "a/real.json")},
		},
		{
			name: "chain of symlinks",
			layers: [][]imagetest.File{{
				imagetest.Dir("opt"), imagetest.Dir("opt/v2"), reg("opt/v2/metadata.json", "v2"),
				imagetest.Symlink("opt/current", "v2"), imagetest.Symlink("app", "opt/current"),
				imagetest.Symlink("metadata.json", "app/metadata.json"),
			}},
			wants: []Want{{Path: "/metadata.json", Max: 100}, {Path: "/app", NoFollow: true}},
			want: map[string]fileView{
				"/metadata.json": regular("/opt/v2/metadata.json", "v2"),
				"/app":           {Kind: Symlink, Resolved: "/app", Linkname: "opt/current"},
			},
		},
		{
			name: ".. through a symlinked directory in an ancestor",
			layers: [][]imagetest.File{{
				imagetest.Dir("opt"), imagetest.Dir("opt/releases"), imagetest.Dir("opt/releases/v2"),
				reg("opt/releases/metadata.json", "releases"), reg("opt/metadata.json", "opt"),
				imagetest.Symlink("opt/current", "releases/v2"), imagetest.Symlink("app", "/opt/current/.."),
			}},
			wants: []Want{{Path: "/app/metadata.json", Max: 100}},
			want:  map[string]fileView{"/app/metadata.json": regular("/opt/releases/metadata.json", "releases")},
		},
		{
			name: "absolute targets start again at the root",
			layers: [][]imagetest.File{{
				imagetest.Dir("x"), imagetest.Dir("deep"), imagetest.Dir("deep/er"), reg("deep/z", "deep/z"), reg("z", "z"),
				imagetest.Symlink("y", "deep/er"), imagetest.Symlink("x/l", "/y/../z"),
			}},
			wants: []Want{{Path: "/x/l", Max: 100}},
			want:  map[string]fileView{"/x/l": regular("/deep/z", "deep/z")},
		},
		{
			name: ".. above the root stays at the root",
			layers: [][]imagetest.File{{
				imagetest.Dir("a"), imagetest.Dir("a/b"), reg("real.json", "real.json"),
				imagetest.Symlink("d", "a/b"), imagetest.Symlink("m", "d/../../../../real.json"),
			}},
			wants: []Want{{Path: "/m", Max: 100}},
			want:  map[string]fileView{"/m": regular("/real.json", "real.json")},
		},
		{
			name: "a symlinked directory in a lower layer, the file in an upper one",
			layers: [][]imagetest.File{
				{imagetest.Dir("opt"), imagetest.Dir("opt/v1"), imagetest.Symlink("current", "opt/v1")},
				{imagetest.Dir("opt"), imagetest.Dir("opt/v1"), reg("opt/v1/metadata.json", "v1")},
				{imagetest.Symlink("metadata.json", "current/../v1/metadata.json")},
			},
			wants: []Want{{Path: "/metadata.json", Max: 100}, {Path: "/current/metadata.json", Max: 100}},
			want: map[string]fileView{
				"/metadata.json":         regular("/opt/v1/metadata.json", "v1"),
				"/current/metadata.json": regular("/opt/v1/metadata.json", "v1"),
			},
		},
		{
			name: "missing or not a directory before ..",
			layers: [][]imagetest.File{{
				reg("real.json", "real.json"),
				imagetest.Symlink("nope", "missing/../real.json"), imagetest.Symlink("file", "real.json/../real.json"),
			}},
			wants: []Want{{Path: "/nope", Max: 100}, {Path: "/file", Max: 100}},
			want:  map[string]fileView{"/nope": missing("/missing"), "/file": missing("/real.json")},
		},
		{
			name: "a trailing slash wants a directory",
			layers: [][]imagetest.File{{
				imagetest.Dir("opt"), imagetest.Dir("opt/ui"), reg("real.json", "real.json"),
				imagetest.Symlink("ui", "opt/ui/"), imagetest.Symlink("m", "real.json/"),
			}},
			wants: []Want{{Path: "/ui"}, {Path: "/m", Max: 100}},
			want: map[string]fileView{
				"/ui": {Kind: Dir, Resolved: "/opt/ui"},
				"/m":  missing("/real.json"),
			},
		},
		{
			name: "NoFollow follows the ancestors only",
			layers: [][]imagetest.File{{
				imagetest.Dir("a"), imagetest.Dir("a/b"), imagetest.Symlink("a/b/link", "x"), imagetest.Symlink("d", "a/b"),
			}},
			wants: []Want{{Path: "/d/link", NoFollow: true}},
			want:  map[string]fileView{"/d/link": {Kind: Symlink, Resolved: "/a/b/link", Linkname: "x"}},
		},
		{
			name: "tree through a symlink with ..",
			layers: [][]imagetest.File{{
				imagetest.Dir("a"), imagetest.Dir("a/b"), imagetest.Dir("a/ui"), reg("a/ui/index.html", "html"),
				imagetest.Dir("ui2"), reg("ui2/wrong.html", "x"),
				imagetest.Symlink("d", "a/b"), imagetest.Symlink("ui", "d/../ui"), imagetest.Symlink("d2", "d/../../ui2/.."),
			}},
			wants: []Want{{Path: "/ui", Tree: true}, {Path: "/d2"}},
			want: map[string]fileView{
				"/ui": {Kind: Dir, Resolved: "/a/ui", Tree: []Entry{{Path: "/a/ui/index.html", Kind: Regular}}},
				"/d2": {Kind: Dir, Resolved: "/"},
			},
		},
		{
			name: "loops",
			layers: [][]imagetest.File{{
				imagetest.Dir("d"), loop("a", "b"), loop("b", "a"), loop("self", "self"), loop("up", "up/.."), loop("d/l", "../d/l/x"),
			}},
			wants: []Want{{Path: "/a"}, {Path: "/self/x"}, {Path: "/up"}, {Path: "/d/l"}},
			want: map[string]fileView{
				"/a":      {Kind: Missing, Resolved: "/b", Problem: true},
				"/self/x": {Kind: Missing, Resolved: "/self/x", Problem: true},
				"/up":     {Kind: Missing, Resolved: "/up", Problem: true},
				// Resolved is where the symlinks led when the walk gave up.
				"/d/l": {Kind: Missing, Resolved: "/d/l" + strings.Repeat("/x", 41), Problem: true},
			},
		},
		{
			name:   "40 symlinks resolve, 41 do not",
			layers: [][]imagetest.File{chain},
			wants:  []Want{{Path: "/c00", Max: 100}, {Path: "/c-1", Max: 100}},
			want: map[string]fileView{
				"/c00": regular("/c40", "end"),
				"/c-1": {Kind: Missing, Resolved: "/c40", Problem: true}, // where 41 symlinks led
			},
		},
		{
			name:   "empty target",
			layers: [][]imagetest.File{{imagetest.Symlink("m", ""), imagetest.Symlink("m2", "m")}},
			wants:  []Want{{Path: "/m", NoFollow: true}, {Path: "/m2", Max: 100}},
			want: map[string]fileView{
				"/m":  {Kind: Symlink, Resolved: "/m"},
				"/m2": {Kind: Missing, Resolved: "/m", Problem: true},
			},
		},
		{
			name:   "the root is a directory",
			layers: [][]imagetest.File{{reg(".", "not a dir"), imagetest.Symlink("r", "/")}},
			wants:  []Want{{Path: "/r", Tree: true}},
			want:   map[string]fileView{"/r": {Kind: Dir, Resolved: "/", Tree: []Entry{{Path: "/r", Kind: Symlink, Linkname: "/"}}}},
		},
	})
}

// TestFilesSymlinkWalkReadsOnlyNeededLayers: each step of the walk reads
// only the layers that decide it.
func TestFilesSymlinkWalkReadsOnlyNeededLayers(t *testing.T) {
	t.Parallel()
	base := imagetest.Layer(t, imagetest.Dir("a"), reg("a/real.json", "base"), reg("real.json", "base"))
	middle := imagetest.Layer(t, imagetest.Dir("a"), imagetest.Dir("a/b"), reg("a/real.json", "middle"))
	top := imagetest.Layer(t, imagetest.Symlink("d", "a/b"), imagetest.Symlink("metadata.json", "d/../real.json"))
	img := openImageLayout(t, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{base, middle, top}}))
	files, err := img.Variants[0].Files(context.Background(), Want{Path: "/metadata.json", Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(regular("/a/real.json", "middle"), viewOf(files["/metadata.json"])); diff != "" {
		t.Errorf("Files() mismatch (-want +got):\n%s", diff)
	}
	for _, l := range []struct {
		name  string
		layer v1.Layer
		read  bool
	}{{"base", base, false}, {"middle", middle, true}, {"top", top, true}} {
		it := img.scans.items[digestOf(t, l.layer)]
		if read := it != nil && it.scan != nil; read != l.read {
			t.Errorf("%s layer read: %v, want %v", l.name, read, l.read)
		}
	}
}

// treeNode is one entry of a test tree.
type treeNode struct {
	path   string // relative, clean
	kind   Kind   // Dir, Regular or Symlink
	target string // of a symlink
}

func (n treeNode) String() string {
	if n.kind == Symlink {
		return n.path + " -> " + n.target
	}
	return n.path + " (" + n.kind.String() + ")"
}

// layerOf returns the tree as a layer's tar stream; a file holds its own
// absolute path.
func layerOf(t testing.TB, nodes []treeNode) []byte {
	var files []imagetest.File
	for _, n := range nodes {
		switch n.kind {
		case Dir:
			files = append(files, imagetest.Dir(n.path))
		case Regular:
			files = append(files, reg(n.path, "/"+n.path))
		default:
			files = append(files, imagetest.Symlink(n.path, n.target))
		}
	}
	return imagetest.TarBytes(t, files...)
}

// extract writes the tree into dir, for real.
func extract(t testing.TB, dir string, nodes []treeNode) {
	for _, n := range nodes {
		p := filepath.Join(dir, filepath.FromSlash(n.path))
		var err error
		switch n.kind {
		case Dir:
			err = os.Mkdir(p, 0o755)
		case Regular:
			err = os.WriteFile(p, []byte("/"+n.path), 0o644)
		default:
			err = os.Symlink(n.target, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// testFS is the merged file system of layers (tar streams, bottom first)
// read with readLayer as Files reads them: a need reads its layer again,
// with what the need adds to the layer's capture.
type testFS struct {
	layers []func() io.Reader
	mfs    *mergedFS
	reads  []int // reads of each layer
}

func newTestFS(layers ...func() io.Reader) *testFS {
	return &testFS{layers: layers, reads: make([]int, len(layers)),
		mfs: &mergedFS{layers: make([]v1.Descriptor, len(layers)), scans: make([]*layerScan, len(layers))}}
}

// resolve resolves w, reading layers as needed.
func (fsys *testFS) resolve(t testing.TB, w Want) *File {
	t.Helper()
	w.Path = cleanPath(w.Path)
	for range 1000 {
		f, nd := fsys.mfs.resolve(w)
		if nd == nil {
			return f
		}
		capture := map[string]spec{}
		if s := fsys.mfs.scans[nd.layer]; s != nil {
			maps.Copy(capture, s.capture)
		}
		for p, sp := range nd.paths {
			capture[p] = capture[p].merge(sp)
		}
		s, err := readLayer(context.Background(), fsys.layers[nd.layer](), false, capture)
		if err != nil {
			t.Fatalf("reading layer %d: %v", nd.layer, err)
		}
		fsys.mfs.scans[nd.layer], fsys.reads[nd.layer] = s, fsys.reads[nd.layer]+1
	}
	t.Fatalf("resolving %q: too many layer reads", w.Path)
	return nil
}

// compareWithKernel resolves each want in a one-layer image of the tree,
// and checks the answer against the kernel's on the tree extracted for real.
//
// The reference is openat2(2) with RESOLVE_IN_ROOT: the kernel's own walk,
// with ".." at the root staying at the root and absolute symlinks starting
// from it, exactly what a process inside the container sees (Docker clamps
// at the container root; 40 symlinks at most). os.Root is asked too, and
// must agree wherever it answers: it refuses any walk that climbs above the
// root, or follows more than 8 symlinks, so those answers are skipped
// rather than emulated. Where the kernel has no openat2 (not Linux, or a
// sandbox), os.Root alone is the reference, on the paths it answers.
func compareWithKernel(t *testing.T, nodes []treeNode, wants []Want) {
	t.Helper()
	dir := t.TempDir()
	extract(t, dir, nodes)
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	layer := layerOf(t, nodes)
	fsys := newTestFS(func() io.Reader { return bytes.NewReader(layer) })
	for _, w := range wants {
		f := fsys.resolve(t, w)
		rel := strings.TrimPrefix(cleanPath(w.Path), "/")
		if rel == "" {
			rel = "."
		}
		if fi, err, ok := kernelStat(dir, rel, w.NoFollow); ok {
			checkResolved(t, "the kernel", dir, nodes, w, f, fi, err)
		}
		var fi fs.FileInfo
		if w.NoFollow {
			fi, err = root.Lstat(rel)
		} else {
			fi, err = root.Stat(rel)
		}
		if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			checkResolved(t, "os.Root", dir, nodes, w, f, fi, err)
		}
	}
}

// checkResolved compares the File resolved for w with what a reference
// found in the extracted tree: fi, or err.
func checkResolved(t *testing.T, ref, dir string, nodes []treeNode, w Want, f *File, fi fs.FileInfo, err error) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s (NoFollow %v) in tree %v: %s", w.Path, w.NoFollow, nodes, fmt.Sprintf(format, args...))
	}
	got := fmt.Sprintf("%v at %q (problem %q)", f.Kind, f.Resolved, f.Problem)
	switch {
	case err == nil:
		want := kindOf(fi)
		if f.Kind != want {
			fail("resolved to a %s, %s finds a %v", got, ref, want)
			return
		}
		there, lerr := os.Lstat(filepath.Join(dir, filepath.FromSlash(f.Resolved)))
		if lerr != nil || !os.SameFile(there, fi) {
			fail("resolved to a %s, %s finds another %v", got, ref, want)
		}
		if f.Kind == Regular && string(f.Data) != f.Resolved {
			fail("resolved to a %s holding %q", got, f.Data)
		}
	case errors.Is(err, syscall.ELOOP):
		if f.Exists() || !strings.Contains(f.Problem, "symbolic links") {
			fail("resolved to a %s, %s finds a loop", got, ref)
		}
	default:
		if f.Exists() || f.Problem != "" {
			fail("resolved to a %s, %s finds nothing: %v", got, ref, err)
		}
	}
}

func kindOf(fi fs.FileInfo) Kind {
	switch {
	case fi.Mode().IsRegular():
		return Regular
	case fi.IsDir():
		return Dir
	case fi.Mode()&fs.ModeSymlink != 0:
		return Symlink
	}
	return Other
}

// TestResolveAgainstKernel compares resolution with the kernel's on trees
// chosen by hand (FuzzResolveAgainstKernel on random ones).
func TestResolveAgainstKernel(t *testing.T) {
	t.Parallel()
	dir := func(p string) treeNode { return treeNode{path: p, kind: Dir} }
	file := func(p string) treeNode { return treeNode{path: p, kind: Regular} }
	link := func(p, target string) treeNode { return treeNode{path: p, kind: Symlink, target: target} }
	var chain []treeNode
	for i := range 40 {
		chain = append(chain, link(fmt.Sprintf("c%02d", i), fmt.Sprintf("c%02d", i+1)))
	}
	chain = append(chain, file("c40"), link("c-1", "c00"))
	tests := []struct {
		name  string
		nodes []treeNode
		paths []string
	}{
		{name: "the issue's example", nodes: []treeNode{dir("a"), dir("a/b"), file("a/real.json"), file("real.json"),
			link("d", "a/b"), link("metadata.json", "d/../real.json")}, paths: []string{"/metadata.json", "/d"}},
		{name: "climbing above the root", nodes: []treeNode{dir("a"), dir("a/b"), file("real.json"),
			link("d", "a/b"), link("m", "d/../../../../real.json"), link("abs", "/../../real.json"), link("a/b/up", "../../..")},
			paths: []string{"/m", "/abs", "/a/b/up/real.json", "/a/b/up/a/b/up/m"}},
		{name: "missing, file and trailing slash", nodes: []treeNode{dir("ui"), file("f"),
			link("nope", "missing/../f"), link("notdir", "f/../f"), link("slash", "f/"), link("uislash", "ui/"), link("dot", "ui/.")},
			paths: []string{"/nope", "/notdir", "/slash", "/uislash", "/dot", "/uislash/x"}},
		{name: "loops", nodes: []treeNode{dir("d"), link("a", "b"), link("b", "a"), link("up", "up/.."), link("d/l", "../d/l/x"), link("dot", ".")},
			paths: []string{"/a", "/up", "/d/l", "/dot/dot/dot/d"}},
		{name: "40 symlinks", nodes: chain, paths: []string{"/c00", "/c-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var wants []Want
			for _, p := range tt.paths {
				wants = append(wants, Want{Path: p, Max: 64}, Want{Path: p, NoFollow: true, Max: 64})
			}
			compareWithKernel(t, tt.nodes, wants)
		})
	}
}
