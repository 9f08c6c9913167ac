package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
)

// fakeGitHub implements the few REST endpoints an issue-mode request uses
// on docker/allowlist, and fails the test on anything else.
type fakeGitHub struct {
	t        *testing.T
	mu       sync.Mutex
	requests []string
	created  string // body of the issue opened
}

func (g *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = strings.TrimPrefix(r.URL.Path, "/api/v3") // GitHub Enterprise Server's API prefix
	g.mu.Lock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path)
	g.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer allowlist-t0ken" {
		g.t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.Method + " " + r.URL.Path {
	case "GET /repos/docker/allowlist":
		io.WriteString(w, `{"full_name":"docker/allowlist","default_branch":"main","has_issues":true}`)
	case "GET /repos/docker/allowlist/contents/allowlist.yaml":
		// "- repository: acme/other\n"
		io.WriteString(w, `{"type":"file","encoding":"base64","sha":"abc","path":"allowlist.yaml","content":"LSByZXBvc2l0b3J5OiBhY21lL290aGVyCg=="}`)
	case "GET /repos/docker/allowlist/issues":
		io.WriteString(w, `[]`)
	case "POST /repos/docker/allowlist/issues":
		var body struct{ Title, Body string }
		json.NewDecoder(r.Body).Decode(&body)
		g.mu.Lock()
		g.created = body.Body
		g.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"number":12,"html_url":"https://github.example/docker/allowlist/issues/12"}`)
	default:
		g.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusInternalServerError)
	}
}

func TestActionAllowlistRequest(t *testing.T) {
	t.Parallel()
	// The allow-list names Docker Hub repositories; check a Hub-named
	// plugin whose image comes from a local OCI layout.
	dir := t.TempDir()
	imagetest.WriteLayout(t, filepath.Join(dir, "plugin"), imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024), "")
	forkEvent := strings.Replace(pullRequestEvent, `"repo": {"full_name": "acme/disk-usage", "fork": false}},
    "base"`, `"repo": {"full_name": "mallory/disk-usage", "fork": true}},
    "base"`, 1)
	for _, tc := range []struct {
		name     string
		inputs   map[string]string
		event    string
		wantURL  string
		wantText string
		code     int
	}{
		{name: "opens an issue", wantURL: "https://github.example/docker/allowlist/issues/12", wantText: "acme/disk-usage"},
		{name: "skipped from a fork", event: forkEvent, wantText: "fork mallory/disk-usage"},
		{name: "no token", inputs: map[string]string{"allowlist-token": ""}, wantText: "GITHUB_TOKEN cannot write to another repository"},
		{name: "failing check", inputs: map[string]string{"platforms": "linux/amd64,linux/s390x"}, wantText: "the check did not pass", code: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := &fakeGitHub{t: t}
			srv := httptest.NewServer(gh)
			t.Cleanup(srv.Close)
			inputs := map[string]string{
				// No version: the version rules, which would ask Docker Hub, do not run.
				"image": "oci:" + filepath.Join(dir, "plugin"), "repository": "docker.io/acme/disk-usage",
				"allowlist-request": "true", "allowlist-repository": "docker/allowlist", "allowlist-token": "allowlist-t0ken",
			}
			for k, v := range tc.inputs {
				inputs[k] = v
			}
			r := newRunner(t, inputs)
			r.env["GITHUB_API_URL"] = srv.URL + "/api/v3"
			if tc.event != "" {
				os.WriteFile(r.env["GITHUB_EVENT_PATH"], []byte(tc.event), 0o644)
			}
			r.run()
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:%s\nstderr:%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr+r.stdout, tc.wantText) && !strings.Contains(gh.created, tc.wantText) {
				t.Errorf("want %q in the output or the issue\nstdout:%s\nstderr:%s", tc.wantText, r.stdout, r.stderr)
			}
			if got := r.outputs()["allowlist-request-url"]; got != tc.wantURL {
				t.Errorf("allowlist-request-url = %q, want %q", got, tc.wantURL)
			}
			if strings.Contains(r.stdout+r.stderr, "allowlist-t0ken") && !strings.Contains(r.stdout, "::add-mask::allowlist-t0ken") {
				t.Error("the allow-list token was printed")
			}
			if tc.wantURL == "" && len(gh.requests) > 0 && tc.name != "no token" {
				t.Errorf("GitHub was asked %v, want nothing", gh.requests)
			}
		})
	}
}

func TestCLIAllowlistDryRun(t *testing.T) {
	t.Parallel()
	gh := &fakeGitHub{t: t}
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024), "")
	var out, errb strings.Builder
	getenv := env(t, "GITHUB_API_URL", srv.URL+"/api/v3", tokenEnv, "allowlist-t0ken")
	code := run(t.Context(), []string{"--repository", "docker.io/acme/disk-usage", "--allowlist-request", "--allowlist-repository", "docker/allowlist", "--dry-run", "oci:" + dir},
		getenv, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "would open an issue") || !strings.Contains(errb.String(), "request body (dry run, not sent)") {
		t.Errorf("stderr does not show the request:\n%s", errb.String())
	}
	for _, r := range gh.requests {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("a dry run wrote: %s", r)
		}
	}
}
