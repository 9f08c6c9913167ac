package cli

// End-to-end tests of --push (issue 13): the check, then the push of the
// very image checked, against go-containerregistry's in-process registry
// and the real registry servers of integration_test.go (htpasswd auth).
// The Docker Hub protocol (Bearer challenge, token scope push,pull,
// uploads sent on to storage) is image's TestPushDockerHubProtocol.

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/docker/desktop-plugin-check/internal/realregistry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// pushJSON is the part of the JSON report the push tests read.
type pushJSON struct {
	Stats struct {
		PushRequests  int64 `json:"push_requests"`
		PushBytesSent int64 `json:"push_bytes_sent"`
	} `json:"stats"`
	Digest     string   `json:"digest"`
	Repository string   `json:"repository"`
	Release    string   `json:"release"`
	Result     string   `json:"result"`
	Errors     []string `json:"errors"`
	Push       *struct {
		Result  string `json:"result"`
		Message string `json:"message"`
		Targets []struct {
			Ref           string `json:"ref"`
			Digest        string `json:"digest"`
			Status        string `json:"status"`
			Previous      string `json:"previous"`
			BlobsUploaded int    `json:"blobs_uploaded"`
			BlobsMounted  int    `json:"blobs_mounted"`
			BlobsPresent  int    `json:"blobs_present"`
			Manifests     int    `json:"manifests_written"`
			BytesSent     int64  `json:"bytes_sent"`
			Requests      int64  `json:"requests"`
		} `json:"targets"`
	} `json:"push"`
}

func decodePush(t *testing.T, r integRun) pushJSON {
	t.Helper()
	var rep pushJSON
	if err := jsonUnmarshal(r.stdout, &rep); err != nil {
		t.Fatalf("decoding the JSON report: %v\n%s", err, r)
	}
	return rep
}

// attestedPlugin is a two-platform plugin with an attestation manifest for
// each platform, as buildx --attest writes it, and its digest.
func attestedPlugin(t *testing.T, labels map[string]string, metadata string, baseSize int) (v1.ImageIndex, string) {
	t.Helper()
	idx := imagetest.Plugin(t, labels, metadata, baseSize)
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := idx
	for _, d := range m.Manifests {
		out = imagetest.WithAttestation(t, out, d.Digest)
	}
	return out, integDigest(t, out)
}

// ociArchive writes idx as an OCI archive (buildx --output type=oci).
func ociArchive(t *testing.T, idx v1.ImageIndex) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "plugin.tar")
	imagetest.WriteOCIArchive(t, file, idx)
	return "oci-archive:" + file
}

// writes records the requests a registry receives that are not reads, and
// every Authorization header it receives.
type writes struct {
	mu   sync.Mutex
	reqs []string
	auth []string
	// user and password, when set, are required of every request (HTTP
	// basic auth).
	user, password string
}

func (w *writes) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.reqs = append(w.reqs, r.Method+" "+r.URL.Path)
		}
		w.auth = append(w.auth, r.Header.Get("Authorization"))
		w.mu.Unlock()
		if w.user != "" && r.Header.Get("Authorization") != basicAuth(w.user, w.password) {
			rw.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(rw, r)
	})
}

func (w *writes) written() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.reqs)
}

func (w *writes) headers() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.auth)
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// exists reports whether ref resolves.
func exists(t *testing.T, ref string, opts ...remote.Option) bool {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Head(r, opts...)
	return err == nil
}

