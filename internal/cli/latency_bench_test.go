package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The latency benchmarks check plugins through a registry 20 ms away with
// a 100 MB/s link, and report, per run: bytes read (and as a multiple of
// the minimum of DESIGN section 4), bytes that may have been on the wire
// (every blob whose request reached the registry counted whole, read or
// not: a request sent ahead and closed unread still cost its bytes), requests,
// manifest GETs (Docker Hub counts each as a pull), wall time, and wall
// time as a multiple of a floor: the same minimal requests issued with
// ideal concurrency, that is the longest chain of dependent requests times
// the latency plus the minimal bytes at the link's rate.
//
// DPC_BENCH_LOG=1 prints each run's requests as they reached the registry
// (milliseconds from the start, method, path).
const (
	benchLatency = 20 * time.Millisecond
	benchRate    = 100 << 20
)

// benchRegistry is the registry a latency benchmark checks through.
type benchRegistry struct {
	fast, slow string   // hosts: fast pushes the fixtures, slow is checked
	sizes      sync.Map // blob digest ("sha256:...") -> size
	manifests  atomic.Int64
	wire       atomic.Int64
	mu         sync.Mutex
	start      time.Time
	log        []string
}

// slowRegistry serves one in-process registry twice: fast, to push the
// fixtures, and slow (20 ms, 100 MB/s), to check them. Tag lists come in
// pages of at most pageSize tags.
func slowRegistry(b *testing.B, pageSize int) *benchRegistry {
	b.Helper()
	reg := &benchRegistry{}
	inner := imagetest.Paged(imagetest.RegistryHandler(), pageSize)
	f := httptest.NewServer(inner)
	b.Cleanup(f.Close)
	// Outside the latency: what reached the registry is counted when it
	// arrives (a blob whole), whatever the client does with it later.
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.record(r)
		blob := r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/")
		if blob {
			i := strings.LastIndex(r.URL.Path, "/")
			if n, ok := reg.sizes.Load(r.URL.Path[i+1:]); ok {
				reg.wire.Add(n.(int64))
			}
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
			reg.manifests.Add(1)
		}
		cw := &countingWriter{ResponseWriter: w}
		imagetest.Slow(inner, benchLatency, benchRate).ServeHTTP(cw, r)
		if !blob && r.Method == http.MethodGet {
			reg.wire.Add(cw.n)
		}
	})
	s := httptest.NewServer(count)
	b.Cleanup(s.Close)
	reg.fast, reg.slow = strings.TrimPrefix(f.URL, "http://"), strings.TrimPrefix(s.URL, "http://")
	return reg
}

func (reg *benchRegistry) record(r *http.Request) {
	if os.Getenv("DPC_BENCH_LOG") == "" {
		return
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.log = append(reg.log, fmt.Sprintf("%6.1f %s %s", float64(time.Since(reg.start).Microseconds())/1000, r.Method, r.URL.RequestURI()))
}

// reset starts a run.
func (reg *benchRegistry) reset() {
	reg.mu.Lock()
	reg.start, reg.log = time.Now(), nil
	reg.mu.Unlock()
	reg.manifests.Store(0)
	reg.wire.Store(0)
}

// latencyPlugin is a plugin of the given platforms with layers layers: a
// 16 MiB base, small layers of 16 KiB, and the plugin's files
// (metadata.json, icon, UI, host binaries) in one layer with above small
// layers over it. It returns the index and its cost (the minimum: index,
// manifests, configs, and the layers from the top down to the plugin
// files', shared once). With history, the config says which build step
// made each layer, as BuildKit writes it (small layers: RUN steps; the
// plugin's files: COPY).
func latencyPlugin(b *testing.B, platforms, layers, above int, history bool) (v1.ImageIndex, imageCost) {
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
		below := len(small) - above
		ls := append([]v1.Layer{base}, small[:below]...)
		ls = append(ls, plugin)
		ls = append(ls, small[below:]...)
		spec := imagetest.Spec{Arch: arch, Labels: imagetest.ExtensionLabels(), Layers: ls}
		if history {
			// As BuildKit writes it.
			spec.History = []string{"ADD rootfs.tar.gz / # buildkit"}
			for i := range below {
				spec.History = append(spec.History, fmt.Sprintf("RUN /bin/sh -c make-l%02d > /opt/l%02d # buildkit", i, i))
			}
			spec.History = append(spec.History, "COPY metadata.json docker.svg ui windows darwin linux / # buildkit")
			for i := below; i < len(small); i++ {
				spec.History = append(spec.History, fmt.Sprintf("RUN /bin/sh -c make-l%02d > /opt/l%02d # buildkit", i, i))
			}
		}
		imgs = append(imgs, imagetest.Image(b, spec))
	}
	idx := imagetest.Index(b, imgs...)
	return idx, costOf(b, idx, above+1)
}

