package image

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// pluginParts are the digests and sizes of what imagetest.Plugin pushed.
type pluginParts struct {
	index                       v1.Hash
	indexSize                   int64
	manifests, configs          []v1.Hash
	manifestsSize, configsSize  int64
	base, backend, top          []v1.Hash
	baseSize, topSize, allBlobs int64
}

func partsOf(t testing.TB, idx v1.ImageIndex) pluginParts {
	t.Helper()
	var p pluginParts
	raw, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	p.indexSize = int64(len(raw))
	if p.index, err = idx.Digest(); err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[v1.Hash]int64{}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		p.manifests = append(p.manifests, d.Digest)
		p.manifestsSize += d.Size
		cd, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		p.configs = append(p.configs, cd)
		p.configsSize += int64(len(rc))
		blobs[cd] = int64(len(rc))
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range layers {
			d := digestOf(t, l)
			blobs[d] = sizeOf(t, l)
			switch i {
			case 0:
				p.base = append(p.base, d)
				p.baseSize += sizeOf(t, l)
			case 1:
				p.backend = append(p.backend, d)
			case len(layers) - 1:
				if !containsHash(p.top, d) {
					p.topSize += sizeOf(t, l)
				}
				p.top = append(p.top, d)
			}
		}
	}
	for _, n := range blobs {
		p.allBlobs += n
	}
	p.allBlobs += p.indexSize + p.manifestsSize
	return p
}

func containsHash(hs []v1.Hash, h v1.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// blobGets returns the digests of the blobs fetched, with how often.
func blobGets(rec *imagetest.Recorder) map[string]int {
	out := map[string]int{}
	for _, r := range rec.Requests() {
		if m, p, _ := strings.Cut(r, " "); m == "GET" && strings.Contains(p, "/blobs/") {
			out[p[strings.LastIndex(p, "/")+1:]]++
		}
	}
	return out
}

func pushPlugin(t *testing.T, baseSize int) (string, pluginParts) {
	t.Helper()
	host := imagetest.Registry(t)
	idx := imagetest.Plugin(t, imagetest.PluginLabels(), imagetest.PluginMetadata, baseSize)
	imagetest.Push(t, host+"/acme/plugin:1.0.0", idx)
	return host + "/acme/plugin:1.0.0", partsOf(t, idx)
}

func TestCostLabelsReadNoLayer(t *testing.T) {
	t.Parallel()
	ref, parts := pushPlugin(t, 1<<20)
	rec := &imagetest.Recorder{}
	img := openSource(t, ref, Options{Transport: rec})
	ctx := context.Background()
	for _, v := range img.Variants {
		if _, err := v.Config(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Labels(ctx); err != nil { // memoised: no new request
			t.Fatal(err)
		}
	}
	var want []string
	want = append(want, "GET /v2/", "HEAD /v2/acme/plugin/manifests/1.0.0", "GET /v2/acme/plugin/manifests/"+parts.index.String())
	for i := range parts.manifests {
		want = append(want, "GET /v2/acme/plugin/manifests/"+parts.manifests[i].String(), "GET /v2/acme/plugin/blobs/"+parts.configs[i].String())
	}
	var got []string
	for _, r := range rec.Requests() {
		if len(got) > 0 && r == "GET /v2/" && got[len(got)-1] == r {
			continue // go-containerregistry pings https and http at once for loopback registries
		}
		got = append(got, r)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
	// Only answered requests count: the https ping to a loopback registry
	// gets no answer.
	if n := img.Stats().Requests(); n != int64(len(got)) {
		t.Errorf("Stats().Requests() = %d, want %d", n, len(got))
	}
	min := parts.indexSize + parts.manifestsSize + parts.configsSize
	if b := img.Stats().Bytes(); b < min || b > min+256 {
		t.Errorf("Stats().Bytes() = %d, want %d (index, manifests and configs) and a little for pings", b, min)
	}
}

func TestCostMetadataStopsAtTopLayer(t *testing.T) {
	t.Parallel()
	ref, parts := pushPlugin(t, 1<<20)
	rec := &imagetest.Recorder{}
	tmp := t.TempDir()
	img := openSource(t, ref, Options{Transport: rec, TempDir: tmp})
	img.scans.memBlob = 0 // every copy a file, to be seen
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, v := range img.Variants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			files, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20})
			if err != nil {
				t.Error(err)
				return
			}
			if got := string(files["/metadata.json"].Data); got != imagetest.PluginMetadata {
				t.Errorf("%s: metadata.json = %q", v.PlatformString(), got)
			}
		}()
	}
	wg.Wait()
	gets := blobGets(rec)
	want := map[string]int{}
	for _, d := range parts.top {
		want[d.String()] = 1 // shared by both variants: fetched once
	}
	if diff := cmp.Diff(want, gets); diff != "" {
		t.Errorf("blob GETs mismatch (-want +got):\n%s", diff)
	}
	if len(parts.top) != 2 || parts.top[0] != parts.top[1] {
		t.Fatalf("test plugin's variants do not share their top layer: %v", parts.top)
	}
	budget := parts.indexSize + parts.manifestsSize + parts.configsSize + parts.topSize + 256
	if b := img.Stats().Bytes(); b > budget || b > parts.baseSize/8 {
		t.Errorf("Stats().Bytes() = %d, want at most %d (base layers are %d)", b, budget, parts.baseSize)
	}

	// Another path of the top layer comes from memory or the spool.
	before, beforeBytes := len(rec.Requests()), img.Stats().Bytes()
	for _, v := range img.Variants {
		files, err := v.Files(ctx, Want{Path: "/ui/index.html", Max: 100}, Want{Path: "/metadata.json", Max: 1 << 20}, Want{Path: "/docker.svg"})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(files["/ui/index.html"].Data); got != "<html></html>" {
			t.Errorf("%s: /ui/index.html = %q", v.PlatformString(), got)
		}
	}
	if after := rec.Requests(); len(after) != before {
		t.Errorf("second Files calls sent %v, want no request", after[before:])
	}
	if b := img.Stats().Bytes(); b != beforeBytes {
		t.Errorf("second Files calls read %d bytes, want none", b-beforeBytes)
	}

	// The spool lives in TempDir and goes with Close.
	spooled, err := filepath.Glob(filepath.Join(tmp, "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(spooled) == 0 {
		t.Errorf("nothing spooled in %s", tmp)
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Close left %v in %s", left, tmp)
	}
	// A closed image writes nothing more.
	if _, err := img.Variants[0].Files(ctx, Want{Path: "/backend/service", Max: 100}); err == nil {
		t.Errorf("Files() after Close succeeded, want an error")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("Files() after Close left %v in %s", left, tmp)
	}
}