// TestPushAfterPass: a passing check of an OCI archive pushes the very
// index checked (attestation manifests included) to each target, reads it
// back, and says so; the history is the first target's repository and
// the release its tag. Run again, it pushes nothing and says so.
func TestPushAfterPass(t *testing.T) {
	t.Parallel()
	idx, digest := attestedPlugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 64<<10)
	src := ociArchive(t, idx)
	w := &writes{}
	host := imagetest.RegistryWith(t, w.middleware)
	repo := host + "/acme/disk-usage"

	r := integExec(t, integEnv(t, ""), "", "--format", "json", "--push", repo+":1.2.0", "--push", repo+":latest", src)
	if r.code != exitPass {
		t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
	}
	rep := decodePush(t, r)
	if rep.Digest != digest || rep.Release != "1.2.0" || rep.Repository != repo {
		t.Errorf("report digest %s, release %q, repository %q; want %s, 1.2.0 (the target's tag), %s (the target's)", rep.Digest, rep.Release, rep.Repository, digest, repo)
	}
	if rep.Push == nil || rep.Push.Result != "pushed" || len(rep.Push.Targets) != 2 {
		t.Fatalf("report push = %+v, want two targets pushed", rep.Push)
	}
	for _, tg := range rep.Push.Targets {
		if tg.Digest != digest || tg.Status != "pushed" {
			t.Errorf("target %s: %s, digest %s; want pushed, %s", tg.Ref, tg.Status, tg.Digest, digest)
		}
		if !strings.Contains(r.stderr, "push: pushed "+tg.Ref+"@"+digest) {
			t.Errorf("stderr does not give %s's digest:\n%s", tg.Ref, r.stderr)
		}
	}
	// The two attestation manifests are the same one: 3 manifests, the
	// index, the tag.
	if tg := rep.Push.Targets[0]; tg.BlobsUploaded != 9 || tg.Manifests != 5 || tg.BytesSent == 0 || tg.Requests == 0 {
		t.Errorf("first target = %+v, want 9 blobs uploaded (3 configs, 6 layers) and 5 manifests written", tg)
	}
	if tg := rep.Push.Targets[1]; tg.BlobsUploaded != 0 || tg.Manifests != 1 {
		t.Errorf("second target = %+v, want only its tag written", tg)
	}
	want, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1.2.0", "latest"} {
		if got := imagetest.GetManifest(t, repo+":"+tag); !bytes.Equal(got, want) {
			t.Errorf("%s:%s is not the index checked:\n%s", repo, tag, got)
		}
	}
	pushed, err := remote.Index(mustParse(t, repo+":1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(pushed); err != nil {
		t.Errorf("the pushed index is not complete: %v", err)
	}

	t.Run("again", func(t *testing.T) {
		before := len(w.written())
		r := integExec(t, integEnv(t, ""), "", "--format", "json", "--push", repo+":1.2.0", "--push", repo+":latest", src)
		if r.code != exitPass {
			t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
		}
		rep := decodePush(t, r)
		for _, tg := range rep.Push.Targets {
			if tg.Status != "unchanged" || tg.Digest != digest {
				t.Errorf("target %s: %s, want unchanged", tg.Ref, tg.Status)
			}
		}
		if !strings.Contains(r.stderr, repo+":1.2.0 already is "+digest+": nothing pushed") {
			t.Errorf("stderr does not say that nothing was pushed:\n%s", r.stderr)
		}
		if got := w.written()[before:]; len(got) != 0 {
			t.Errorf("the second run wrote %v, want nothing", got)
		}
	})
}

func mustParse(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPushNothingUnlessThePass: a check that fails, or cannot run, pushes
// nothing and says so.
func TestPushNothingUnlessThePass(t *testing.T) {
	t.Parallel()
	failing := imagetest.ExtensionLabels()
	delete(failing, "org.opencontainers.image.title")
	failIdx, _ := attestedPlugin(t, failing, imagetest.PluginMetadata, 1024)
	okIdx, _ := attestedPlugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024)
	// A layout whose variants' configs are missing: it opens, but the
	// check cannot run to the end.
	broken := t.TempDir()
	imagetest.WriteLayout(t, broken, okIdx, "")
	img, err := okIdx.Image(mustDigest(t, okIdx, 0))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(broken, "blobs", cfg.Algorithm, cfg.Hex)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		src      string
		wantCode int
		wantSay  string
	}{
		{name: "check fails", src: ociArchive(t, failIdx), wantCode: exitFail, wantSay: "nothing pushed: the check failed"},
		{name: "no image", src: "oci-archive:" + filepath.Join(t.TempDir(), "missing.tar"), wantCode: exitError, wantSay: "nothing pushed: the check could not run"},
		{name: "check stops on an error", src: "oci:" + broken, wantCode: exitError, wantSay: "nothing pushed: the check could not run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &writes{}
			host := imagetest.RegistryWith(t, w.middleware)
			ref := host + "/acme/disk-usage:1.2.0"
			r := integExec(t, integEnv(t, ""), "", "--push", ref, tt.src)
			if r.code != tt.wantCode {
				t.Fatalf("run() = %d, want %d\n%s", r.code, tt.wantCode, r)
			}
			if !strings.Contains(r.stderr, "push: "+tt.wantSay) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantSay, r.stderr)
			}
			if got := w.written(); len(got) != 0 {
				t.Errorf("the registry received %v, want nothing written", got)
			}
			if exists(t, ref) {
				t.Errorf("%s exists", ref)
			}
		})
	}
}

