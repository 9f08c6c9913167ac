package image

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
)

// answer is one scripted response of a fakeRegistry.
type answer struct {
	status     int
	retryAfter string
	body       string
}

// scripted answers requests in order with its answers, and fails the test
// on a request beyond them.
type scripted struct {
	t       *testing.T
	mu      sync.Mutex
	answers []answer
	bodies  []string // request bodies seen
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		s.bodies = append(s.bodies, string(b))
	}
	if len(s.answers) == 0 {
		s.t.Errorf("unexpected request %s %s", req.Method, req.URL)
		return nil, errors.New("unexpected request")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	h := http.Header{}
	if d, ok := strings.CutPrefix(a.retryAfter, "date in "); ok {
		// An HTTP date, made when answering so that a slow test run
		// does not shorten the wait.
		dd, err := time.ParseDuration(d)
		if err != nil {
			s.t.Fatal(err)
		}
		a.retryAfter = time.Now().Add(dd).UTC().Format(http.TimeFormat)
	}
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	return &http.Response{StatusCode: a.status, Header: h, Body: io.NopCloser(strings.NewReader(a.body)),
		ContentLength: int64(len(a.body)), Request: req}, nil
}

func repeat(n int, a answer) []answer {
	out := make([]answer, n)
	for i := range out {
		out[i] = a
	}
	return out
}

func TestCostTransport(t *testing.T) {
	t.Parallel()
	tooMany := answer{status: http.StatusTooManyRequests, body: "slow down"}
	unavailable := answer{status: http.StatusServiceUnavailable}
	ok := answer{status: http.StatusOK, body: "hello world"}
	tests := []struct {
		name     string
		answers  []answer
		timeout  time.Duration
		post     string // send a POST with this body (replayable)
		oneShot  bool   // the POST body cannot be replayed
		status   int
		err      string // substring of the error, if one is expected
		sleeps   []time.Duration
		sleepsIn [2]time.Duration // when set, each sleep lies in [0], [1]
		requests int64
		bytes    int64
	}{
		{name: "200", answers: []answer{ok}, status: 200, requests: 1, bytes: 11},
		{name: "429 with Retry-After then 200",
			answers: []answer{{status: 429, retryAfter: "1", body: "slow down"}, ok},
			status:  200, sleeps: []time.Duration{time.Second}, requests: 2, bytes: 9 + 11},
		{name: "503 a few times then 200",
			answers: append(repeat(3, unavailable), ok),
			status:  200, sleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}, requests: 4, bytes: 11},
		{name: "other 5xx", answers: []answer{{status: 500}, {status: 502}, {status: 504}, ok},
			status: 200, sleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}, requests: 4, bytes: 11},
		{name: "Retry-After as an HTTP date",
			answers: []answer{{status: 429, retryAfter: "date in 10s"}, ok},
			status:  200, sleepsIn: [2]time.Duration{5 * time.Second, 10 * time.Second}, requests: 2, bytes: 11},
		{name: "Retry-After date in the past",
			answers: []answer{{status: 429, retryAfter: "date in -1h"}, ok},
			status:  200, sleeps: []time.Duration{0}, requests: 2, bytes: 11},
		{name: "Retry-After unreadable",
			answers: []answer{{status: 429, retryAfter: "soon"}, ok},
			status:  200, sleeps: []time.Duration{200 * time.Millisecond}, requests: 2, bytes: 11},
		{name: "Retry-After capped",
			answers: []answer{{status: 429, retryAfter: "86400"}, ok},
			status:  200, sleeps: []time.Duration{maxRetryWait}, requests: 2, bytes: 11},
		{name: "Retry-After beyond the deadline",
			answers: []answer{{status: 429, retryAfter: "30", body: "slow down"}},
			timeout: time.Minute / 4, err: "--timeout", requests: 1, bytes: 9},
		{name: "retries are bounded",
			answers: repeat(7, tooMany),
			status:  429, requests: 7, bytes: 9 * 7,
			sleeps: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond,
				3200 * time.Millisecond, 6400 * time.Millisecond}},
		{name: "404 is not retried", answers: []answer{{status: 404, body: "nope"}}, status: 404, requests: 1, bytes: 4},
		{name: "401 is not retried", answers: []answer{{status: 401}}, status: 401, requests: 1},
		{name: "replayable body is sent again",
			answers: []answer{unavailable, ok}, post: "payload",
			status: 200, sleeps: []time.Duration{200 * time.Millisecond}, requests: 2, bytes: 11},
		{name: "one-shot body is not retried",
			answers: []answer{unavailable}, post: "payload", oneShot: true,
			status: 503, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inner := &scripted{t: t, answers: tt.answers}
			stats := &Stats{}
			ct := newCostTransport(inner, stats, nil)
			var sleeps []time.Duration
			ct.sleep = func(ctx context.Context, d time.Duration) error {
				sleeps = append(sleeps, d)
				return ctx.Err()
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			method, body := http.MethodGet, io.Reader(nil)
			if tt.post != "" {
				method, body = http.MethodPost, strings.NewReader(tt.post)
			}
			req, err := http.NewRequestWithContext(ctx, method, "https://registry.example/v2/", body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.oneShot {
				req.Body, req.GetBody = io.NopCloser(strings.NewReader(tt.post)), nil
			}
			resp, err := ct.RoundTrip(req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("RoundTrip() error = %v, want one mentioning %q", err, tt.err)
				}
			} else {
				if err != nil {
					t.Fatalf("RoundTrip(): %v", err)
				}
				if resp.StatusCode != tt.status {
					t.Errorf("RoundTrip() status = %d, want %d", resp.StatusCode, tt.status)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if tt.sleepsIn != [2]time.Duration{} {
				for _, d := range sleeps {
					if d < tt.sleepsIn[0] || d > tt.sleepsIn[1] {
						t.Errorf("slept %v, want between %v and %v", d, tt.sleepsIn[0], tt.sleepsIn[1])
					}
				}
				if len(sleeps) != 1 {
					t.Errorf("slept %d times, want once", len(sleeps))
				}
			} else if diff := cmp.Diff(tt.sleeps, sleeps); diff != "" {
				t.Errorf("sleeps mismatch (-want +got):\n%s", diff)
			}
			if got := stats.Requests(); got != tt.requests {
				t.Errorf("Stats.Requests() = %d, want %d", got, tt.requests)
			}
			if got := stats.Bytes(); got != tt.bytes {
				t.Errorf("Stats.Bytes() = %d, want %d", got, tt.bytes)
			}
			if tt.post != "" && !tt.oneShot {
				for i, b := range inner.bodies {
					if b != tt.post {
						t.Errorf("attempt %d sent body %q, want %q", i+1, b, tt.post)
					}
				}
			}
			if len(inner.answers) != 0 {
				t.Errorf("%d scripted answers left unused", len(inner.answers))
			}
		})
	}
}

func TestCostTransportCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	inner := &scripted{t: t, answers: []answer{{status: 503, retryAfter: "5"}}}
	ct := newCostTransport(inner, &Stats{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	ct.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleepCtx(ctx, d)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://registry.example/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ct.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("RoundTrip() error = %v, want context.Canceled", err)
	}
}

// throttle answers the first n manifest reads after arm with status and a
// Retry-After header, and passes other requests to the registry.
type throttle struct {
	n          int64
	status     int
	retryAfter string
	armed      atomic.Bool
	seen       atomic.Int64
}

func (th *throttle) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if th.armed.Load() && strings.Contains(r.URL.Path, "/manifests/") && th.seen.Add(1) <= th.n {
			w.Header().Set("Retry-After", th.retryAfter)
			http.Error(w, "busy", th.status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func throttled(n int, status int, retryAfter string) *throttle {
	return &throttle{n: int64(n), status: status, retryAfter: retryAfter}
}

func TestOpenRetries(t *testing.T) {
	t.Parallel()
	idx := pluginIndex(t, "Retried")
	tests := []struct {
		name    string
		mw      *throttle
		timeout time.Duration
		err     []string // substrings of the error; none for success
	}{
		{name: "429 then success", mw: throttled(2, http.StatusTooManyRequests, "0")},
		{name: "503 then success", mw: throttled(3, http.StatusServiceUnavailable, "0")},
		{name: "Retry-After beyond the deadline", mw: throttled(1, http.StatusTooManyRequests, "3600"), timeout: 30 * time.Second,
			err: []string{"--timeout", "429", "busy"}},
		{name: "always busy", mw: throttled(100, http.StatusServiceUnavailable, "0"), err: []string{"503"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := imagetest.RegistryWith(t, tt.mw.middleware)
			ref := host + "/acme/plugin:1.0.0"
			imagetest.Push(t, ref, idx)
			tt.mw.armed.Store(true)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			img, err := Open(ctx, ref, Options{TempDir: t.TempDir()})
			if len(tt.err) == 0 {
				if err != nil {
					t.Fatalf("Open(): %v", err)
				}
				defer img.Close()
				if len(img.Variants) != 2 {
					t.Errorf("Open() found %d variants, want 2", len(img.Variants))
				}
				return
			}
			if err == nil {
				img.Close()
				t.Fatal("Open() succeeded, want an error")
			}
			for _, w := range append(tt.err, host) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open() error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "unreachable") {
				t.Errorf("Open() error %q calls a busy registry unreachable", err)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header string
		want         time.Duration
	}{
		{name: "empty", header: "", want: time.Second},
		{name: "seconds", header: "3", want: 3 * time.Second},
		{name: "zero", header: "0", want: 0},
		{name: "negative", header: "-5", want: time.Second},
		{name: "cap", header: strconv.Itoa(int(maxRetryWait/time.Second) + 1), want: maxRetryWait},
		{name: "garbage", header: "in a while", want: time.Second},
		{name: "past date", header: "Mon, 02 Jan 2006 15:04:05 GMT", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := retryAfter(tt.header, time.Second); got != tt.want {
				t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

func TestManifestBodyCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    string
		size    int
		wantErr bool
	}{
		{name: "manifest at the limit", path: "/v2/acme/plugin/manifests/1.0.0", size: maxManifestSize},
		{name: "manifest above the limit", path: "/v2/acme/plugin/manifests/1.0.0", size: maxManifestSize + 1, wantErr: true},
		{name: "manifest of a repository named manifests", path: "/v2/acme/manifests/manifests/1.0.0", size: maxManifestSize + 1, wantErr: true},
		{name: "blob above the limit", path: "/v2/acme/plugin/blobs/sha256:0", size: maxManifestSize + 1},
		{name: "blob of a repository named manifests", path: "/v2/acme/manifests/blobs/sha256:0", size: maxManifestSize + 1},
		{name: "tag list of a repository named manifests", path: "/v2/acme/manifests/tags/list", size: maxManifestSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &scripted{t: t, answers: []answer{{status: http.StatusOK, body: strings.Repeat("x", tt.size)}}}
			ct := newCostTransport(s, &Stats{}, nil)
			req, err := http.NewRequest(http.MethodGet, "https://registry.example"+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := ct.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if (err != nil) != tt.wantErr {
				t.Errorf("reading %s of %d bytes: error %v, want error %v", tt.path, tt.size, err, tt.wantErr)
			}
			if err == nil && len(got) != tt.size {
				t.Errorf("reading %s: got %d bytes, want %d", tt.path, len(got), tt.size)
			}
		})
	}
}
