package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

type files = []imagetest.File

func reg(p, body string) imagetest.File { return imagetest.File{Path: p, Body: body} }

func hardlink(p, target string) imagetest.File {
	return imagetest.File{Path: p, Type: tar.TypeLink, Linkname: target}
}

func regular(resolved, data string) fileView {
	return fileView{Kind: Regular, Resolved: resolved, Size: int64(len(data)), Data: data}
}

func missing(resolved string) fileView { return fileView{Kind: Missing, Resolved: resolved} }

func TestFilesMerged(t *testing.T) {
	t.Parallel()
	const meta = `{"icon":"docker.svg"}`
	tests := []filesCase{
		{
			name:   "upper layer overrides lower",
			layers: [][]imagetest.File{{reg("metadata.json", "lower")}, {reg("metadata.json", "upper")}},
			wants:  []Want{{Path: "/metadata.json", Max: 100}},
			want:   map[string]fileView{"/metadata.json": regular("/metadata.json", "upper")},
		},
		{
			name:   "lower layer shows through",
			layers: [][]imagetest.File{{reg("metadata.json", "lower")}, {reg("other", "upper")}},
			wants:  []Want{{Path: "/metadata.json", Max: 100}},
			want:   map[string]fileView{"/metadata.json": regular("/metadata.json", "lower")},
		},
		{
			name:   "relative and unclean paths",
			layers: [][]imagetest.File{{imagetest.Dir("ui"), reg("ui/index.html", "html")}},
			wants:  []Want{{Path: "ui/./x/../index.html", Max: 100}},
			want:   map[string]fileView{"/ui/index.html": regular("/ui/index.html", "html")},
		},
		{
			name:   "missing",
			layers: [][]imagetest.File{{reg("a", "a")}, {reg("b", "b")}},
			wants:  []Want{{Path: "/metadata.json", Max: 100}},
			want:   map[string]fileView{"/metadata.json": missing("/metadata.json")},
		},
		{
			name: "whiteout hides a lower file",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), reg("ui/old.html", "old"), reg("ui/keep.html", "keep")},
				{imagetest.Dir("ui"), imagetest.Whiteout("ui/old.html")},
			},
			wants: []Want{{Path: "/ui/old.html", Max: 100}, {Path: "/ui/keep.html", Max: 100}},
			want: map[string]fileView{
				"/ui/old.html":  missing("/ui/old.html"),
				"/ui/keep.html": regular("/ui/keep.html", "keep"),
			},
		},
		{
			name: "whiteout hides a lower directory",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), imagetest.Dir("ui/js"), reg("ui/js/app.js", "js"), reg("ui/index.html", "html"), reg("other", "other")},
				{imagetest.Whiteout("ui")},
			},
			wants: []Want{{Path: "/ui", Max: 100}, {Path: "/ui/index.html", Max: 100}, {Path: "/ui/js/app.js", Max: 100}, {Path: "/other", Max: 100}},
			want: map[string]fileView{
				"/ui":            missing("/ui"),
				"/ui/index.html": missing("/ui/index.html"),
				"/ui/js/app.js":  missing("/ui/js/app.js"),
				"/other":         regular("/other", "other"),
			},
		},
		{
			name: "whiteout then recreated above",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), reg("ui/old.html", "old")},
				{imagetest.Whiteout("ui")},
				{imagetest.Dir("ui"), reg("ui/new.html", "new")},
			},
			wants: []Want{{Path: "/ui/old.html", Max: 100}, {Path: "/ui/new.html", Max: 100}},
			want: map[string]fileView{
				"/ui/old.html": missing("/ui/old.html"),
				"/ui/new.html": regular("/ui/new.html", "new"),
			},
		},
		{
			name: "opaque directory, marker first",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), reg("ui/old.html", "old"), reg("ui/index.html", "old index"), imagetest.Dir("other"), reg("other/x", "x")},
				{imagetest.Dir("ui"), imagetest.Opaque("ui"), reg("ui/index.html", "new index")},
			},
			wants: []Want{{Path: "/ui/old.html", Max: 100}, {Path: "/ui/index.html", Max: 100}, {Path: "/other/x", Max: 100}},
			want: map[string]fileView{
				"/ui/old.html":   missing("/ui/old.html"),
				"/ui/index.html": regular("/ui/index.html", "new index"),
				"/other/x":       regular("/other/x", "x"),
			},
		},
		{
			name: "opaque directory, marker last",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), imagetest.Dir("ui/js"), reg("ui/js/old.js", "old"), reg("ui/index.html", "old index")},
				{imagetest.Dir("ui"), reg("ui/index.html", "new index"), imagetest.Opaque("ui")},
			},
			wants: []Want{{Path: "/ui/js/old.js", Max: 100}, {Path: "/ui/index.html", Max: 100}, {Path: "/ui", Tree: true}},
			want: map[string]fileView{
				"/ui/js/old.js":  missing("/ui/js/old.js"),
				"/ui/index.html": regular("/ui/index.html", "new index"),
				"/ui":            {Kind: Dir, Resolved: "/ui", Tree: []Entry{{Path: "/ui/index.html", Kind: Regular}}},
			},
		},
		{
			name: "upper file replaces a lower directory",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), reg("ui/index.html", "html")},
				{reg("ui", "now a file")},
			},
			wants: []Want{{Path: "/ui/index.html", Max: 100}},
			want:  map[string]fileView{"/ui/index.html": missing("/ui/index.html")},
		},
		{
			name: "upper directory replaces a lower symlink",
			layers: [][]imagetest.File{
				{imagetest.Dir("opt"), reg("opt/x", "x"), imagetest.Symlink("app", "/opt")},
				{imagetest.Dir("app"), reg("app/y", "y")},
			},
			wants: []Want{{Path: "/app/x", Max: 100}, {Path: "/app/y", Max: 100}},
			want: map[string]fileView{
				"/app/x": missing("/app/x"),
				"/app/y": regular("/app/y", "y"),
			},
		},
		{
			name: "absolute symlink",
			layers: [][]imagetest.File{
				{imagetest.Dir("opt"), imagetest.Dir("opt/app"), reg("opt/app/metadata.json", meta)},
				{imagetest.Symlink("metadata.json", "/opt/app/metadata.json")},
			},
			wants: []Want{{Path: "/metadata.json", Max: 100}},
			want:  map[string]fileView{"/metadata.json": regular("/opt/app/metadata.json", meta)},
		},
		{
			name: "relative symlink",
			layers: [][]imagetest.File{
				{imagetest.Dir("opt"), imagetest.Dir("opt/app"), reg("opt/app/metadata.json", meta)},
				{imagetest.Dir("etc"), imagetest.Symlink("etc/metadata.json", "../opt/app/metadata.json"), imagetest.Symlink("metadata.json", "etc/metadata.json")},
			},
			wants: []Want{{Path: "/metadata.json", Max: 100}},
			want:  map[string]fileView{"/metadata.json": regular("/opt/app/metadata.json", meta)},
		},
		{
			name: "symlink in an ancestor",
			layers: [][]imagetest.File{
				{imagetest.Dir("opt"), imagetest.Dir("opt/app"), imagetest.Dir("opt/app/ui"), reg("opt/app/ui/index.html", "html")},
				{imagetest.Symlink("app", "/opt/app"), imagetest.Symlink("rel", "opt/app")},
			},
			wants: []Want{{Path: "/app/ui/index.html", Max: 100}, {Path: "/rel/ui/index.html", Max: 100}, {Path: "/app/ui/nope", Max: 100}},
			want: map[string]fileView{
				"/app/ui/index.html": regular("/opt/app/ui/index.html", "html"),
				"/rel/ui/index.html": regular("/opt/app/ui/index.html", "html"),
				"/app/ui/nope":       missing("/opt/app/ui/nope"),
			},
		},
		{
			name: "symlinks climbing above the root stay inside",
			layers: [][]imagetest.File{
				{reg("metadata.json", meta), imagetest.Dir("etc"), reg("etc/passwd", "image passwd")},
				{imagetest.Dir("a"), imagetest.Dir("a/b"),
					imagetest.Symlink("a/b/up", "../../../../../.."),
					imagetest.Symlink("a/b/passwd", "../../../../etc/passwd"),
					imagetest.Symlink("root", "/../../.."),
				},
			},
			wants: []Want{{Path: "/a/b/up/metadata.json", Max: 100}, {Path: "/a/b/passwd", Max: 100}, {Path: "/root/etc/passwd", Max: 100}},
			want: map[string]fileView{
				"/a/b/up/metadata.json": regular("/metadata.json", meta),
				"/a/b/passwd":           regular("/etc/passwd", "image passwd"),
				"/root/etc/passwd":      regular("/etc/passwd", "image passwd"),
			},
		},
		{
			name: "symlink across layers in both directions",
			layers: [][]imagetest.File{
				{imagetest.Symlink("current", "releases/2"), imagetest.Dir("releases"), imagetest.Dir("releases/1"), reg("releases/1/metadata.json", "one")},
				{imagetest.Dir("releases"), imagetest.Dir("releases/2"), reg("releases/2/metadata.json", "two")},
				{imagetest.Symlink("metadata.json", "current/metadata.json")},
			},
			wants: []Want{{Path: "/metadata.json", Max: 100}},
			want:  map[string]fileView{"/metadata.json": regular("/releases/2/metadata.json", "two")},
		},
		{
			name: "symlink loops",
			layers: [][]imagetest.File{
				{imagetest.Symlink("a", "b"), imagetest.Symlink("b", "/a"), imagetest.Symlink("self", "self"), imagetest.Symlink("d", "d/e")},
			},
			wants: []Want{{Path: "/a", Max: 100}, {Path: "/self/x", Max: 100}, {Path: "/d/x", Max: 100}},
			want: map[string]fileView{
				"/a":      {Kind: Missing, Resolved: "/b", Problem: true},
				"/self/x": {Kind: Missing, Resolved: "/self/x", Problem: true},
				"/d/x":    {Kind: Missing, Resolved: "/d" + strings.Repeat("/e", maxSymlinkHops+1) + "/x", Problem: true},
			},
		},
		{
			name:   "dangling symlink",
			layers: [][]imagetest.File{{imagetest.Symlink("metadata.json", "/nowhere")}},
			wants:  []Want{{Path: "/metadata.json", Max: 100}},
			want:   map[string]fileView{"/metadata.json": missing("/nowhere")},
		},
		{
			name:   "no follow",
			layers: [][]imagetest.File{{reg("real.json", meta), imagetest.Symlink("metadata.json", "real.json")}},
			wants:  []Want{{Path: "/metadata.json", Max: 100, NoFollow: true}},
			want:   map[string]fileView{"/metadata.json": {Kind: Symlink, Resolved: "/metadata.json", Linkname: "real.json"}},
		},
		{
			name: "no follow still follows ancestors",
			layers: [][]imagetest.File{{imagetest.Dir("opt"), imagetest.Dir("opt/ui"), imagetest.Symlink("opt/ui/link", "x"),
				imagetest.Symlink("ui", "opt/ui")}},
			wants: []Want{{Path: "/ui/link", NoFollow: true}},
			want:  map[string]fileView{"/ui/link": {Kind: Symlink, Resolved: "/opt/ui/link", Linkname: "x"}},
		},
		{
			name:   "hard link",
			layers: [][]imagetest.File{{imagetest.Dir("bin"), reg("bin/tool", "binary"), hardlink("bin/alias", "bin/tool")}},
			wants:  []Want{{Path: "/bin/alias", Max: 100}},
			want:   map[string]fileView{"/bin/alias": regular("/bin/alias", "binary")},
		},
		{
			name: "hard link and its target both wanted",
			layers: [][]imagetest.File{
				{reg("lower", "lower")},
				{imagetest.Dir("bin"), reg("bin/tool", "binary"), hardlink("bin/alias", "/bin/tool")},
			},
			wants: []Want{{Path: "/bin/alias", Max: 3}, {Path: "/bin/tool", Max: 100}},
			want: map[string]fileView{
				"/bin/alias": {Kind: Regular, Resolved: "/bin/alias", Size: 6, Data: "bin", Truncated: true},
				"/bin/tool":  regular("/bin/tool", "binary"),
			},
		},
		{
			name:   "hard link without its target",
			layers: [][]imagetest.File{{reg("lower", "lower")}, {hardlink("bin/alias", "bin/nope")}},
			wants:  []Want{{Path: "/bin/alias", Max: 100}},
			want:   map[string]fileView{"/bin/alias": {Kind: Missing, Resolved: "/bin/alias", Problem: true}},
		},
		{
			name:   "content cap",
			layers: [][]imagetest.File{{reg("metadata.json", strings.Repeat("x", 1000))}},
			wants:  []Want{{Path: "/metadata.json", Max: 10}},
			want:   map[string]fileView{"/metadata.json": {Kind: Regular, Resolved: "/metadata.json", Size: 1000, Data: strings.Repeat("x", 10), Truncated: true}},
		},
		{
			name:   "cap at the size is not truncated",
			layers: [][]imagetest.File{{reg("metadata.json", "0123456789")}},
			wants:  []Want{{Path: "/metadata.json", Max: 10}},
			want:   map[string]fileView{"/metadata.json": regular("/metadata.json", "0123456789")},
		},
		{
			name:   "no content",
			layers: [][]imagetest.File{{reg("metadata.json", "0123456789")}},
			wants:  []Want{{Path: "/metadata.json"}},
			want:   map[string]fileView{"/metadata.json": {Kind: Regular, Resolved: "/metadata.json", Size: 10}},
		},
		{
			name:   "empty file",
			layers: [][]imagetest.File{{reg("metadata.json", "")}},
			wants:  []Want{{Path: "/metadata.json", Max: 10}},
			want:   map[string]fileView{"/metadata.json": {Kind: Regular, Resolved: "/metadata.json"}},
		},
		{
			name:   "same path wanted twice with different caps",
			layers: [][]imagetest.File{{reg("metadata.json", "0123456789")}},
			wants:  []Want{{Path: "/metadata.json", Max: 2}, {Path: "/metadata.json", Max: 5}},
			// The last want for a path decides what is returned.
			want: map[string]fileView{"/metadata.json": {Kind: Regular, Resolved: "/metadata.json", Size: 10, Data: "01234", Truncated: true}},
		},
		{
			name:   "root",
			layers: [][]imagetest.File{{reg("a", "a")}},
			wants:  []Want{{Path: "/"}},
			want:   map[string]fileView{"/": {Kind: Dir, Resolved: "/"}},
		},
		{
			name: "tree",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), reg("ui/gone.html", "x"), reg("ui/lower.html", "x")},
				{imagetest.Dir("ui"), imagetest.Whiteout("ui/gone.html"), reg("ui/index.html", "html"), imagetest.Dir("ui/js"),
					reg("ui/js/app.js", "js"), imagetest.Symlink("ui/js/link.js", "app.js"), reg("outside", "x")},
			},
			wants: []Want{{Path: "/ui", Tree: true}},
			want: map[string]fileView{"/ui": {Kind: Dir, Resolved: "/ui", Tree: []Entry{
				{Path: "/ui/index.html", Kind: Regular},
				{Path: "/ui/js", Kind: Dir},
				{Path: "/ui/js/app.js", Kind: Regular},
				{Path: "/ui/js/link.js", Kind: Symlink, Linkname: "app.js"},
				// ui/lower.html is not listed: the top layer holds /ui, so
				// the layers below are not read (see Want.Tree).
			}}},
		},
		{
			name: "tree reaches down to the layer holding the directory",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), reg("ui/bottom.html", "x")},
				{imagetest.Dir("ui"), reg("ui/gone.html", "x"), reg("ui/lower.html", "x"), imagetest.Dir("ui/js"), reg("ui/js/old.js", "x")},
				{imagetest.Whiteout("ui/gone.html"), reg("ui/index.html", "html"), reg("ui/js", "now a file")},
			},
			wants: []Want{{Path: "/ui", Tree: true}},
			want: map[string]fileView{"/ui": {Kind: Dir, Resolved: "/ui", Tree: []Entry{
				{Path: "/ui/index.html", Kind: Regular},
				{Path: "/ui/js", Kind: Regular},
				{Path: "/ui/lower.html", Kind: Regular},
			}}},
		},
		{
			name: "tree hides entries below an upper non-directory",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), imagetest.Dir("ui/js"), reg("ui/js/app.js", "x")},
				{imagetest.Dir("ui"), reg("ui/js", "now a file")},
			},
			wants: []Want{{Path: "/ui", Tree: true}},
			want: map[string]fileView{"/ui": {Kind: Dir, Resolved: "/ui", Tree: []Entry{
				{Path: "/ui/js", Kind: Regular},
			}}},
		},
		{
			name: "tree stops at a deleted directory",
			layers: [][]imagetest.File{
				{imagetest.Dir("ui"), reg("ui/old.html", "x")},
				{imagetest.Whiteout("ui")},
				{imagetest.Dir("ui"), reg("ui/new.html", "x")},
			},
			wants: []Want{{Path: "/ui", Tree: true}},
			want: map[string]fileView{"/ui": {Kind: Dir, Resolved: "/ui", Tree: []Entry{
				{Path: "/ui/new.html", Kind: Regular},
			}}},
		},
		{
			name:   "tree of an empty directory",
			layers: [][]imagetest.File{{imagetest.Dir("ui"), reg("other", "x")}},
			wants:  []Want{{Path: "/ui", Tree: true}},
			want:   map[string]fileView{"/ui": {Kind: Dir, Resolved: "/ui", Tree: []Entry{}}},
		},
		{
			name:   "tree of a file is none",
			layers: [][]imagetest.File{{reg("metadata.json", "{}")}},
			wants:  []Want{{Path: "/metadata.json", Tree: true}},
			want:   map[string]fileView{"/metadata.json": {Kind: Regular, Resolved: "/metadata.json", Size: 2}},
		},
		{
			name: "tree of the root",
			layers: [][]imagetest.File{
				{reg("a", "x"), imagetest.Dir("d"), reg("d/b", "x")},
				{imagetest.Dir("./"), imagetest.Whiteout("a"), reg("c", "x")},
			},
			wants: []Want{{Path: "/", Tree: true}},
			want: map[string]fileView{"/": {Kind: Dir, Resolved: "/", Tree: []Entry{
				{Path: "/c", Kind: Regular},
				{Path: "/d", Kind: Dir},
				{Path: "/d/b", Kind: Regular},
			}}},
		},
		{
			name: "tree through a symlink",
			layers: [][]imagetest.File{{imagetest.Dir("opt"), imagetest.Dir("opt/ui"), reg("opt/ui/index.html", "html"),
				imagetest.Symlink("ui", "/opt/ui")}},
			wants: []Want{{Path: "/ui", Tree: true}},
			want: map[string]fileView{"/ui": {Kind: Dir, Resolved: "/opt/ui", Tree: []Entry{
				{Path: "/opt/ui/index.html", Kind: Regular},
			}}},
		},
		{
			name:   "special file",
			layers: [][]imagetest.File{{{Path: "dev-null", Type: tar.TypeChar}}},
			wants:  []Want{{Path: "/dev-null", Max: 10}},
			want:   map[string]fileView{"/dev-null": {Kind: Other, Resolved: "/dev-null"}},
		},
		{
			name:   "no layers",
			layers: nil,
			wants:  []Want{{Path: "/metadata.json", Max: 10}, {Path: "/", Tree: true}},
			want:   map[string]fileView{"/metadata.json": missing("/metadata.json"), "/": {Kind: Dir, Resolved: "/", Tree: []Entry{}}},
		},
	}
	testFiles(t, tests)
}