// TestPushNeverRewritesARelease: a release tag that names another image is
// a finding of version/exists when the history is the target's (exit 1),
// and refused by the push when it is not (exit 2); either way the tag
// keeps its digest. A target whose tag is another release than the one
// checked is refused before anything is sent.
func TestPushNeverRewritesARelease(t *testing.T) {
	t.Parallel()
	idx, _ := attestedPlugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024)
	src := ociArchive(t, idx)
	otherLabels := imagetest.ExtensionLabels()
	otherLabels["org.opencontainers.image.title"] = "Another build"
	other := imagetest.Plugin(t, otherLabels, imagetest.PluginMetadata, 1024)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantSay  []string
	}{
		{name: "history in the target's repository", args: []string{"--release", "1.2.0"}, wantCode: exitFail,
			wantSay: []string{"version/exists", "push: nothing pushed: the check failed"}},
		{name: "history elsewhere", args: []string{"--release", "1.2.0", "--repository", "REGISTRY/acme/elsewhere"}, wantCode: exitError,
			wantSay: []string{"refusing to push to REGISTRY/acme/disk-usage:1.2.0: the tag exists with digest", "never moved", "not pushed"}},
		{name: "another release than the one checked", args: []string{"--release", "1.3.0", "--repository", "REGISTRY/acme/elsewhere"}, wantCode: exitError,
			wantSay: []string{"refusing to push to REGISTRY/acme/disk-usage:1.2.0: the release checked is 1.3.0, not 1.2.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &writes{}
			host := imagetest.RegistryWith(t, w.middleware)
			ref := host + "/acme/disk-usage:1.2.0"
			old := imagetest.Push(t, ref, other)
			before := len(w.written())
			var args []string
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "REGISTRY", host))
			}
			r := integExec(t, integEnv(t, ""), "", append(args, "--format", "json", "--push", ref, src)...)
			if r.code != tt.wantCode {
				t.Fatalf("run() = %d, want %d\n%s", r.code, tt.wantCode, r)
			}
			for _, s := range tt.wantSay {
				if s = strings.ReplaceAll(s, "REGISTRY", host); !strings.Contains(r.stdout+r.stderr, s) {
					t.Errorf("the run does not say %q:\n%s", s, r)
				}
			}
			if got := w.written()[before:]; len(got) != 0 {
				t.Errorf("the registry received %v, want nothing written", got)
			}
			if got := integDigest(t, mustHead(t, ref)); got != old.String() {
				t.Errorf("%s now names %s, want %s still", ref, got, old)
			}
			if rep := decodePush(t, r); rep.Push == nil || rep.Push.Targets[0].Status != "not pushed" {
				t.Errorf("report push = %+v, want the target not pushed", rep.Push)
			}
		})
	}
}

// headDigest is a HEAD's answer, as integDigest reads it.
type headDigest struct{ d v1.Hash }

func (h headDigest) Digest() (v1.Hash, error) { return h.d, nil }

func mustHead(t *testing.T, ref string, opts ...remote.Option) headDigest {
	t.Helper()
	d, err := remote.Head(mustParse(t, ref), opts...)
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return headDigest{d.Digest}
}