func TestCostLowerLayersWhenNeeded(t *testing.T) {
	t.Parallel()
	ref, parts := pushPlugin(t, 64<<10)
	rec := &imagetest.Recorder{}
	img := openSource(t, ref, Options{Transport: rec})
	v := img.Variants[1]
	files, err := v.Files(context.Background(), Want{Path: "/backend/service", Max: 100}, Want{Path: "/bin/busybox-arm64", Max: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["/backend/service"].Data); got != "backend for arm64" {
		t.Errorf("/backend/service = %q", got)
	}
	if f := files["/bin/busybox-arm64"]; f.Size != 64<<10 || len(f.Data) != 4 || !f.Truncated {
		t.Errorf("/bin/busybox-arm64 = %+v, want 4 bytes of %d", viewOf(f), 64<<10)
	}
	want := map[string]int{parts.configs[1].String(): 0, parts.top[1].String(): 1, parts.backend[1].String(): 1, parts.base[1].String(): 1}
	delete(want, parts.configs[1].String()) // Files reads no config
	if diff := cmp.Diff(want, blobGets(rec)); diff != "" {
		t.Errorf("blob GETs mismatch (-want +got):\n%s", diff)
	}
}

func TestCostEarlyStop(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	big := imagetest.CompressedLayer(t,
		reg("metadata.json", imagetest.PluginMetadata),
		reg("big", string(imagetest.Incompressible(2*earlyStopMin, "big"))),
		reg("late", "late"))
	small := imagetest.CompressedLayer(t, reg("small", string(imagetest.Incompressible(earlyStopMin/2, "small"))), reg("after", "after"))
	ref := host + "/acme/big:1.0.0"
	imagetest.Push(t, ref, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{small, big}}))
	rec := &imagetest.Recorder{}
	img := openSource(t, ref, Options{Transport: rec})
	v := img.Variants[0]
	ctx := context.Background()
	start := img.Stats().Bytes()
	files, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["/metadata.json"].Data); got != imagetest.PluginMetadata {
		t.Errorf("metadata.json = %q", got)
	}
	if read := img.Stats().Bytes() - start; read > earlyStopMin/4 {
		t.Errorf("reading metadata.json from a %d byte layer read %d bytes, want an early stop", sizeOf(t, big), read)
	}

	// A path after the stop resumes the download: the part already
	// fetched comes from the spool, the rest from the stream held open.
	files, err = v.Files(ctx, Want{Path: "/late", Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["/late"].Data); got != "late" {
		t.Errorf("late = %q, want %q", got, "late")
	}
	if n := blobGets(rec)[digestOf(t, big).String()]; n != 1 {
		t.Errorf("big layer fetched %d times, want 1", n)
	}
	if read, size := img.Stats().Bytes()-start, sizeOf(t, big); read > size+size/50 {
		t.Errorf("read %d bytes for a %d byte layer: the resumed read fetched it again", read, size)
	}
	// And once whole, a third question is answered from the spool.
	before := img.Stats().Bytes()
	if _, err := v.Files(ctx, Want{Path: "/big", Max: 16}); err != nil {
		t.Fatal(err)
	}
	if n := blobGets(rec)[digestOf(t, big).String()]; n != 1 || img.Stats().Bytes() != before {
		t.Errorf("a third read fetched %d times, %d more bytes", n, img.Stats().Bytes()-before)
	}
	if n := blobGets(rec)[digestOf(t, small).String()]; n != 0 {
		t.Errorf("small layer below fetched %d times, want 0", n)
	}
}

