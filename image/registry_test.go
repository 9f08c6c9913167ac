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