// TestPushUsage: the push flags that cannot go together are refused
// before anything is read.
func TestPushUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "both passwords on stdin", args: []string{"--username", "u", "--password-stdin", "--push", "acme/p:1.2.0", "--push-username", "p", "--push-password-stdin"},
			want: "--password-stdin and --push-password-stdin cannot both read standard input"},
		{name: "push user without password", args: []string{"--push", "acme/p:1.2.0", "--push-username", "p"}, want: "--push-username needs --push-password-stdin"},
		{name: "push password without user", args: []string{"--push", "acme/p:1.2.0", "--push-password-stdin"}, want: "--push-password-stdin needs --push-username"},
		{name: "push credentials without push", args: []string{"--push-username", "p", "--push-password-stdin"}, want: "need --push"},
		{name: "no tag", args: []string{"--push", "acme/p"}, want: `--push "acme/p" names no tag`},
		{name: "not a reference", args: []string{"--push", "acme/P:1.2.0"}, want: `--push "acme/P:1.2.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "secret\n", append(tt.args, "oci:"+exampleLayout)...)
			if r.code != exitError || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q: want 2 saying %q", r.code, r.stderr, tt.want)
			}
		})
	}
	if r := runCLI(t, "", "lint", "--push", "acme/p:1.2.0", t.TempDir()); r.code != exitError || !strings.Contains(r.stderr, "--push needs an image check") {
		t.Errorf("lint --push: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestPushCredentialsGoOnlyToTheTarget: the registry's credentials
// (--username, or its Docker config entry) go to the source registry only,
// the push credentials (--push-username, or the target's Docker config
// entry) to the target only.
func TestPushCredentialsGoOnlyToTheTarget(t *testing.T) {
	t.Parallel()
	const (
		srcUser, srcPassword   = "source-ci", "Source-S3cret-aa11"
		pushUser, pushPassword = "release-ci", "Push-S3cret-bb22"
	)
	idx, digest := attestedPlugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024)
	tests := []struct {
		name string
		// args get SOURCE and TARGET replaced by the registries' hosts.
		args  []string
		stdin string
		// config lists which registries the Docker config holds
		// credentials for.
		config []string
	}{
		{name: "--username for the source, Docker config for the target",
			args: []string{"--username", srcUser, "--password-stdin"}, stdin: srcPassword + "\n", config: []string{"TARGET"}},
		{name: "Docker config for the source, --push-username for the target",
			args: []string{"--push-username", pushUser, "--push-password-stdin"}, stdin: pushPassword + "\n", config: []string{"SOURCE"}},
		{name: "Docker config for both", config: []string{"SOURCE", "TARGET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srcLog := &writes{user: srcUser, password: srcPassword}
			source := imagetest.RegistryWith(t, srcLog.middleware)
			tgtLog := &writes{user: pushUser, password: pushPassword}
			target := imagetest.RegistryWith(t, tgtLog.middleware)
			imagetest.Push(t, source+"/acme/staging:1.2.0-rc.1", idx, remote.WithAuth(&authn.Basic{Username: srcUser, Password: srcPassword}))
			srcLog.mu.Lock()
			srcLog.auth = nil
			srcLog.mu.Unlock()

			// One config file, each registry under its own key.
			dir := filepath.Join(t.TempDir(), "docker")
			auths := map[string]string{}
			for _, c := range tt.config {
				if c == "SOURCE" {
					auths[source] = basicAuthValue(srcUser, srcPassword)
				} else {
					auths[target] = basicAuthValue(pushUser, pushPassword)
				}
			}
			writeDockerConfig(t, dir, auths)
			var args []string
			for _, a := range tt.args {
				args = append(args, strings.NewReplacer("SOURCE", source, "TARGET", target).Replace(a))
			}
			args = append(args, "--format", "json", "--release", "1.2.0", "--push", target+"/acme/disk-usage:1.2.0", source+"/acme/staging:1.2.0-rc.1")
			r := integExec(t, integEnv(t, dir), tt.stdin, args...)
			if r.code != exitPass {
				t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
			}
			if rep := decodePush(t, r); rep.Push.Targets[0].Digest != digest {
				t.Errorf("pushed %+v, want digest %s", rep.Push.Targets[0], digest)
			}
			for _, a := range srcLog.headers() {
				if a != "" && a != basicAuth(srcUser, srcPassword) {
					t.Errorf("the source registry received %q", a)
				}
			}
			for _, a := range tgtLog.headers() {
				if a != "" && a != basicAuth(pushUser, pushPassword) {
					t.Errorf("the target registry received %q", a)
				}
			}
			for _, s := range []string{srcPassword, pushPassword} {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Errorf("the output holds the password %q", s)
				}
			}
		})
	}
}

func basicAuthValue(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// writeDockerConfig writes config.json in dir with auths (host: base64
// user:password).
func writeDockerConfig(t *testing.T, dir string, auths map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString(`{"auths":{`)
	first := true
	for host, auth := range auths {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + host + `":{"auth":"` + auth + `"}`)
	}
	b.WriteString("}}")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestPushBlobsAlreadyThere: a release that shares its base and backend
// layers with the one in the target uploads only what is new, and the
// JSON report says so.
func TestPushBlobsAlreadyThere(t *testing.T) {
	t.Parallel()
	const baseSize = 1 << 20
	w := &writes{}
	host := imagetest.RegistryWith(t, w.middleware)
	repo := host + "/acme/disk-usage"
	imagetest.Push(t, repo+":1.0.0", imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, baseSize))
	labels := imagetest.ExtensionLabels()
	labels["com.docker.extension.changelog"] = "<ul><li>Second release</li></ul>"
	next := imagetest.Plugin(t, labels, strings.Replace(imagetest.PluginMetadata, "My Plugin", "My Plugin, again", 1), baseSize)
	before := len(w.written())

	r := integExec(t, integEnv(t, ""), "", "--format", "json", "--push", repo+":1.1.0", ociArchive(t, next))
	if r.code != exitPass {
		t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
	}
	rep := decodePush(t, r)
	tg := rep.Push.Targets[0]
	if rep.Stats.PushRequests != tg.Requests || rep.Stats.PushBytesSent != tg.BytesSent {
		t.Errorf("stats: push %d requests, %d bytes sent; want the target's %d, %d", rep.Stats.PushRequests, rep.Stats.PushBytesSent, tg.Requests, tg.BytesSent)
	}
	// New: two configs and the top layer (one for both platforms); there
	// already: both base layers and both backend layers.
	if tg.BlobsUploaded != 3 || tg.BlobsPresent != 4 || tg.BlobsMounted != 0 {
		t.Errorf("blobs: %d uploaded, %d present, %d mounted; want 3, 4, 0", tg.BlobsUploaded, tg.BlobsPresent, tg.BlobsMounted)
	}
	if tg.BytesSent >= baseSize {
		t.Errorf("%d bytes sent, want less than one base layer (%d)", tg.BytesSent, baseSize)
	}
	count := map[string]int{}
	for _, q := range w.written()[before:] {
		m, p, _ := strings.Cut(q, " ")
		switch {
		case m == http.MethodPost && strings.HasSuffix(p, "/blobs/uploads/"):
			count["POST upload"]++
		case m == http.MethodPatch:
			count["PATCH"]++
		case m == http.MethodPut && strings.Contains(p, "/blobs/uploads/"):
			count["PUT blob"]++
		}
	}
	if count["POST upload"] != 3 || count["PATCH"] != 3 || count["PUT blob"] != 3 {
		t.Errorf("blob requests %v, want 3 of each (one per new blob)", count)
	}
}

// TestPushRetries: 503 and 429 answers during the push are retried.
func TestPushRetries(t *testing.T) {
	t.Parallel()
	f := &failFirst{fail: map[string]int{
		http.MethodPatch + " upload": http.StatusServiceUnavailable,
		http.MethodPut + " tag":      http.StatusTooManyRequests,
	}}
	host := imagetest.RegistryWith(t, f.middleware)
	idx, digest := attestedPlugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024)
	r := integExec(t, integEnv(t, ""), "", "--format", "json", "--push", host+"/acme/disk-usage:1.2.0", ociArchive(t, idx))
	if r.code != exitPass {
		t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
	}
	if d := decodePush(t, r).Push.Targets[0].Digest; d != digest {
		t.Errorf("pushed digest %s, want %s", d, digest)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.fail) != 0 {
		t.Errorf("not answered with an error: %v", f.fail)
	}
}

