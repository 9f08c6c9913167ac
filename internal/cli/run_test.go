package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// env is a controlled environment: no Docker config, no Action variables.
func env(t *testing.T, kv ...string) func(string) string {
	m := map[string]string{"HOME": t.TempDir()}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, env(t), strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// jsonReport is the subset of the JSON report the tests read.
type jsonReport struct {
	Version   int    `json:"version"`
	Image     string `json:"image"`
	Digest    string `json:"digest"`
	Release   string `json:"release"`
	Profile   string `json:"profile"`
	Result    string `json:"result"`
	Platforms []struct {
		Platform string `json:"platform"`
	} `json:"platforms"`
	Findings []struct {
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
		Platform string `json:"platform"`
		Pointer  string `json:"pointer"`
		Label    string `json:"label"`
		Message  string `json:"message"`
	} `json:"findings"`
	Stats struct {
		Requests int64 `json:"requests"`
		Bytes    int64 `json:"bytes"`
	} `json:"stats"`
}

func decode(t *testing.T, s string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("decoding JSON report: %v\n%s", err, s)
	}
	return r
}

func (r jsonReport) rules() []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule)
	}
	return out
}

func TestEndToEndRegistry(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	good := imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1<<16)
	imagetest.Push(t, host+"/acme/plugin:1.0.0", good)

	r := runCLI(t, "", host+"/acme/plugin:1.0.0", "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	rep := decode(t, r.stdout)
	if rep.Version != 1 || rep.Result != "pass" || rep.Release != "1.0.0" || rep.Profile != "extension" {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Platforms) != 2 || rep.Platforms[0].Platform != "linux/amd64" || rep.Platforms[1].Platform != "linux/arm64" {
		t.Errorf("platforms = %+v", rep.Platforms)
	}
	if rep.Stats.Requests == 0 || rep.Stats.Bytes == 0 {
		t.Errorf("stats = %+v, want requests and bytes counted", rep.Stats)
	}
	// The base layers (64 KiB each, incompressible) are never read.
	if rep.Stats.Bytes > 1<<16 {
		t.Errorf("read %d bytes, more than one base layer: layers were read that hold no wanted file", rep.Stats.Bytes)
	}
}

func TestEndToEndFindingsAndExitCodes(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	labels := imagetest.PluginLabels()
	delete(labels, "org.opencontainers.image.authors")
	imagetest.Push(t, host+"/acme/broken:1.0.0", imagetest.Plugin(t, labels, `{"ui": {"dashboard-tab": {"title": "x", "root": "/ui"}}}`, 1024))

	r := runCLI(t, "", "--format", "json", host+"/acme/broken:1.0.0")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:%s", r.code, r.stderr)
	}
	rep := decode(t, r.stdout)
	if rep.Result != "fail" || rep.Profile != "plugin" {
		t.Errorf("result %s profile %s, want fail plugin", rep.Result, rep.Profile)
	}
	want := map[string]bool{"labels/required": false, "metadata/schema": false}
	for _, f := range rep.Findings {
		if _, ok := want[f.Rule]; ok {
			want[f.Rule] = true
		}
	}
	for rule, seen := range want {
		if !seen {
			t.Errorf("no %s finding in %v", rule, rep.rules())
		}
	}
	// --fail-on never turns the same findings into a pass.
	if r := runCLI(t, "", "--fail-on", "never", host+"/acme/broken:1.0.0"); r.code != 0 {
		t.Errorf("--fail-on never: exit %d, want 0", r.code)
	}
}

func TestEndToEndLocalSources(t *testing.T) {
	t.Parallel()
	idx := imagetest.Plugin(t, imagetest.PluginLabels(), imagetest.PluginMetadata, 4096)
	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	imagetest.WriteLayout(t, layoutDir, idx, "1.0.0")
	archive := filepath.Join(dir, "plugin.tar")
	imagetest.WriteOCIArchive(t, archive, idx)
	img, err := idx.Image(mustDigest(t, idx, 0))
	if err != nil {
		t.Fatal(err)
	}
	dockerArchive := filepath.Join(dir, "docker.tar")
	imagetest.WriteDockerArchive(t, dockerArchive, img, "acme/plugin:1.0.0")

	for _, tc := range []struct {
		name      string
		src       string
		platforms int
	}{
		{"oci layout", "oci:" + layoutDir, 2},
		{"oci layout by ref name", "oci:" + layoutDir + ":1.0.0", 2},
		{"oci archive", "oci-archive:" + archive, 2},
		{"docker archive", "docker-archive:" + dockerArchive, 1},
		{"docker archive by tag", "docker-archive:" + dockerArchive + ":acme/plugin:1.0.0", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", "--format", "json", tc.src)
			if r.code == 2 {
				t.Fatalf("exit 2: %s", r.stderr)
			}
			rep := decode(t, r.stdout)
			if len(rep.Platforms) != tc.platforms {
				t.Errorf("%d platforms, want %d", len(rep.Platforms), tc.platforms)
			}
			for _, f := range rep.Findings {
				if strings.HasPrefix(f.Rule, "labels/") || strings.HasPrefix(f.Rule, "metadata/") {
					t.Errorf("unexpected finding %+v", f)
				}
			}
		})
	}
}

