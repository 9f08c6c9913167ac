package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
)

// longNamesTar writes a tar of the headers (PAX records for long names);
// a regular file of size 2 holds "{}".
func longNamesTar(t *testing.T, headers ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range headers {
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("writing header of %d-byte name: %v", len(h.Name), err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte("{}")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// whiteout is a manyNames type flag for whiteout entries.
const whiteout = 'w'

// manyNames returns n headers below dir whose names are size bytes, with
// type flag typ (or whiteouts).
func manyNames(n, size int, dir string, typ byte) []*tar.Header {
	out := make([]*tar.Header, n)
	for i := range out {
		base, flag := fmt.Sprintf("%06d-", i), typ
		if typ == whiteout {
			base, flag = ".wh."+base, tar.TypeReg
		}
		h := &tar.Header{Name: dir + "/" + base + strings.Repeat("n", size-len(dir)-len(base)-1), Typeflag: flag}
		if flag == tar.TypeSymlink {
			h.Linkname = "/metadata.json"
		}
		out[i] = h
	}
	return out
}

// retainedNameBytes counts the name bytes a scan's index holds.
func retainedNameBytes(s *layerScan) (n int64, longest int) {
	note := func(p string) {
		n += int64(len(p))
		longest = max(longest, len(p))
	}
	for p, e := range s.entries {
		note(p)
		n += int64(len(e.linkname) + len(e.hardlink))
		longest = max(longest, len(e.linkname), len(e.hardlink))
	}
	for p := range s.whiteouts {
		note(p)
	}
	for p := range s.opaque {
		note(p)
	}
	return n, longest
}

func TestReadLayerNameBytesBounded(t *testing.T) {
	t.Parallel()
	metadata := &tar.Header{Name: "metadata.json", Typeflag: tar.TypeReg, Size: 2}
	huge := 600 << 10                          // a PAX name past PATH_MAX, under tar's 1 MiB limit
	pastCap := maxIndexedNameBytes/4000 + 1000 // 4000-byte names: indexable, together past the cap
	hugeCount := maxIndexedNameBytes/huge + 10 // huge names: together past the cap
	wantMetadata := map[string]spec{"/metadata.json": {max: 10}}
	tests := []struct {
		name    string
		headers []*tar.Header
		capture map[string]spec
		want    scanView
	}{
		{name: "indexable names past the byte cap",
			headers: append(manyNames(pastCap, 4000, "junk", tar.TypeReg), metadata),
			capture: wantMetadata, want: scanView{Metadata: "{}"}},
		{name: "names past PATH_MAX",
			headers: append(manyNames(hugeCount, huge, "junk", tar.TypeReg), metadata),
			capture: wantMetadata, want: scanView{FullIndex: true, Complete: true, Metadata: "{}"}},
		{name: "symlinks with names past PATH_MAX",
			headers: append(manyNames(hugeCount, huge, "junk", tar.TypeSymlink), metadata),
			capture: wantMetadata, want: scanView{FullIndex: true, Complete: true, Metadata: "{}"}},
		{name: "whiteouts of names past PATH_MAX are ignored",
			headers: append(manyNames(hugeCount, huge, "junk", whiteout), metadata),
			capture: wantMetadata, want: scanView{FullIndex: true, Complete: true, Metadata: "{}"}},
		{name: "link targets past PATH_MAX",
			headers: append([]*tar.Header{
				{Name: "junk/link", Typeflag: tar.TypeSymlink, Linkname: strings.Repeat("t", huge)},
				{Name: "junk/hard", Typeflag: tar.TypeLink, Linkname: strings.Repeat("t", huge)},
			}, metadata),
			capture: wantMetadata, want: scanView{FullIndex: true, Complete: true, Metadata: "{}",
				LongLinks: []string{"/junk/hard", "/junk/link"}}},
		{name: "long name that cleans to a wanted path",
			headers: []*tar.Header{{Name: strings.Repeat("x/../", 2000) + "metadata.json", Typeflag: tar.TypeReg, Size: 2}},
			capture: wantMetadata, want: scanView{FullIndex: true, Complete: true, Metadata: "{}"}},
		{name: "wanted tree of names past the byte cap",
			headers: append(manyNames(pastCap, 4000, "junk", tar.TypeReg), metadata),
			capture: map[string]spec{"/junk": {tree: true}}, want: scanView{Err: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := longNamesTar(t, tt.headers...)
			s, err := readLayer(context.Background(), bytes.NewReader(raw), false, tt.capture)
			got := scanView{Err: err != nil}
			if err == nil {
				got.FullIndex, got.Complete, got.Metadata = s.fullIndex, s.complete, string(s.content["/metadata.json"])
				for p, e := range s.entries {
					if e.longLink {
						got.LongLinks = append(got.LongLinks, p)
					}
				}
				sort.Strings(got.LongLinks)
				n, longest := retainedNameBytes(s)
				if n > maxIndexedNameBytes {
					t.Errorf("index holds %d bytes of names, above the %d byte cap", n, maxIndexedNameBytes)
				}
				if n != s.indexBytes {
					t.Errorf("indexBytes = %d, but the index holds %d bytes of names", s.indexBytes, n)
				}
				if longest > maxIndexableName {
					t.Errorf("index holds a %d-byte name, above %d", longest, maxIndexableName)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readLayer() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// scanView is what TestReadLayerNameBytesBounded compares of a layerScan.
type scanView struct {
	Err       bool
	FullIndex bool
	Complete  bool
	Metadata  string
	LongLinks []string
}

// TestFilesLongLinkTargets checks that a link whose target is too long to
// keep still hides what lower layers hold at its path.
func TestFilesLongLinkTargets(t *testing.T) {
	t.Parallel()
	long := "/" + strings.Repeat("t", maxIndexableName+1)
	problem := fmt.Sprintf("link target longer than %d bytes", maxIndexableName)
	img := openImageLayout(t, imageOf(t,
		[]imagetest.File{
			{Path: "metadata.json", Body: "lower"},
			imagetest.Dir("ui"), {Path: "ui/index.html", Body: "lower"},
		},
		[]imagetest.File{
			imagetest.Symlink("metadata.json", long),
			imagetest.Symlink("ui", long),
			{Path: "hard", Type: tar.TypeLink, Linkname: long},
		},
	))
	v := img.Variants[0]
	tests := []struct {
		name string
		want Want
		view fileView
	}{
		{name: "followed", want: Want{Path: "/metadata.json", Max: 100},
			view: fileView{Kind: Missing, Resolved: "/metadata.json", Problem: true}},
		{name: "not followed", want: Want{Path: "/metadata.json", NoFollow: true},
			view: fileView{Kind: Symlink, Resolved: "/metadata.json", Problem: true}},
		{name: "through a symlinked directory", want: Want{Path: "/ui/index.html", Max: 100},
			view: fileView{Kind: Missing, Resolved: "/ui/index.html", Problem: true}},
		{name: "hard link", want: Want{Path: "/hard", Max: 100},
			view: fileView{Kind: Missing, Resolved: "/hard", Problem: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files, err := v.Files(context.Background(), tt.want)
			if err != nil {
				t.Fatal(err)
			}
			f := files[tt.want.Path]
			if diff := cmp.Diff(tt.view, viewOf(f)); diff != "" {
				t.Errorf("Files(%s) mismatch (-want +got):\n%s", tt.want.Path, diff)
			}
			if f.Problem != problem {
				t.Errorf("Files(%s).Problem = %q, want %q", tt.want.Path, f.Problem, problem)
			}
		})
	}
}