// failFirst answers the first request of each kind in fail with its status.
type failFirst struct {
	mu   sync.Mutex
	fail map[string]int
}

func (f *failFirst) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.Method + " upload"
		if strings.Contains(r.URL.Path, "/manifests/") && !strings.Contains(r.URL.Path, "sha256:") {
			kind = r.Method + " tag"
		}
		f.mu.Lock()
		status, ok := f.fail[kind]
		delete(f.fail, kind)
		f.mu.Unlock()
		if ok {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestPushSinglePlatform: docker save output holds one platform; when
// --platforms allows it, that manifest is pushed as it was checked.
func TestPushSinglePlatform(t *testing.T) {
	t.Parallel()
	idx := imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024)
	img, err := idx.Image(mustDigest(t, idx, 0))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "plugin.tar")
	imagetest.WriteDockerArchive(t, file, img, "acme/disk-usage:1.2.0")
	host := imagetest.Registry(t)
	ref := host + "/acme/disk-usage:1.2.0"
	r := integExec(t, integEnv(t, ""), "", "--format", "json", "--platforms", "linux/amd64", "--push", ref, "docker-archive:"+file)
	if r.code != exitPass {
		t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
	}
	rep := decodePush(t, r)
	if got := integDigest(t, mustHead(t, ref)); got != rep.Digest || rep.Push.Targets[0].Digest != rep.Digest {
		t.Errorf("%s names %s, the report %s and %s", ref, got, rep.Digest, rep.Push.Targets[0].Digest)
	}
	if r := integExec(t, integEnv(t, ""), "", "--push", host+"/acme/disk-usage:1.2.1", "--release", "1.2.1", "docker-archive:"+file); r.code != exitFail || !strings.Contains(r.stderr, "nothing pushed") {
		t.Errorf("one platform under the default --platforms: want exit 1 and nothing pushed\n%s", r)
	}
}