func BenchmarkLatency(b *testing.B) {
	for _, tc := range []struct {
		name              string
		platforms, layers int
		above             int // small layers above the plugin's files
		tags, pageSize    int
		noHistory         bool // the config says nothing of the layers' build steps
	}{
		{name: "2 platforms, 5 layers, metadata on top", platforms: 2, layers: 5},
		{name: "2 platforms, 5 layers, metadata at the bottom", platforms: 2, layers: 5, above: 3},
		{name: "4 platforms, 5 layers, metadata on top", platforms: 4, layers: 5},
		{name: "2 platforms, 50 layers, metadata at the bottom", platforms: 2, layers: 50, above: 48},
		{name: "2 platforms, 50 layers, metadata at the bottom, no history", platforms: 2, layers: 50, above: 48, noHistory: true},
		{name: "2 platforms, 50 layers, metadata in the middle", platforms: 2, layers: 50, above: 24},
		{name: "2 platforms, 50 layers, metadata second from the top", platforms: 2, layers: 50, above: 1},
		{name: "2 platforms, 50 layers, metadata in the middle, no history", platforms: 2, layers: 50, above: 24, noHistory: true},
		{name: "2 platforms, 5 layers, 10,000 tags, pages of 1,000", platforms: 2, layers: 5, tags: 10000, pageSize: 1000},
		{name: "2 platforms, 5 layers, 10,000 tags, pages of 100", platforms: 2, layers: 5, tags: 10000, pageSize: 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.pageSize == 0 {
				tc.pageSize = 1000
			}
			reg := slowRegistry(b, tc.pageSize)
			idx, cost := latencyPlugin(b, tc.platforms, tc.layers, tc.above, !tc.noHistory)
			for d, n := range cost.sizes {
				reg.sizes.Store(d.String(), n)
			}
			minimum := cost.minimum
			ref := "/acme/plugin:c"
			imagetest.Push(b, reg.fast+ref, idx)
			args := []string{"--platforms", strings.Join([]string{"linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x"}[:tc.platforms], ",")}
			// Dependent requests: the registry's ping (the auth
			// handshake), HEAD and GET of the index, a manifest, a layer
			// (configs beside it).
			depth := 5
			if tc.tags > 0 {
				manyTags(b, reg.fast, tc.tags)
				args = append(args, "--release", "2.0.0")
				// The history needs the repository only: after the ping it
				// pages the tag list, then reads the highest release
				// (index, manifest, config).
				pages := (tc.tags + 1 + tc.pageSize - 1) / tc.pageSize
				depth = max(depth, 1+pages+3)
				minimum += pagedTagListSize(b, reg.fast, "acme/plugin")
			}
			floor := time.Duration(depth)*benchLatency + time.Duration(float64(minimum)/benchRate*float64(time.Second))
			var bytes, wire, requests, gets int64
			var wall time.Duration
			b.ResetTimer()
			for range b.N {
				reg.reset()
				start := time.Now()
				rep, r := runJSON(b, append(args, reg.slow+ref)...)
				wall += time.Since(start)
				if os.Getenv("DPC_BENCH_LOG") != "" {
					reg.mu.Lock()
					reg.log = append(reg.log, fmt.Sprintf("%6.1f the check ended", float64(time.Since(reg.start).Microseconds())/1000))
					reg.mu.Unlock()
				}
				if r.code == 2 {
					b.Fatalf("exit 2: %s", r.stderr)
				}
				bytes += rep.Stats.Bytes
				requests += rep.Stats.Requests
				gets += reg.manifests.Load()
				// What was sent ahead and closed unread reaches the
				// registry after the run at the latest.
				b.StopTimer()
				time.Sleep(2 * benchLatency)
				wire += reg.wire.Load()
				reg.mu.Lock()
				if len(reg.log) > 0 {
					b.Logf("requests of one run:\n%s", strings.Join(reg.log, "\n"))
				}
				reg.mu.Unlock()
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(bytes)/n, "bytes/op")
			b.ReportMetric(float64(bytes)/n/float64(minimum), "x-minimum")
			b.ReportMetric(float64(wire)/n/float64(minimum), "wire-x-minimum")
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