func TestCostTree(t *testing.T) {
	t.Parallel()
	ref, parts := pushPlugin(t, 64<<10)
	rec := &imagetest.Recorder{}
	img := openSource(t, ref, Options{Transport: rec})
	ctx := context.Background()
	v := img.Variants[0]
	if _, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 100}); err != nil {
		t.Fatal(err)
	}
	// Listing a directory reads every layer below that may add to it; each
	// blob is still fetched once, and asking again costs nothing.
	for range 2 {
		files, err := v.Files(ctx, Want{Path: "/ui", Tree: true}, Want{Path: "/bin", Tree: true})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]Entry{
			"/ui":  {{Path: "/ui/index.html", Kind: Regular}},
			"/bin": {{Path: "/bin/busybox-amd64", Kind: Regular}},
		}
		got := map[string][]Entry{"/ui": files["/ui"].Tree, "/bin": files["/bin"].Tree}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("trees mismatch (-want +got):\n%s", diff)
		}
	}
	want := map[string]int{parts.top[0].String(): 1, parts.backend[0].String(): 1, parts.base[0].String(): 1}
	if diff := cmp.Diff(want, blobGets(rec)); diff != "" {
		t.Errorf("blob GETs mismatch (-want +got):\n%s", diff)
	}
}

func TestTreeAfterEarlyStop(t *testing.T) {
	t.Parallel()
	big := imagetest.CompressedLayer(t,
		imagetest.Dir("ui"), reg("metadata.json", "{}"), reg("ui/a.html", "a"),
		reg("big", string(imagetest.Incompressible(earlyStopMin+1<<20, "big"))), reg("ui/z.html", "z"))
	if sizeOf(t, big) < earlyStopMin {
		t.Fatalf("test layer is %d bytes, below earlyStopMin", sizeOf(t, big))
	}
	img := openImageLayout(t, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{big}}))
	v := img.Variants[0]
	ctx := context.Background()
	if _, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 10}); err != nil {
		t.Fatal(err)
	}
	files, err := v.Files(ctx, Want{Path: "/ui", Tree: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{Path: "/ui/a.html", Kind: Regular}, {Path: "/ui/z.html", Kind: Regular}}
	if diff := cmp.Diff(want, files["/ui"].Tree); diff != "" {
		t.Errorf("tree after an early stop mismatch (-want +got):\n%s", diff)
	}
}

func TestCostLocalSourcesWriteNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	idx := imagetest.Plugin(t, imagetest.PluginLabels(), imagetest.PluginMetadata, 64<<10)
	imagetest.WriteLayout(t, dir, idx, "")
	tmp := t.TempDir()
	img := openSource(t, "oci:"+dir, Options{TempDir: tmp})
	for _, v := range img.Variants {
		if _, err := v.Files(context.Background(), Want{Path: "/metadata.json", Max: 100}, Want{Path: "/backend/service", Max: 100}); err != nil {
			t.Fatal(err)
		}
	}
	var left []string
	filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if p != tmp {
			left = append(left, p)
		}
		return nil
	})
	sort.Strings(left)
	if len(left) != 0 {
		t.Errorf("reading a local layout wrote %v", left)
	}
	if img.Stats().Requests() != 0 {
		t.Errorf("Stats().Requests() = %d for a local layout, want 0", img.Stats().Requests())
	}
}

// staleOnce breaks the first response for a path after limit bytes, as an
// idle connection the registry closed would.
type staleOnce struct {
	inner http.RoundTripper
	path  string
	limit int64
	done  atomic.Bool
}

func (s *staleOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.inner.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, s.path) || s.done.Swap(true) {
		return resp, err
	}
	resp.Body = &breakAfter{ReadCloser: resp.Body, left: s.limit}
	return resp, nil
}

type breakAfter struct {
	io.ReadCloser
	left int64
}

func (b *breakAfter) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// TestCostEarlyStopStaleStream: when the stream held open after an early
// stop has gone stale, the later read fetches the blob afresh, once.
func TestCostEarlyStopStaleStream(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	big := imagetest.CompressedLayer(t,
		reg("metadata.json", imagetest.PluginMetadata),
		reg("big", string(imagetest.Incompressible(2*earlyStopMin, "big"))),
		reg("late", "late"))
	ref := host + "/acme/big:1.0.0"
	imagetest.Push(t, ref, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{big}}))
	rec := &imagetest.Recorder{Inner: &staleOnce{inner: http.DefaultTransport, path: digestOf(t, big).String(), limit: 1 << 20}}
	img := openSource(t, ref, Options{Transport: rec})
	v := img.Variants[0]
	ctx := context.Background()
	if _, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	files, err := v.Files(ctx, Want{Path: "/late", Max: 100})
	if err != nil {
		t.Fatalf("resuming over a stale stream: %v", err)
	}
	if got := string(files["/late"].Data); got != "late" {
		t.Errorf("late = %q", got)
	}
	if n := blobGets(rec)[digestOf(t, big).String()]; n != 2 {
		t.Errorf("big layer fetched %d times, want 2 (the stale stream, then afresh)", n)
	}
}