// TestIntegrationPush runs the push against the real registry servers
// (htpasswd auth, credentials from the Docker config): an OCI archive
// pushed whole, a staging tag promoted by mounting every blob (no byte
// uploaded), nothing on a failed check.
func TestIntegrationPush(t *testing.T) {
	t.Parallel()
	idx, digest := attestedPlugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 256<<10)
	want, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	creds := remote.WithAuth(&authn.Basic{Username: integUser, Password: integPassword})
	for _, srv := range integServers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			rec, host := realregistry.Record(t, srv.start(t, integUser, integPassword))
			cfg := integDockerConfig(t, filepath.Join(t.TempDir(), "docker"), integUser, integPassword, host)
			getenv := integEnv(t, cfg)

			t.Run("from an OCI archive", func(t *testing.T) {
				ref := host + "/acme/from-archive:1.2.0"
				r := integExec(t, getenv, "", "--format", "json", "--push", ref, ociArchive(t, idx))
				if r.code != exitPass {
					t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
				}
				integNoSecrets(t, r)
				if tg := decodePush(t, r).Push.Targets[0]; tg.Digest != digest || tg.BlobsUploaded == 0 {
					t.Errorf("pushed %+v, want digest %s and blobs uploaded", tg, digest)
				}
				if got := imagetest.GetManifest(t, ref, creds); !bytes.Equal(got, want) {
					t.Errorf("%s is not the index checked", ref)
				}
			})
			t.Run("a staging tag promoted", func(t *testing.T) {
				staging := host + "/acme/staging:1.2.0-rc.1"
				integPush(t, staging, idx)
				rec.Reset()
				ref := host + "/" + integRepo + ":1.2.0"
				r := integExec(t, getenv, "", "--format", "json", "--release", "1.2.0", "--push", ref, staging)
				if r.code != exitPass {
					t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
				}
				tg := decodePush(t, r).Push.Targets[0]
				// Two platforms and one attestation image (both
				// attestations are the same): 3 configs and 6 layers
				// (base and backend per platform, the top layer shared,
				// the attestation's).
				if tg.Digest != digest || tg.BlobsMounted != 9 || tg.BlobsUploaded != 0 {
					t.Errorf("pushed %+v, want digest %s and the 9 blobs mounted", tg, digest)
				}
				for _, q := range rec.Requests() {
					if q.Method == http.MethodPatch {
						t.Errorf("a blob was uploaded: %s %s", q.Method, q.Path)
					}
				}
				if got := imagetest.GetManifest(t, ref, creds); !bytes.Equal(got, want) {
					t.Errorf("%s is not the index checked", ref)
				}
			})
			t.Run("nothing on a failed check", func(t *testing.T) {
				failing := imagetest.ExtensionLabels()
				delete(failing, "com.docker.desktop.extension.api.version")
				bad, _ := attestedPlugin(t, failing, imagetest.PluginMetadata, 1024)
				ref := host + "/acme/failed:1.2.0"
				r := integExec(t, getenv, "", "--push", ref, ociArchive(t, bad))
				if r.code != exitFail || !strings.Contains(r.stderr, "nothing pushed") {
					t.Fatalf("run() = %d, want %d saying nothing was pushed\n%s", r.code, exitFail, r)
				}
				if exists(t, ref, creds) {
					t.Errorf("%s exists", ref)
				}
			})
		})
	}
}

