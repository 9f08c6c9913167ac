package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The latency benchmarks check plugins through a registry 20 ms away with
// a 100 MB/s link, and report, per run: bytes (and as a multiple of the
// minimum of DESIGN section 4), requests, manifest GETs (Docker Hub counts
// each as a pull), wall time, and wall time as a multiple of a floor: the
// same minimal requests issued with ideal concurrency, that is the longest
// chain of dependent requests times the latency plus the minimal bytes at
// the link's rate.
const (
	benchLatency = 20 * time.Millisecond
	benchRate    = 100 << 20
)

// slowRegistry serves one in-process registry twice: fast, to push the
// fixtures, and slow, to check them. It returns both hosts and a counter
// of the slow one's manifest GETs.
func slowRegistry(b *testing.B) (fast, slow string, manifestGets *atomic.Int64) {
	b.Helper()
	inner := imagetest.Paged(imagetest.RegistryHandler(), 100)
	f := httptest.NewServer(inner)
	b.Cleanup(f.Close)
	manifestGets = &atomic.Int64{}
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
			manifestGets.Add(1)
		}
		inner.ServeHTTP(w, r)
	})
	s := httptest.NewServer(imagetest.Slow(count, benchLatency, benchRate))
	b.Cleanup(s.Close)
	return strings.TrimPrefix(f.URL, "http://"), strings.TrimPrefix(s.URL, "http://"), manifestGets
}

// latencyPlugin is a plugin of the given platforms with layers layers: a
// 16 MiB base, small layers, and the plugin's files (metadata.json, icon,
// UI, host binaries) at the top or just above the base. It returns the
// index and the minimal bytes of reading it (index, manifests, configs,
// and the layers from the top down to the plugin files', shared once).
func latencyPlugin(b *testing.B, platforms, layers int, metadataAtBottom bool) (v1.ImageIndex, int64) {
	b.Helper()
	archs := []string{"amd64", "arm64", "ppc64le", "s390x"}[:platforms]
	meta := `{"icon": "docker.svg", "ui": {"dashboard-tab": {"title": "T", "root": "/ui", "src": "index.html"}},
  "host": {"binaries": [{"windows": [{"path": "/windows/tool.cmd"}], "darwin": [{"path": "/darwin/tool"}], "linux": [{"path": "/linux/tool"}]}]}}`
	var imgs []v1.Image
	for _, arch := range archs {
		base := imagetest.Layer(b, imagetest.File{Path: "base/blob", Body: string(imagetest.Incompressible(16<<20, arch))})
		plugin := imagetest.Layer(b, imagetest.PluginFiles(meta)...)
		var small []v1.Layer
		for i := range layers - 2 {
			small = append(small, imagetest.Layer(b, imagetest.File{Path: fmt.Sprintf("opt/l%02d", i), Body: string(imagetest.Incompressible(16<<10, arch+fmt.Sprint(i)))}))
		}
		ls := append([]v1.Layer{base}, small...)
		ls = append(ls, plugin)
		if metadataAtBottom {
			ls = append([]v1.Layer{base, plugin}, small...)
		}
		imgs = append(imgs, imagetest.Image(b, imagetest.Spec{Arch: arch, Labels: imagetest.ExtensionLabels(), Layers: ls}))
	}
	idx := imagetest.Index(b, imgs...)
	wanted := 1
	if metadataAtBottom {
		wanted = layers - 1
	}
	return idx, costOf(b, idx, wanted).minimum
}

func BenchmarkLatency(b *testing.B) {
	for _, tc := range []struct {
		name              string
		platforms, layers int
		metadataAtBottom  bool
		tags              int
	}{
		{name: "2 platforms, 5 layers, metadata on top", platforms: 2, layers: 5},
		{name: "2 platforms, 5 layers, metadata at the bottom", platforms: 2, layers: 5, metadataAtBottom: true},
		{name: "4 platforms, 5 layers, metadata on top", platforms: 4, layers: 5},
		{name: "2 platforms, 50 layers, metadata at the bottom", platforms: 2, layers: 50, metadataAtBottom: true},
		{name: "2 platforms, 5 layers, 10,000 tags", platforms: 2, layers: 5, tags: 10000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			fast, slow, manifests := slowRegistry(b)
			idx, minimum := latencyPlugin(b, tc.platforms, tc.layers, tc.metadataAtBottom)
			ref := "/acme/plugin:c"
			imagetest.Push(b, fast+ref, idx)
			args := []string{"--platforms", strings.Join([]string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x"}[:tc.platforms], ",")}
			// Dependent requests: the registry's ping (the auth
			// handshake), HEAD and GET of the index, a manifest, a layer
			// (configs beside it).
			depth := 5
			if tc.tags > 0 {
				manyTags(b, fast, tc.tags)
				args = append(args, "--release", "2.0.0")
				// The history starts from the labels (ping, index,
				// manifest, config), pages the tag list, then reads the
				// highest release (index, manifest, config).
				depth = 4 + (tc.tags+1+99)/100 + 3
				minimum += pagedTagListSize(b, fast, "acme/plugin")
			}
			floor := time.Duration(depth)*benchLatency + time.Duration(float64(minimum)/benchRate*float64(time.Second))
			var bytes, requests, gets int64
			var wall time.Duration
			b.ResetTimer()
			for range b.N {
				manifests.Store(0)
				start := time.Now()
				rep, r := runJSON(b, append(args, slow+ref)...)
				wall += time.Since(start)
				if r.code == 2 {
					b.Fatalf("exit 2: %s", r.stderr)
				}
				bytes += rep.Stats.Bytes
				requests += rep.Stats.Requests
				gets += manifests.Load()
			}
			n := float64(b.N)
			b.ReportMetric(float64(bytes)/n, "bytes/op")
			b.ReportMetric(float64(bytes)/n/float64(minimum), "x-minimum")
			b.ReportMetric(float64(requests)/n, "requests/op")
			b.ReportMetric(float64(gets)/n, "manifest-gets/op")
			b.ReportMetric(wall.Seconds()/n, "wall-s/op")
			b.ReportMetric(wall.Seconds()/n/floor.Seconds(), "x-floor")
		})
	}
}

// pagedTagListSize is the size of every page of repo's tag list, following
// the registry's Link headers.
func pagedTagListSize(b *testing.B, host, repo string) int64 {
	b.Helper()
	var total int64
	next := "/v2/" + repo + "/tags/list"
	for next != "" {
		resp, err := http.Get("http://" + host + next)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		total += n
		next = ""
		if l := resp.Header.Get("Link"); strings.HasPrefix(l, "<") {
			next = l[1:strings.Index(l, ">")]
		}
	}
	return total
}
