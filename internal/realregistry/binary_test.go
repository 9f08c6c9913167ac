package realregistry

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

func TestFindBinary(t *testing.T) {
	// Not parallel: it sets PATH.
	bin := t.TempDir()
	onPath := filepath.Join(bin, "docker-registry")
	if err := os.WriteFile(onPath, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	fallback := filepath.Join(other, "registry")
	if err := os.WriteFile(fallback, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(other, "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()

	tests := []struct {
		name, path, fallback, want string
	}{
		{name: "on PATH", path: bin, fallback: fallback, want: onPath},
		{name: "fallback", path: empty, fallback: fallback, want: fallback},
		{name: "neither", path: empty, fallback: filepath.Join(other, "missing"), want: ""},
		{name: "fallback not executable", path: empty, fallback: notExec, want: ""},
		{name: "fallback is a directory", path: empty, fallback: other, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			if got := FindBinary(tt.fallback); got != tt.want {
				t.Errorf("FindBinary(%q) with PATH=%s = %q, want %q", tt.fallback, tt.path, got, tt.want)
			}
		})
	}
}

// skipRecorder is a testing.TB that records a Skip instead of skipping.
type skipRecorder struct {
	testing.TB
	skipped []any
}

func (r *skipRecorder) Skip(args ...any) {
	r.skipped = args
	runtime.Goexit()
}

func TestStartBinaryNotInstalled(t *testing.T) {
	t.Parallel()
	rec := &skipRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		startBinary(rec, "", "alice", "correct horse", freePort)
		t.Error("startBinary without a binary returned, want a skip")
	}()
	<-done
	if len(rec.skipped) != 1 || rec.skipped[0] != SkipNotInstalled {
		t.Errorf("startBinary without a binary skipped with %q, want %q", rec.skipped, SkipNotInstalled)
	}
}

func TestStartBinaryBasicAuth(t *testing.T) {
	t.Parallel()
	host := StartBinary(t, "alice", "correct horse")

	tests := []struct {
		name       string
		user, pass string
		noAuth     bool
		wantStatus int
	}{
		{name: "no credentials", noAuth: true, wantStatus: http.StatusUnauthorized},
		{name: "wrong password", user: "alice", pass: "wrong", wantStatus: http.StatusUnauthorized},
		{name: "unknown user", user: "bob", pass: "correct horse", wantStatus: http.StatusUnauthorized},
		{name: "right password", user: "alice", pass: "correct horse", wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := ping(t, host, tt.user, tt.pass, !tt.noAuth)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("GET http://%s/v2/ = %d, want %d", host, resp.StatusCode, tt.wantStatus)
			}
			wantChallenge := ""
			if tt.wantStatus == http.StatusUnauthorized {
				wantChallenge = `Basic realm="realregistry"`
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("GET http://%s/v2/ WWW-Authenticate = %q, want %q", host, got, wantChallenge)
			}
		})
	}
}

// TestStartBinaryStops checks that the server is gone, and its port free,
// once the test that started it has ended. It is not parallel, so that no
// other test of the package can take the port meanwhile.
func TestStartBinaryStops(t *testing.T) {
	var host string
	t.Run("server", func(t *testing.T) {
		host = StartBinary(t, "alice", "correct horse")
	})
	if host == "" {
		t.Skip(SkipNotInstalled)
	}
	resp, err := http.Get("http://" + host + "/v2/")
	if err == nil {
		resp.Body.Close()
		t.Errorf("GET http://%s/v2/ after the test ended = %d, want a refused connection", host, resp.StatusCode)
	}
}

// TestStartBinaryPortTaken checks that StartBinary tries another port when
// the one it picked is taken before the server listens on it.
func TestStartBinaryPortTaken(t *testing.T) {
	t.Parallel()
	bin := FindBinary(DefaultBinary)
	if bin == "" {
		t.Skip(SkipNotInstalled)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	var given []int
	ports := func() (int, error) {
		if len(given) < 2 {
			given = append(given, takenPort)
			return takenPort, nil
		}
		p, err := freePort()
		given = append(given, p)
		return p, err
	}

	host := startBinary(t, bin, "alice", "correct horse", ports)
	if len(given) != 3 {
		t.Errorf("startBinary asked for %d ports (%v), want 3: two taken, one free", len(given), given)
	}
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(given[len(given)-1])); host != want {
		t.Errorf("startBinary = %q, want %q", host, want)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+host+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("alice", "correct horse")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET http://%s/v2/ = %d, want %d", host, resp.StatusCode, http.StatusOK)
	}
}
