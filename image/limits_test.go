package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// tagRegistry is a registry that answers the ping and the tag list of
// acme/plugin only, calling page for the nth tag-list request (from 1), and
// fails the test on any other request.
type tagRegistry struct {
	host  string
	pages atomic.Int64
	// written counts the bytes page handlers wrote.
	written atomic.Int64
}

func newTagRegistry(t *testing.T, page func(w io.Writer, h http.Header, n int64)) *tagRegistry {
	t.Helper()
	reg := &tagRegistry{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodGet && r.URL.Path == "/v2/acme/plugin/tags/list":
			n := reg.pages.Add(1)
			w.Header().Set("Content-Type", "application/json")
			page(&countingWriter{w: w, n: &reg.written}, w.Header(), n)
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			http.Error(w, "unexpected", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	reg.host = strings.TrimPrefix(srv.URL, "http://")
	return reg
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// nextPage sets the Link header to the page after n.
func nextPage(h http.Header, n int64) {
	h.Set("Link", fmt.Sprintf(`</v2/acme/plugin/tags/list?n=1000&last=p%d>; rel="next"`, n))
}

// endlessTags writes a tag list that does not end before limit bytes.
func endlessTags(w io.Writer, limit int) {
	chunk := []byte(strings.Repeat(`,"1.0.0"`, 8<<10))
	if _, err := io.WriteString(w, `{"name":"acme/plugin","tags":["1.0.0"`); err != nil {
		return
	}
	for written := 0; written < limit; written += len(chunk) {
		if _, err := w.Write(chunk); err != nil {
			return // the client hung up
		}
	}
}

func listTags(t *testing.T, host string) ([]string, *Stats, error) {
	t.Helper()
	stats := &Stats{}
	repo, err := OpenRepository(context.Background(), host+"/acme/plugin", Options{}, stats)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := repo.Tags(context.Background())
	return tags, stats, err
}

// wantTagLimit checks that err is a *TagLimitError for limit.
func wantTagLimit(t *testing.T, err error, limit string, tags int) {
	t.Helper()
	var lim *TagLimitError
	if !errors.As(err, &lim) {
		t.Fatalf("Tags() error = %v, want a *TagLimitError (%s)", err, limit)
	}
	if lim.Limit != limit || lim.Tags != tags {
		t.Errorf("Tags() error = %+v, want limit %q with %d tags", lim, limit, tags)
	}
}

// TestTagsEndlessBody: a tag list that never ends is read up to the page
// limit, and reading it allocates a bounded amount. Not parallel, so that
// the allocation count is this test's own.
func TestTagsEndlessBody(t *testing.T) {
	reg := newTagRegistry(t, func(w io.Writer, _ http.Header, _ int64) { endlessTags(w, 4*maxTagPageBytes) })
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tags, stats, err := listTags(t, reg.host)
	runtime.ReadMemStats(&after)
	wantTagLimit(t, err, TagLimitPageBytes, 0)
	if len(tags) != 0 {
		t.Errorf("Tags() returned %d tags of an unfinished page, want none", len(tags))
	}
	const slack = 1 << 20
	if got := stats.Bytes(); got > maxTagPageBytes+slack {
		t.Errorf("Tags() read %d bytes, want at most %d (the page limit)", got, maxTagPageBytes+slack)
	}
	// The JSON decoder's buffer doubles while a page is read: about four
	// times the page allocated in all, at most three times live.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 5*maxTagPageBytes {
		t.Errorf("Tags() allocated %d bytes, want at most %d", alloc, 5*maxTagPageBytes)
	}
	if got := reg.pages.Load(); got != 1 {
		t.Errorf("Tags() asked for %d pages, want 1", got)
	}
}

func TestTagsLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		page func(w io.Writer, h http.Header, n int64)
		// wantLimit is the limit hit, "" for none.
		wantLimit string
		wantTags  int
		wantPages int64
		// maxBytes bounds what the listing reads.
		maxBytes int64
		// want are the tags, when given.
		want []string
	}{
		{
			name: "endless pagination stops at the page limit",
			page: func(w io.Writer, h http.Header, n int64) {
				if n < maxTagPages+500 {
					nextPage(h, n)
				}
				fmt.Fprintf(w, `{"name":"acme/plugin","tags":["p%d"]}`, n)
			},
			wantLimit: TagLimitPages, wantTags: maxTagPages, wantPages: maxTagPages,
		},
		{
			name: "too many tags stop at the tag limit",
			page: func(w io.Writer, h http.Header, n int64) {
				if n < 300 {
					nextPage(h, n)
				}
				io.WriteString(w, `{"name":"acme/plugin","tags":[`)
				for i := range 1000 {
					if i > 0 {
						io.WriteString(w, ",")
					}
					fmt.Fprintf(w, `"%d.%d.0"`, n, i)
				}
				io.WriteString(w, "]}")
			},
			wantLimit: TagLimitTags, wantTags: maxTags, wantPages: maxTags / 1000,
		},
		{
			name: "padded pages stop at the listing's byte limit",
			page: func(w io.Writer, h http.Header, n int64) {
				if n < 10 {
					nextPage(h, n)
				}
				fmt.Fprintf(w, `{"name":"acme/plugin","tags":["p%d"]%s}`, n, strings.Repeat(" ", maxTagPageBytes-64))
			},
			wantLimit: TagLimitBytes, wantTags: maxTagListBytes / maxTagPageBytes,
			wantPages: maxTagListBytes/maxTagPageBytes + 1, maxBytes: maxTagListBytes + 1<<20,
		},
		{
			name: "invalid tags are dropped",
			page: func(w io.Writer, _ http.Header, _ int64) {
				fmt.Fprintf(w, `{"name":"acme/plugin","tags":["1.0.0","%s","bad tag","-x",".x","","v2_0.1-rc"]}`, strings.Repeat("x", 1<<20))
			},
			wantTags: 2, wantPages: 1, want: []string{"1.0.0", "v2_0.1-rc"},
		},
		{
			name: "a tag at the length limit is kept",
			page: func(w io.Writer, _ http.Header, _ int64) {
				fmt.Fprintf(w, `{"name":"acme/plugin","tags":["%s","%s"]}`, strings.Repeat("x", 128), strings.Repeat("y", 129))
			},
			wantTags: 1, wantPages: 1, want: []string{strings.Repeat("x", 128)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := newTagRegistry(t, tt.page)
			tags, stats, err := listTags(t, reg.host)
			if tt.wantLimit != "" {
				wantTagLimit(t, err, tt.wantLimit, tt.wantTags)
			} else if err != nil {
				t.Fatalf("Tags(): %v", err)
			}
			if len(tags) != tt.wantTags {
				t.Errorf("Tags() returned %d tags, want %d", len(tags), tt.wantTags)
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, tags); diff != "" {
					t.Errorf("Tags() mismatch (-want +got):\n%s", diff)
				}
			}
			if got := reg.pages.Load(); got != tt.wantPages {
				t.Errorf("Tags() asked for %d pages, want %d", got, tt.wantPages)
			}
			if tt.maxBytes > 0 && stats.Bytes() > tt.maxBytes {
				t.Errorf("Tags() read %d bytes, want at most %d", stats.Bytes(), tt.maxBytes)
			}
		})
	}
}

