package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestOpenRegistryManifestRequests(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	digest := imagetest.Push(t, host+"/acme/plugin:1.0.0", pluginIndex(t, "Index"))
	tests := []struct {
		name string
		ref  string
		want []string
	}{
		{name: "by tag: HEAD, then GET by digest", ref: host + "/acme/plugin:1.0.0", want: []string{
			"HEAD /v2/acme/plugin/manifests/1.0.0",
			"GET /v2/acme/plugin/manifests/" + digest.String(),
		}},
		{name: "by digest: no HEAD", ref: host + "/acme/plugin@" + digest.String(), want: []string{
			"GET /v2/acme/plugin/manifests/" + digest.String(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &imagetest.Recorder{}
			img := openSource(t, tt.ref, Options{Transport: rec})
			if img.Digest != digest {
				t.Errorf("Open(%q).Digest = %s, want %s", tt.ref, img.Digest, digest)
			}
			var got []string
			for _, r := range rec.Requests() {
				if strings.Contains(r, "/manifests/") {
					got = append(got, r)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Open(%q) manifest requests mismatch (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

func TestRegistryScheme(t *testing.T) {
	t.Parallel()
	tests := []struct {
		registry string
		insecure []string
		want     string
	}{
		{registry: "10.0.0.1:5000", want: "https"},
		{registry: "192.168.1.2", want: "https"},
		{registry: "172.16.0.1", want: "https"},
		{registry: "169.254.169.254", want: "https"},
		{registry: "[fd00::1]:5000", want: "https"},
		{registry: "registry.example.com", want: "https"},
		{registry: "index.docker.io", want: "https"},
		{registry: "registry.localhost:5000", want: "https"},
		{registry: "localhost.example.com:5000", want: "https"},
		{registry: "0.0.0.0:5000", want: "https"},
		{registry: "localhost:5000", want: "http"},
		{registry: "localhost", want: "http"},
		{registry: "LocalHost:5000", want: "http"},
		{registry: "127.0.0.1:5000", want: "http"},
		{registry: "127.1.2.3:5000", want: "http"},
		{registry: "[::1]:5000", want: "http"},
		{registry: "10.0.0.1:5000", insecure: []string{"10.0.0.1:5000"}, want: "http"},
		{registry: "10.0.0.1:5000", insecure: []string{"10.0.0.1"}, want: "https"},
		{registry: "10.0.0.1:5000", insecure: []string{"10.0.0.1:5001"}, want: "https"},
		{registry: "Registry.Example.com", insecure: []string{"registry.example.com"}, want: "http"},
		{registry: "index.docker.io", insecure: []string{"docker.io"}, want: "http"},
	}
	for _, tt := range tests {
		t.Run(tt.registry+" "+strings.Join(tt.insecure, ","), func(t *testing.T) {
			t.Parallel()
			if got := registryScheme(tt.registry, tt.insecure); got != tt.want {
				t.Errorf("registryScheme(%q, %q) = %q, want %q", tt.registry, tt.insecure, got, tt.want)
			}
		})
	}
}

// seenRequest is what fakeNetwork records of a request.
type seenRequest struct {
	Scheme, Host string
	Auth         bool // it carried an Authorization header
}

// fakeHost is a host of fakeNetwork: a handler and the schemes it answers.
type fakeHost struct {
	handler     http.Handler
	http, https bool
}

// fakeNetwork is an http.RoundTripper that answers requests in memory as
// its hosts, recording each request; a scheme a host does not answer fails
// as a plain-HTTP server fails a TLS handshake. An unknown host fails the
// test.
type fakeNetwork struct {
	t     *testing.T
	hosts map[string]fakeHost

	mu   sync.Mutex
	seen []seenRequest
}

func (n *fakeNetwork) RoundTrip(req *http.Request) (*http.Response, error) {
	n.mu.Lock()
	n.seen = append(n.seen, seenRequest{Scheme: req.URL.Scheme, Host: req.URL.Host, Auth: req.Header.Get("Authorization") != ""})
	n.mu.Unlock()
	h, ok := n.hosts[req.URL.Host]
	if !ok {
		n.t.Errorf("request to unknown host: %s %s", req.Method, req.URL.Redacted())
		return nil, errors.New("unknown host")
	}
	if req.URL.Scheme == "https" && !h.https || req.URL.Scheme == "http" && !h.http {
		return nil, fmt.Errorf("%s %s: tls: first record does not look like a TLS handshake", req.Method, req.URL.Redacted())
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

func (n *fakeNetwork) requests() []seenRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]seenRequest(nil), n.seen...)
}

// requireAuth answers 401 with challenge unless the request carries want.
func requireAuth(want, challenge string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestNoCredentialsOverPlainHTTP: credentials go over plain HTTP only to
// loopback hosts and hosts named in Options.Insecure, whatever the registry
// or its token endpoint answers.
func TestNoCredentialsOverPlainHTTP(t *testing.T) {
	t.Parallel()
	// One registry's content, pushed over loopback and served as the
	// fake hosts below.
	inner := imagetest.RegistryHandler()
	srv := httptest.NewServer(inner)
	t.Cleanup(srv.Close)
	imagetest.Push(t, strings.TrimPrefix(srv.URL, "http://")+"/acme/plugin:1.0.0", pluginIndex(t, "Private"))

	creds := &authn.Basic{Username: "user", Password: "secret"}
	basic := requireAuth(basicHeader("user", "secret"), `Basic realm="registry"`, inner)
	bearer := func(realm string) http.Handler {
		return requireAuth("Bearer tok", `Bearer realm="`+realm+`",service="registry"`, inner)
	}
	tokens := requireAuth(basicHeader("user", "secret"), `Basic realm="auth"`, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token":"tok"}`)
	}))
	tests := []struct {
		name     string
		registry string
		hosts    map[string]fakeHost
		insecure []string
		// wantErr is part of Open's error, "" for success.
		wantErr string
		// wantPlain are the hosts sent requests over plain HTTP.
		wantPlain []string
	}{
		{name: "private address speaking only HTTP", registry: "10.0.0.1:5000",
			hosts:   map[string]fakeHost{"10.0.0.1:5000": {handler: basic, http: true}},
			wantErr: "--insecure-registry"},
		{name: "private address speaking HTTPS", registry: "10.0.0.1:5000",
			hosts: map[string]fakeHost{"10.0.0.1:5000": {handler: basic, http: true, https: true}}},
		{name: "private address named insecure", registry: "10.0.0.1:5000", insecure: []string{"10.0.0.1:5000"},
			hosts:     map[string]fakeHost{"10.0.0.1:5000": {handler: basic, http: true}},
			wantPlain: []string{"10.0.0.1:5000"}},
		{name: "public name speaking only HTTP", registry: "registry.example.com",
			hosts:   map[string]fakeHost{"registry.example.com": {handler: basic, http: true}},
			wantErr: "registry.example.com"},
		{name: "loopback registry, token endpoint over HTTP", registry: "127.0.0.1:5000",
			hosts: map[string]fakeHost{
				"127.0.0.1:5000":   {handler: bearer("http://auth.example.com/token"), http: true},
				"auth.example.com": {handler: tokens, http: true, https: true},
			},
			wantErr: "auth.example.com", wantPlain: []string{"127.0.0.1:5000"}},
		{name: "loopback registry, token endpoint over HTTPS", registry: "127.0.0.1:5000",
			hosts: map[string]fakeHost{
				"127.0.0.1:5000":   {handler: bearer("https://auth.example.com/token"), http: true},
				"auth.example.com": {handler: tokens, https: true},
			},
			wantPlain: []string{"127.0.0.1:5000"}},
		{name: "private registry named insecure, token endpoint over HTTP", registry: "10.0.0.1:5000", insecure: []string{"10.0.0.1:5000"},
			hosts: map[string]fakeHost{
				"10.0.0.1:5000":    {handler: bearer("http://auth.example.com/token"), http: true},
				"auth.example.com": {handler: tokens, http: true, https: true},
			},
			wantErr: "auth.example.com", wantPlain: []string{"10.0.0.1:5000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			network := &fakeNetwork{t: t, hosts: tt.hosts}
			ref := tt.registry + "/acme/plugin:1.0.0"
			img, err := Open(context.Background(), ref, Options{Auth: creds, Transport: network, Insecure: tt.insecure, TempDir: t.TempDir()})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open(%q): %v", ref, err)
				}
				defer img.Close()
				if _, err := img.Variants[0].Labels(context.Background()); err != nil {
					t.Fatalf("Labels: %v", err)
				}
			} else if err == nil {
				img.Close()
				t.Errorf("Open(%q) succeeded, want an error mentioning %q", ref, tt.wantErr)
			} else if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%q) error %q does not mention %q", ref, err, tt.wantErr)
			}
			plain := map[string]bool{}
			for _, r := range network.requests() {
				if r.Scheme != "http" {
					continue
				}
				plain[r.Host] = true
				if r.Auth && !slices.Contains(tt.insecure, r.Host) && r.Host != "127.0.0.1:5000" {
					t.Errorf("credentials sent over plain HTTP to %s", r.Host)
				}
			}
			if diff := cmp.Diff(tt.wantPlain, slices.Sorted(maps.Keys(plain)), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("hosts sent plain HTTP mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRegistryMessagesArePlain: a missing image says whether the tag or the
// repository is missing, naming tags nearby from one page of the tag list,
// and no message carries go-containerregistry's text for developers.
func TestRegistryMessagesArePlain(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	idx := pluginIndex(t, "Index")
	for _, tag := range []string{"0.9.0", "1.0.0", "1.1.0", "1.2.1", "2.0.0", "latest", "v1.2.0"} {
		imagetest.Push(t, host+"/acme/plugin:"+tag, idx)
	}
	paged := imagetest.PagedRegistry(t, 2)
	for _, tag := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		imagetest.Push(t, paged+"/acme/plugin:"+tag, idx)
	}
	zero := "sha256:" + strings.Repeat("0", 64)
	refused := imagetest.RegistryWith(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Name":"acme/plugin","Action":"pull"}]}]}`)
		})
	})
	blocked := imagetest.RegistryWith(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/" {
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"errors":[{"code":"DENIED","message":"pulls from this network are blocked","detail":{"policy":"geo-7"}}]}`)
		})
	})
	tests := []struct {
		name string
		ref  string
		want []string
		// tagLists is the number of tag-list requests expected.
		tagLists int
		notFound bool
	}{
		{name: "missing tag, nearest tags first", ref: host + "/acme/plugin:1.2.0", tagLists: 1, notFound: true, want: []string{
			host + "/acme/plugin:1.2.0 not found on registry " + host,
			"the repository acme/plugin exists, but has no tag 1.2.0",
			"(its tags include v1.2.0, 1.2.1, 1.0.0, 1.1.0, 0.9.0 and 2 more)"}},
		{name: "missing tag, one page only", ref: paged + "/acme/plugin:3.0.0", tagLists: 1, notFound: true, want: []string{
			"the repository acme/plugin exists, but has no tag 3.0.0", "(its tags include 1.0.0, 1.1.0)"}},
		{name: "missing repository", ref: host + "/acme/nope:1.0.0", tagLists: 1, notFound: true, want: []string{
			host + "/acme/nope:1.0.0 not found on registry " + host,
			"there is no repository acme/nope (or it is not visible with the credentials used)"}},
		{name: "missing digest", ref: host + "/acme/plugin@" + zero, tagLists: 1, notFound: true, want: []string{
			"not found on registry " + host, "the repository acme/plugin exists, but holds no image with digest " + zero}},
		{name: "missing digest in a missing repository", ref: host + "/acme/nope@" + zero, tagLists: 1, notFound: true, want: []string{
			"there is no repository acme/nope"}},
		{name: "refused, HEAD", ref: refused + "/acme/plugin:1.0.0", want: []string{
			"registry " + refused + " refused access to " + refused + "/acme/plugin:1.0.0 (HTTP 401)",
			"either the repository does not exist or the credentials do not allow reading it", "check the credentials"}},
		{name: "refused, GET says why", ref: refused + "/acme/plugin@" + zero, want: []string{
			`(HTTP 401, the registry says "authentication required")`}},
		{name: "other status, HEAD", ref: blocked + "/acme/plugin:1.0.0", want: []string{
			"registry " + blocked + " answered HTTP 400 Bad Request for " + blocked + "/acme/plugin:1.0.0"}},
		{name: "other status, GET says why", ref: blocked + "/acme/plugin@" + zero, want: []string{
			`answered HTTP 400 Bad Request for ` + blocked + `/acme/plugin@` + zero + `, the registry says "pulls from this network are blocked"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &imagetest.Recorder{}
			img, err := Open(context.Background(), tt.ref, Options{Transport: rec, TempDir: t.TempDir()})
			if err == nil {
				img.Close()
				t.Fatalf("Open(%q) succeeded", tt.ref)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Open(%q) error %q does not say %q", tt.ref, msg, w)
				}
			}
			for _, dev := range []string{"HEAD responses", "use GET", "unexpected status code", "/v2/", "http://",
				"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "UNAUTHORIZED", "DENIED", "map[", "geo-7", "image not found"} {
				if strings.Contains(msg, dev) {
					t.Errorf("Open(%q) error %q shows library text %q", tt.ref, msg, dev)
				}
			}
			if got := rec.Count(http.MethodGet, "/tags/list"); got != tt.tagLists {
				t.Errorf("Open(%q) sent %d tag-list requests, want %d", tt.ref, got, tt.tagLists)
			}
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(%q, ErrNotFound) = %v, want %v", msg, !tt.notFound, tt.notFound)
			}
			var terr *transport.Error
			if !errors.As(err, &terr) {
				t.Errorf("Open(%q) error %q does not wrap the registry's answer", tt.ref, msg)
			}
		})
	}
}
