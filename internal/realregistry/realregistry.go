// Package realregistry runs the reference registry server (CNCF
// distribution v3) in-process for integration tests: in-memory storage,
// htpasswd basic auth, plain HTTP on 127.0.0.1. It needs nothing installed,
// so tests that use it never skip.
package realregistry

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// The htpasswd access controller and the in-memory storage driver
	// register themselves by name.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// silenceOnce quiets distribution's logging, which goes to the process-wide
// logrus logger.
var silenceOnce sync.Once

func silence() {
	silenceOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.ErrorLevel)
	})
}

// Start runs a registry that accepts user with password (HTTP basic auth,
// checked against a bcrypt htpasswd file) and returns its host
// (127.0.0.1:PORT). Every request, reads included, needs the credentials.
// The registry is stopped, and its storage dropped, when the test ends.
func Start(t testing.TB, user, password string) (host string) {
	t.Helper()
	silence()
	if user == "" || strings.Contains(user, ":") {
		t.Fatalf("realregistry: user name %q is not valid in an htpasswd file", user)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("realregistry: hashing password: %v", err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatalf("realregistry: writing htpasswd: %v", err)
	}

	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory": configuration.Parameters{},
			// No background upload purger goroutine.
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
			"redirect":    configuration.Parameters{"disable": true},
		},
		Auth: configuration.Auth{
			"htpasswd": configuration.Parameters{"realm": "realregistry", "path": htpasswd},
		},
	}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	// A fixed secret keeps NewApp from warning that it generated one.
	cfg.HTTP.Secret = "realregistry-upload-state-secret"

	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	srv := httptest.NewUnstartedServer(app)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := app.Shutdown(); err != nil {
			t.Errorf("realregistry: shutting down: %v", err)
		}
		cancel()
	})
	return strings.TrimPrefix(srv.URL, "http://")
}

// Request is one request a Recorder passed on.
type Request struct {
	Method string
	// Path is the URL path, without the query.
	Path string
}

// Recorder is a reverse proxy in front of a registry that records every
// request it passes on, in order.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

// Record starts a recording reverse proxy in front of the registry at host
// and returns the recorder and the proxy's host (127.0.0.1:PORT). Clients
// that talk to the proxy host see the registry as if it lived there. The
// proxy is stopped when the test ends.
func Record(t testing.TB, host string) (*Recorder, string) {
	t.Helper()
	rec := &Recorder{}
	return rec, Front(t, host, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec.mu.Lock()
			rec.reqs = append(rec.reqs, Request{Method: r.Method, Path: r.URL.Path})
			rec.mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
}

// Front starts a reverse proxy in front of the registry at host, whose
// requests go through wrap (which may answer them itself, or drop the
// connection) before they are sent on, and returns the proxy's host
// (127.0.0.1:PORT). The registry's Location headers point back at the
// proxy. The proxy is stopped when the test ends.
func Front(t testing.TB, host string, wrap func(next http.Handler) http.Handler) string {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: host}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// Keep the client's Host so that the registry's Location headers
			// point back at the proxy.
			pr.Out.Host = pr.In.Host
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := httptest.NewUnstartedServer(wrap(rp))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Requests returns the requests recorded so far, in arrival order.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Reset forgets the requests recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}