// TestActionPush: inputs push, push-username and push-password; the
// password is masked before anything is printed and reaches no output;
// output pushed lists REF@DIGEST for each target.
func TestActionPush(t *testing.T) {
	t.Parallel()
	const user, password = "release-bot", "Act10n-Push-S3cret"
	w := &writes{user: user, password: password}
	host := imagetest.RegistryWith(t, w.middleware)
	idx, digest := attestedPlugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024)
	r := newRunner(t, map[string]string{
		"image": "oci-archive:plugin.tar", "version": "1.2.0",
		"push":          host + "/acme/disk-usage:1.2.0,\n" + host + "/acme/disk-usage:latest",
		"push-username": user, "push-password": password,
	})
	imagetest.WriteOCIArchive(t, filepath.Join(r.workspace, "plugin.tar"), idx)
	r.run()
	if r.code != exitPass {
		t.Fatalf("exit %d\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "::add-mask::"+password+"\n") {
		t.Errorf("the push password is not masked first:\n%s", r.stdout)
	}
	if strings.Count(r.stdout, password) != 1 || strings.Contains(r.stderr, password) {
		t.Errorf("the push password is printed beyond its mask")
	}
	want := host + "/acme/disk-usage:1.2.0@" + digest + "\n" + host + "/acme/disk-usage:latest@" + digest
	if got := r.outputs()["pushed"]; got != want {
		t.Errorf("output pushed = %q, want %q", got, want)
	}
	if s := r.file(r.summary); !strings.Contains(s, "### Push") || !strings.Contains(s, digest) {
		t.Errorf("the summary does not show the push:\n%s", s)
	}
}

// TestIntegrationPushInterrupted: a proxy in front of each real registry
// drops the connection of an upload mid-layer. Dropped once, the upload is
// started again and the push completes; dropped every time, the run exits
// 2 and no tag is written.
func TestIntegrationPushInterrupted(t *testing.T) {
	t.Parallel()
	big := imagetest.Image(t, imagetest.Spec{Labels: imagetest.ExtensionLabels(), Layers: []v1.Layer{
		integRandomLayer(t, "bin/base", 1<<20, 7),
		imagetest.Layer(t, imagetest.PluginFiles(imagetest.PluginMetadata)...),
	}})
	file := filepath.Join(t.TempDir(), "plugin.tar")
	imagetest.WriteDockerArchive(t, file, big, "acme/disk-usage:1.2.0")
	creds := remote.WithAuth(&authn.Basic{Username: integUser, Password: integPassword})
	for _, srv := range integServers {
		for _, tt := range []struct {
			name  string
			drops int64
			want  int
		}{
			{name: "dropped once", drops: 1, want: exitPass},
			{name: "dropped every time", drops: 1 << 20, want: exitError},
		} {
			t.Run(srv.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				d := &dropUploads{left: tt.drops}
				host := realregistry.Front(t, srv.start(t, integUser, integPassword), d.middleware)
				cfg := integDockerConfig(t, filepath.Join(t.TempDir(), "docker"), integUser, integPassword, host)
				ref := host + "/" + integRepo + ":1.2.0"
				r := integExec(t, integEnv(t, cfg), "", "--format", "json", "--platforms", "linux/amd64", "--push", ref, "docker-archive:"+file)
				if r.code != tt.want {
					t.Fatalf("run() = %d, want %d\n%s", r.code, tt.want, r)
				}
				rep := decodePush(t, r)
				if tt.want == exitPass {
					if got := integDigest(t, mustHead(t, ref, creds)); got != rep.Digest {
						t.Errorf("%s names %s, want %s", ref, got, rep.Digest)
					}
					return
				}
				if rep.Result != "error" || rep.Push.Result != "failed" || rep.Push.Targets[0].Status != "not pushed" {
					t.Errorf("report result %q, push %+v; want error, failed, not pushed", rep.Result, rep.Push)
				}
				if !strings.Contains(r.stderr, "pushing to "+ref) || !strings.Contains(r.stdout, "NOT PUSHED") && !strings.Contains(r.stderr, "not pushed") {
					t.Errorf("the run does not say that the push failed:\n%s", r)
				}
				if exists(t, ref, creds) {
					t.Errorf("%s exists after a failed push", ref)
				}
			})
		}
	}
}

// dropUploads closes the connection of uploads (PATCH) after reading part
// of the body, left times.
type dropUploads struct {
	mu   sync.Mutex
	left int64
}

func (d *dropUploads) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		drop := r.Method == http.MethodPatch && d.left > 0
		if drop {
			d.left--
		}
		d.mu.Unlock()
		if !drop {
			next.ServeHTTP(w, r)
			return
		}
		io.CopyN(io.Discard, r.Body, 64<<10)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		conn.Close()
	})
}