func TestTagLimitErrorMessage(t *testing.T) {
	t.Parallel()
	err := &TagLimitError{Repository: "registry.example/acme/plugin", Limit: TagLimitPages, Max: maxTagPages, Tags: 1000}
	want := "listing the tags of registry.example/acme/plugin stopped after 1000 tags: above the limit of 1000 pages"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// indexRegistry serves one raw index as acme/plugin:1.0.0 (and by digest),
// and answers 404 to anything else, counting requests in flight.
type indexRegistry struct {
	host               string
	digest             v1.Hash
	requests, inflight atomic.Int64
	maxInflight        atomic.Int64
	others             atomic.Int64 // requests for anything but the index
}

func newIndexRegistry(t *testing.T, raw []byte) *indexRegistry {
	t.Helper()
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	reg := &indexRegistry{digest: h}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reg.requests.Add(1)
		n := reg.inflight.Add(1)
		defer reg.inflight.Add(-1)
		for m := reg.maxInflight.Load(); n > m && !reg.maxInflight.CompareAndSwap(m, n); m = reg.maxInflight.Load() {
		}
		switch r.URL.Path {
		case "/v2/":
			return
		case "/v2/acme/plugin/manifests/1.0.0", "/v2/acme/plugin/manifests/" + h.String():
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			w.Header().Set("Docker-Content-Digest", h.String())
			w.Header().Set("Content-Length", fmt.Sprint(len(raw)))
			if r.Method == http.MethodGet {
				w.Write(raw)
			}
			return
		}
		reg.others.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	reg.host = strings.TrimPrefix(srv.URL, "http://")
	return reg
}

// bigIndex is an index of n platform entries (each a distinct platform and
// digest) and attestations attestation entries, written compactly.
func bigIndex(t testing.TB, n, attestations int) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`)
	for i := range n + attestations {
		if i > 0 {
			b.WriteByte(',')
		}
		platform := fmt.Sprintf(`{"architecture":"a%d","os":"linux"}`, i)
		annotations := ""
		if i >= n {
			platform = `{"architecture":"unknown","os":"unknown"}`
			annotations = `,"annotations":{"vnd.docker.reference.type":"attestation-manifest"}`
		}
		fmt.Fprintf(&b, `{"digest":"sha256:%064x","size":1,"platform":%s%s}`, i, platform, annotations)
	}
	b.WriteString("]}")
	if b.Len() > maxManifestSize {
		t.Fatalf("index of %d entries is %d bytes, above maxManifestSize", n+attestations, b.Len())
	}
	return b.Bytes()
}

func TestOpenIndexVariantLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                    string
		platforms, attestations int
		wantErr                 string
	}{
		{name: "55,000 platform entries", platforms: 55000,
			wantErr: fmt.Sprintf("has 55000 platform entries, above the limit of %d", maxVariants)},
		{name: "one above the limit", platforms: maxVariants + 1,
			wantErr: fmt.Sprintf("has %d platform entries, above the limit of %d", maxVariants+1, maxVariants)},
		{name: "at the limit, attestations aside", platforms: maxVariants, attestations: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := newIndexRegistry(t, bigIndex(t, tt.platforms, tt.attestations))
			goroutines := runtime.NumGoroutine()
			img, err := Open(context.Background(), reg.host+"/acme/plugin:1.0.0", Options{TempDir: t.TempDir()})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open(): %v", err)
				}
				defer img.Close()
				if len(img.Variants) != tt.platforms || len(img.Skipped) != tt.attestations {
					t.Errorf("Open() found %d variants and skipped %d, want %d and %d", len(img.Variants), len(img.Skipped), tt.platforms, tt.attestations)
				}
				return
			}
			if err == nil {
				n := len(img.Variants)
				img.Close()
				t.Fatalf("Open() succeeded with %d variants, want an error", n)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open() error %q does not mention %q", err, tt.wantErr)
			}
			// Ping, HEAD and GET of the index: nothing per entry.
			if got := reg.requests.Load(); got > 3 {
				t.Errorf("Open() sent %d requests, want at most 3", got)
			}
			if got := reg.others.Load(); got != 0 {
				t.Errorf("Open() fetched %d entries of the index, want none", got)
			}
			if got := reg.maxInflight.Load(); got > 1 {
				t.Errorf("Open() had %d requests in flight at once, want 1", got)
			}
			// Other tests run in parallel: only a fan-out would be this large.
			if got := runtime.NumGoroutine(); got > goroutines+1000 {
				t.Errorf("Open() left %d goroutines, %d before", got, goroutines)
			}
		})
	}
}

// concurrencyProbe counts the manifest and blob requests a registry is
// answering at once. Each is held until another one arrives beyond the
// limit or a moment passes, so that a fan-out above the limit shows in the
// count; the assertions are on the count, never on time.
type concurrencyProbe struct {
	limit int64
	hold  time.Duration

	inflight, max   atomic.Int64
	conns, maxConns atomic.Int64
	over            chan struct{}
	overOnce        sync.Once
}

func (p *concurrencyProbe) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/manifests/sha256:") && !strings.Contains(r.URL.Path, "/blobs/") {
			next.ServeHTTP(w, r)
			return
		}
		n := p.inflight.Add(1)
		defer p.inflight.Add(-1)
		raise(&p.max, n)
		if n > p.limit {
			p.overOnce.Do(func() { close(p.over) })
		}
		t := time.NewTimer(p.hold)
		select {
		case <-p.over:
		case <-t.C:
		}
		t.Stop()
		next.ServeHTTP(w, r)
	})
}

func (p *concurrencyProbe) connState(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		raise(&p.maxConns, p.conns.Add(1))
	case http.StateClosed, http.StateHijacked:
		p.conns.Add(-1)
	}
}

func raise(max *atomic.Int64, n int64) {
	for m := max.Load(); n > m && !max.CompareAndSwap(m, n); m = max.Load() {
	}
}

// TestVariantFetchesBounded: reading every variant's config at once, as the
// checks do, keeps at most Options.Concurrency manifest and config requests
// in flight.
func TestVariantFetchesBounded(t *testing.T) {
	t.Parallel()
	const concurrency = 4
	probe := &concurrencyProbe{limit: concurrency, hold: 5 * time.Millisecond, over: make(chan struct{})}
	srv := httptest.NewUnstartedServer(probe.middleware(imagetest.RegistryHandler()))
	srv.Config.ConnState = probe.connState
	srv.Start()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	var imgs []v1.Image
	for i := range maxVariants {
		imgs = append(imgs, imagetest.Image(t, imagetest.Spec{Arch: fmt.Sprintf("arch%d", i), Labels: labelsWithTitle(fmt.Sprint(i))}))
	}
	imagetest.Push(t, host+"/acme/plugin:1.0.0", imagetest.Index(t, imgs...))

	img := openSource(t, host+"/acme/plugin:1.0.0", Options{Concurrency: concurrency})
	if len(img.Variants) != maxVariants {
		t.Fatalf("Open() found %d variants, want %d", len(img.Variants), maxVariants)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(img.Variants))
	for i, v := range img.Variants {
		wg.Go(func() { _, errs[i] = v.Config(context.Background()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := probe.max.Load(); got > concurrency {
		t.Errorf("reading %d configs had %d requests in flight at once, want at most %d", maxVariants, got, concurrency)
	}
	// Connections: one per request in flight, the idle ones the transport
	// keeps (2 per host for http.DefaultTransport), the push's, and those
	// the client closed that the server has not seen closing yet.
	if got := probe.maxConns.Load(); got > 4*concurrency {
		t.Errorf("reading %d configs had %d connections open at once, want at most %d", maxVariants, got, 4*concurrency)
	}
	t.Logf("at most %d requests in flight, %d connections open", probe.max.Load(), probe.maxConns.Load())
}