// filesCase is a test of Files on an image built from layers of files.
type filesCase struct {
	name   string
	layers [][]imagetest.File // bottom first
	wants  []Want
	want   map[string]fileView
}

// testFiles runs Files on each case's image, with all its wants at once
// and then one at a time.
func testFiles(t *testing.T, tests []filesCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			img := openImageLayout(t, imageOf(t, tt.layers...))
			v := img.Variants[0]
			wants := append([]Want(nil), tt.wants...)
			got, err := v.Files(ctx, wants...)
			if err != nil {
				t.Fatalf("Files(): %v", err)
			}
			if diff := cmp.Diff(tt.want, viewsOf(got)); diff != "" {
				t.Errorf("Files() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wants, wants); diff != "" {
				t.Errorf("Files() changed its arguments (-before +after):\n%s", diff)
			}
			// Asking again, one path at a time, gives the same answers.
			for _, w := range tt.wants {
				again, err := v.Files(ctx, w)
				if err != nil {
					t.Fatalf("Files(%q) again: %v", w.Path, err)
				}
				p := cleanPath(w.Path)
				if diff := cmp.Diff(tt.want[p], viewOf(again[p])); diff != "" && len(tt.wants) == len(tt.want) {
					t.Errorf("Files(%q) alone mismatch (-want +got):\n%s", w.Path, diff)
				}
			}
		})
	}
}

