package imagetest

import (
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Recorder is an http.RoundTripper that records every request it passes to
// Inner (http.DefaultTransport when nil) as "METHOD /path".
type Recorder struct {
	Inner http.RoundTripper

	mu   sync.Mutex
	reqs []string
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
	r.mu.Unlock()
	inner := r.Inner
	if inner == nil {
		inner = http.DefaultTransport
	}
	return inner.RoundTrip(req)
}

// Requests returns the recorded requests in order.
func (r *Recorder) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// Count returns how many recorded requests had the method and a path
// ending in suffix.
func (r *Recorder) Count(method, suffix string) int {
	n := 0
	for _, q := range r.Requests() {
		m, p, _ := strings.Cut(q, " ")
		if m == method && strings.HasSuffix(p, suffix) {
			n++
		}
	}
	return n
}

// Reset forgets the recorded requests.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.reqs = nil
	r.mu.Unlock()
}

// RegistryWith starts the in-process registry behind middleware (which may
// answer requests itself, e.g. with 401 or 429) and returns its host.
func RegistryWith(t testing.TB, middleware func(http.Handler) http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(middleware(registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// ClosedAddr returns a 127.0.0.1 address where nothing listens.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// BlobLayer returns a layer whose blob is exactly raw, unchecked: for
// corrupt, truncated or hand-compressed layers.
func BlobLayer(raw []byte) v1.Layer { return static.NewLayer(raw, types.OCILayer) }

// Gzip compresses raw.
func Gzip(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CompressedLayer returns a gzip-compressed layer of the files, compressed
// once (Layer compresses again at every read, which is slow for large
// layers).
func CompressedLayer(t testing.TB, files ...File) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(TarBytes(t, files...)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	gz := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(gz)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Incompressible returns n deterministic pseudo-random bytes.
func Incompressible(n int, seed string) []byte { return pseudoRandom(n, seed) }

// WriteImageLayout writes a single-platform image as an OCI layout in dir:
// index.json lists the image manifest itself.
func WriteImageLayout(t testing.TB, dir string, img v1.Image, refName string) {
	t.Helper()
	p, opts := newLayout(t, dir, refName)
	if err := p.AppendImage(img, opts...); err != nil {
		t.Fatal(err)
	}
}
