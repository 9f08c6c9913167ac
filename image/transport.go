package image

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// costTransport counts requests and response bytes, and retries 429 and 5xx
// answers with backoff that honours Retry-After, within the request's context.
// It refuses plain HTTP to hosts that are not allowed it (plainHTTPHosts),
// and bounds the bodies of manifests and tag lists.
type costTransport struct {
	inner   http.RoundTripper
	stats   *Stats
	plain   plainHTTPHosts
	retries int
	// sleep waits for d or until ctx is done; replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

const maxRetryWait = 60 * time.Second

// newCostTransport wraps inner (http.DefaultTransport when nil); insecure
// names the hosts besides loopback ones that may be spoken to over plain
// HTTP (Options.Insecure).
func newCostTransport(inner http.RoundTripper, stats *Stats, insecure []string) *costTransport {
	if inner == nil {
		inner = http.DefaultTransport
	}
	return &costTransport{inner: inner, stats: stats, plain: newPlainHTTPHosts(insecure), retries: 6, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RoundTrip implements http.RoundTripper.
func (t *costTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// Below go-containerregistry's authentication: the request may carry
	// credentials, for the registry or its token endpoint. It falls back
	// to HTTP for registries at private addresses, and follows token
	// realms and redirects wherever they point.
	if req.URL.Scheme != "https" && !t.plain.allows(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &plainHTTPError{host: req.URL.Host}
	}
	backoff := 200 * time.Millisecond
	canRetry := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := t.inner.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		// Only requests the registry answered count (go-containerregistry
		// also tries https on loopback registries, which never answers).
		t.stats.requests.Add(1)
		if !canRetry || !retryable(resp.StatusCode) || attempt >= t.retries {
			resp.Body = &countingBody{ReadCloser: resp.Body, stats: t.stats}
			if req.Method == http.MethodGet && isManifestPath(req.URL.Path) {
				resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxManifestSize}
			}
			if req.Method == http.MethodGet && isTagListPath(req.URL.Path) {
				resp.Body = &tagListBody{ReadCloser: resp.Body, page: maxTagPageBytes, list: tagListBudgetFrom(req.Context())}
			}
			return resp, nil
		}
		wait := retryAfter(resp.Header.Get("Retry-After"), backoff)
		// The answer was transferred, so it counts; the connection is
		// reused only if its body is read.
		n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		t.stats.bytes.Add(n)
		resp.Body.Close()
		if dl, ok := req.Context().Deadline(); ok && time.Until(dl) < wait {
			return nil, &retryExhaustedError{method: req.Method, status: resp.StatusCode, url: req.URL.Redacted(), wait: wait}
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		backoff *= 2
	}
}

type retryExhaustedError struct {
	method string
	status int
	url    string
	wait   time.Duration
}

func (e *retryExhaustedError) Error() string {
	return e.method + " " + e.url + ": registry answered " + strconv.Itoa(e.status) + " " + http.StatusText(e.status) +
		" and asked to retry after " + e.wait.String() + ", beyond the time left (--timeout)"
}

func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout ||
		code == http.StatusInternalServerError
}

// retryAfter reads a Retry-After header (seconds or HTTP date), falling back
// to def; the wait is capped.
func retryAfter(h string, def time.Duration) time.Duration {
	d := def
	if h != "" {
		if s, err := strconv.Atoi(h); err == nil && s >= 0 {
			d = time.Duration(s) * time.Second
		} else if at, err := http.ParseTime(h); err == nil {
			d = time.Until(at)
		}
	}
	if d < 0 {
		d = 0
	}
	if d > maxRetryWait {
		d = maxRetryWait
	}
	return d
}

// isManifestPath reports whether p is a manifest endpoint,
// /v2/NAME/manifests/REFERENCE (NAME may itself hold "manifests").
func isManifestPath(p string) bool {
	if !strings.HasPrefix(p, "/v2/") {
		return false
	}
	return path.Base(path.Dir(p)) == "manifests"
}

// isTagListPath reports whether p is a tag list endpoint, /v2/NAME/tags/list.
func isTagListPath(p string) bool {
	return strings.HasPrefix(p, "/v2/") && strings.HasSuffix(p, "/tags/list")
}

// tagListBody fails a read, with a *tagListCapError, once a tag list page
// goes past maxTagPageBytes or the listing past its budget
// (maxTagListBytes), and then closes the stream: go-containerregistry
// decodes the whole page into memory, and does not close a body that fails
// to decode.
type tagListBody struct {
	io.ReadCloser
	page int64          // bytes left of this page
	list *tagListBudget // bytes left of the listing; nil outside Repository.Tags
}

func (b *tagListBody) Read(p []byte) (int, error) {
	left := b.page
	if b.list != nil && b.list.left < left {
		left = b.list.left
	}
	if int64(len(p)) > left+1 {
		p = p[:left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.page -= int64(n)
	if b.list != nil {
		b.list.left -= int64(n)
	}
	switch {
	case b.page < 0:
		b.ReadCloser.Close()
		return 0, &tagListCapError{limit: TagLimitPageBytes, max: maxTagPageBytes}
	case b.list != nil && b.list.left < 0:
		b.ReadCloser.Close()
		return 0, &tagListCapError{limit: TagLimitBytes, max: maxTagListBytes}
	}
	return n, err
}

// cappedBody fails a read once more than left bytes have come: manifests
// and indexes are read into memory, so their size is bounded
// (maxManifestSize) before go-containerregistry's much larger limit.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, fmt.Errorf("manifest is above the %d byte limit", maxManifestSize)
	}
	return n, err
}

type countingBody struct {
	io.ReadCloser
	stats *Stats
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.stats.bytes.Add(int64(n))
	return n, err
}