// TestLayerDefects: entries Docker refuses to unpack are defects of the
// layer, reported by LayerDefects; the rest of the layer is still read.
func TestLayerDefects(t *testing.T) {
	t.Parallel()
	good := imagetest.Layer(t, reg("lower", "x"))
	var many []imagetest.File
	for i := range 15 {
		many = append(many, reg(fmt.Sprintf("../x%02d", i), "x"))
	}
	for _, tt := range []struct {
		name  string
		files []imagetest.File
		want  []string
		more  int
		// resolved is what /metadata.json resolves to.
		resolved Kind
	}{
		{name: "clean layer", files: []imagetest.File{reg("metadata.json", "{}"), imagetest.Symlink("abs", "/etc/passwd"), imagetest.Symlink("a/up", "../x")},
			resolved: Regular},
		{name: "every kind of escape", resolved: Regular, files: []imagetest.File{
			reg("../../etc/passwd", "root:x:0:0"),
			reg("/a/../../etc/x", "x"),
			hardlink("h", "../../etc/shadow"),
			imagetest.Dir("a"), imagetest.Symlink("a/b", "../../../etc"),
			reg("metadata.json", "{}"),
		}, want: []string{
			`entry "../../etc/passwd" climbs out of the image root`,
			`entry "/a/../../etc/x" climbs out of the image root`,
			`hard link "h" -> "../../etc/shadow" points outside the image root`,
			`symlink "a/b" -> "../../../etc" points outside the image root`,
		}},
		{name: "a hard link out of the root resolves to nothing", resolved: Missing,
			files: []imagetest.File{hardlink("metadata.json", "../../etc/shadow")},
			want:  []string{`hard link "metadata.json" -> "../../etc/shadow" points outside the image root`}},
		{name: "capped", files: append(many, reg("metadata.json", "{}")), resolved: Regular, more: 5, want: func() []string {
			var out []string
			for i := range 10 {
				out = append(out, fmt.Sprintf(`entry "../x%02d" climbs out of the image root`, i))
			}
			return out
		}()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			top := imagetest.Layer(t, tt.files...)
			img := openImageLayout(t, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{good, top}}))
			v := img.Variants[0]
			files, err := v.Files(context.Background(), Want{Path: "/metadata.json", Max: 100})
			if err != nil {
				t.Fatalf("Files() = %v, want the defects as data", err)
			}
			if got := files["/metadata.json"].Kind; got != tt.resolved {
				t.Errorf("/metadata.json is %v, want %v", got, tt.resolved)
			}
			got, err := v.LayerDefects(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var want []LayerDefect
			if tt.want != nil {
				want = []LayerDefect{{Layer: 2, Digest: digestOf(t, top), Entries: tt.want, More: tt.more}}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LayerDefects() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFilesErrors(t *testing.T) {
	t.Parallel()
	good := imagetest.Layer(t, reg("lower", "x"))
	valid := imagetest.Gzip(t, imagetest.TarBytes(t, reg("metadata.json", strings.Repeat("metadata ", 10000)), reg("z", "z")))
	corrupt := append(append([]byte{}, valid[:10]...), imagetest.Incompressible(4096, "corrupt")...)
	tests := []struct {
		name string
		top  v1.Layer
		is   error
		// want are substrings of the message.
		want []string
	}{
		{name: "random bytes after a gzip header", top: imagetest.BlobLayer(corrupt), want: []string{"gzip"}},
		{name: "truncated gzip", top: imagetest.BlobLayer(valid[:len(valid)/2]), want: []string{"EOF"}},
		{name: "truncated tar", top: imagetest.BlobLayer(imagetest.TarBytes(t, reg("a", strings.Repeat("a", 2000)), reg("metadata.json", "x"))[:1024])},
		{name: "not a tar", top: imagetest.BlobLayer(bytes.Repeat([]byte("not a tar "), 100))},
		{name: "empty blob", top: imagetest.BlobLayer(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := openImageLayout(t, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{good, tt.top}}))
			_, err := img.Variants[0].Files(context.Background(), Want{Path: "/metadata.json", Max: 100})
			if err == nil {
				t.Fatal("Files() succeeded, want an error")
			}
			want := append([]string{"layer 2", digestOf(t, tt.top).String(), "linux/amd64"}, tt.want...)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Files() error %q does not mention %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Files() error %v is not %v", err, tt.is)
			}
		})
	}
}