func mustDigest(t *testing.T, idx v1.ImageIndex, i int) v1.Hash {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Manifests[i].Digest
}

func TestEndToEndCouldNotRun(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	// A host that refuses connections: a listener closed right away.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	notJSON := filepath.Join(t.TempDir(), "not-a-layout")
	os.MkdirAll(notJSON, 0o755)

	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no image", nil, "", "no image given"},
		{"two images", []string{"a", "b"}, "", "one image at a time"},
		{"bad format", []string{"--format", "yaml", "x"}, "", `unknown format "yaml"`},
		{"bad output", []string{"--output", "json", "x"}, "", "FORMAT=PATH"},
		{"bad fail-on", []string{"--fail-on", "fatal", "x"}, "", "fail-on: unknown severity"},
		{"bad profile", []string{"--profile", "app", "x"}, "", "unknown profile"},
		{"bad platform", []string{"--platforms", "amd64", "x"}, "", "OS/ARCH"},
		{"bad api version", []string{"--desktop-api-version", ">= 1", "x"}, "", `desktop-api-version: ">=" is not a semver version`},
		{"username without password", []string{"--username", "u", "x"}, "", "--password-stdin"},
		{"empty password", []string{"--username", "u", "--password-stdin", host + "/a/b:1"}, "", "standard input is empty"},
		{"bad reference", []string{"UPPER/Case::x"}, "", "parsing image reference"},
		{"missing tag", []string{host + "/acme/none:1.0.0"}, "", "not found on registry " + host},
		{"unreachable registry", []string{"--timeout", "20s", closed + "/acme/plugin:1.0.0"}, "", "registry " + closed + " is unreachable"},
		{"missing layout", []string{"oci:/nonexistent/dir"}, "", "opening OCI layout"},
		{"not a layout", []string{"oci:" + notJSON}, "", "no index.json"},
		{"missing archive", []string{"oci-archive:/nonexistent.tar"}, "", "opening OCI archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, tc.stdin, tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tc.want)
			}
		})
	}
}

// flaky wraps a registry: once enabled, the first request to each path
// gets 429 with Retry-After 0, the third a 503, and so on.
type flaky struct {
	h       http.Handler
	enabled atomic.Bool
	mu      sync.Mutex
	seen    map[string]int
	fails   atomic.Int64
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.enabled.Load() || r.URL.Path == "/v2/" {
		f.h.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	f.seen[r.Method+r.URL.Path]++
	n := f.seen[r.Method+r.URL.Path]
	f.mu.Unlock()
	if n%2 == 1 {
		f.fails.Add(1)
		if n%4 == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	f.h.ServeHTTP(w, r)
}

func TestEndToEndFlakyRegistry(t *testing.T) {
	t.Parallel()
	fl := &flaky{h: registry.New(registry.Logger(log.New(io.Discard, "", 0))), seen: map[string]int{}}
	srv := httptest.NewServer(fl)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	imagetest.Push(t, host+"/acme/plugin:1.0.0", imagetest.Plugin(t, imagetest.PluginLabels(), imagetest.PluginMetadata, 1024))
	fl.enabled.Store(true)

	r := runCLI(t, "", "--format", "json", host+"/acme/plugin:1.0.0")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 despite retryable errors\nstderr:%s", r.code, r.stderr)
	}
	if fl.fails.Load() == 0 {
		t.Fatal("the registry never failed: the test tests nothing")
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func TestCLIUsageHelpers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tarball := filepath.Join(dir, "plugin.tar")
	os.WriteFile(tarball, []byte("x"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"-h prints usage", []string{"-h"}, 0, "usage: desktop-plugin-check"},
		{"a layout directory without oci:", []string{dir}, 2, `use oci:` + dir},
		{"an archive without a transport", []string{tarball}, 2, "oci-archive:" + tarball},
		{"a relative path", []string{"./nope"}, 2, "looks like a local path"},
		{"allow-list flags without the request", []string{"--allowlist-repository", "docker/allowlist", "x"}, 2, "need --allowlist-request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

// TestReportFilesAreReadable: later workflow steps may run as another user.
func TestReportFilesAreReadable(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "r.sarif")
	if r := runCLI(t, "", "--output", "sarif="+p, "oci:"+exampleLayout); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("report mode %v, want 0644", st.Mode().Perm())
	}
}

// TestUnreadableLayerKeepsLabelFindings: a variant whose layer cannot be
// read is an error (exit 2), but the label findings are still reported.
func TestUnreadableLayerKeepsLabelFindings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	labels := imagetest.ExtensionLabels()
	delete(labels, "com.docker.extension.changelog")
	idx := imagetest.Plugin(t, labels, imagetest.PluginMetadata, 1024)
	imagetest.WriteLayout(t, dir, idx, "")
	// Delete the amd64 variant's top layer blob.
	img, err := idx.Image(mustDigest(t, idx, 0))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	top := m.Layers[len(m.Layers)-1].Digest
	if err := os.Remove(filepath.Join(dir, "blobs", top.Algorithm, top.Hex)); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "--format", "json", "oci:"+dir)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	rep := decode(t, r.stdout)
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "labels/required" {
			found = true
		}
	}
	if !found {
		t.Errorf("findings %v lost the labels/required finding", rep.rules())
	}
	if strings.Contains(r.stderr, `\u000a`) {
		t.Errorf("joined errors printed on one line: %s", r.stderr)
	}
}

// TestHostileLayerIsAFinding: a layer entry that climbs out of the root is
// an image/layer error naming the layer and the entry; every other rule
// still runs (here labels/required finds the missing vendor) and the exit
// code is 1, not 2.
func TestHostileLayerIsAFinding(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	labels := imagetest.ExtensionLabels()
	delete(labels, "org.opencontainers.image.vendor")
	hostile := imagetest.Layer(t, imagetest.File{Path: "../../etc/cron.d/x", Body: "* * * * * root sh\n"})
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		imgs = append(imgs, imagetest.Image(t, imagetest.Spec{Arch: arch, Labels: labels,
			Layers: []v1.Layer{imagetest.Layer(t, imagetest.PluginFiles(imagetest.PluginMetadata)...), hostile}}))
	}
	ref := host + "/acme/hostile:1.0.0"
	imagetest.Push(t, ref, imagetest.Index(t, imgs...))
	r := runCLI(t, "", "--format", "json", ref)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (a finding); stderr: %s\n%s", r.code, r.stderr, r.stdout)
	}
	d, err := hostile.Digest()
	if err != nil {
		t.Fatal(err)
	}
	rep := decode(t, r.stdout)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.Rule+" "+f.Severity+" "+f.Platform+": "+f.Message)
	}
	want := []string{
		`image/layer error : layer 2 (` + d.String() + `): entry "../../etc/cron.d/x" climbs out of the image root; Docker refuses to unpack it`,
		`labels/required error : required label "org.opencontainers.image.vendor" is missing in every platform (profile extension)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings mismatch (-want +got):\n%s", diff)
	}
}

// TestInterruptedRunReportsWhatItLearned: a run whose context is cancelled
// by a signal exits 2 and says so.
func TestInterruptedRunReportsWhatItLearned(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	ref := host + "/acme/plugin:1.0.0"
	imagetest.Push(t, ref, imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 256))
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(fmt.Errorf("%w by interrupt", ErrInterrupted))
	var out, errb bytes.Buffer
	code := run(ctx, []string{ref}, env(t), strings.NewReader(""), &out, &errb)
	if code != exitError {
		t.Fatalf("exit %d, want 2\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted by interrupt") {
		t.Errorf("stderr does not say the run was interrupted:\n%s", errb.String())
	}
}

// TestReportSaysWhichLayersWereVerified: a layer read to its end is
// verified against its digest; a large one read in part is listed as read
// in part; a layer never read is not listed.
func TestReportSaysWhichLayersWereVerified(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	// No UI (whose listing would read the whole layer): the read stops
	// once metadata.json and the icon are found.
	big := imagetest.Layer(t, imagetest.File{Path: "metadata.json", Body: `{"icon": "docker.svg", "vm": {"image": "acme/backend:1.0.0"}}`},
		imagetest.File{Path: "docker.svg", Body: "<svg/>"},
		imagetest.File{Path: "zz/blob", Body: string(imagetest.Incompressible(12<<20, "big"))})
	small := imagetest.Layer(t, imagetest.File{Path: "etc/motd", Body: "hi"})
	base := imagetest.Layer(t, imagetest.File{Path: "base", Body: string(imagetest.Incompressible(1<<20, "base"))})
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64"} {
		imgs = append(imgs, imagetest.Image(t, imagetest.Spec{Arch: arch, Labels: imagetest.ExtensionLabels(), Layers: []v1.Layer{base, big, small}}))
	}
	ref := host + "/acme/p:1.0.0"
	imagetest.Push(t, ref, imagetest.Index(t, imgs...))
	r := runCLI(t, "", "--format", "json", ref)
	var rep struct {
		Layers []struct {
			Digest   string `json:"digest"`
			Size     int64  `json:"size"`
			Bytes    int64  `json:"bytes_read"`
			Verified bool   `json:"verified"`
		} `json:"layers"`
	}
	if err := jsonUnmarshal(r.stdout, &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	digest := func(l v1.Layer) string {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	got := map[string]string{}
	for _, l := range rep.Layers {
		state := "verified"
		if !l.Verified {
			state = "in part"
			if l.Bytes >= l.Size {
				state = "read whole but not verified"
			}
		}
		got[l.Digest] = state
	}
	want := map[string]string{digest(small): "verified", digest(big): "in part"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layers mismatch (-want +got):\n%s\n%s", diff, r.stdout)
	}
}
