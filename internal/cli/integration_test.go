package cli

// Integration tests against real registry servers, each with htpasswd basic
// auth on plain HTTP: the reference server (CNCF distribution v3) run
// in-process, which needs nothing installed, and the server of Debian's
// docker-registry package (distribution 2.8) run as a process, which is
// skipped, with a message, when it is not installed (.ci/run installs it).

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/docker/desktop-plugin-check/internal/realregistry"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// integServer is a real registry server that the integration tests run
// against: start runs one that accepts user with password and returns its
// host.
type integServer struct {
	name  string
	start func(t testing.TB, user, password string) (host string)
}

var integServers = []integServer{
	{name: "distribution-v3-in-process", start: realregistry.Start},
	{name: "docker-registry-2.8-binary", start: realregistry.StartBinary},
}

const (
	integUser     = "acme-ci"
	integPassword = "Integ-S3cret-7f3a9c"
	// integWrongPassword is a distinct string so that a leak of either is
	// caught.
	integWrongPassword = "Wr0ng-Guess-b41d2e"
	integRepo          = "acme/disk-usage"
	integTag           = "1.0.0"
)

// integReport is the part of the JSON report (schema version 1) these
// tests read.
type integReport struct {
	Version    int                 `json:"version"`
	Image      string              `json:"image"`
	Digest     string              `json:"digest"`
	Repository string              `json:"repository"`
	Release    string              `json:"release"`
	Profile    string              `json:"profile"`
	Result     string              `json:"result"`
	Platforms  []integPlatform     `json:"platforms"`
	Findings   []map[string]string `json:"findings"`
	Errors     []string            `json:"errors"`
	Stats      struct {
		Requests int64 `json:"requests"`
		Bytes    int64 `json:"bytes"`
	} `json:"stats"`
}

type integPlatform struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
}

// integRun is one run of the program.
type integRun struct {
	code           int
	stdout, stderr string
}

func integExec(t *testing.T, getenv func(string) string, stdin string, args ...string) integRun {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errb)
	return integRun{code: code, stdout: out.String(), stderr: errb.String()}
}

func (r integRun) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// integEnv is a controlled environment: HOME is an empty temp dir and
// DOCKER_CONFIG, when dockerConfig is not empty, points at it.
func integEnv(t *testing.T, dockerConfig string) func(string) string {
	m := map[string]string{"HOME": t.TempDir()}
	if dockerConfig != "" {
		m["DOCKER_CONFIG"] = dockerConfig
	}
	return func(k string) string { return m[k] }
}

// integCreds are the credentials of a Docker config file: one password for
// integUser under each key.
type integCreds struct {
	password string
	keys     []string
}

// integDockerConfig writes a Docker config directory whose config.json
// holds base64 credentials for each key (a registry host, or a URL).
func integDockerConfig(t *testing.T, dir, user, password string, keys ...string) string {
	t.Helper()
	auths := map[string]map[string]string{}
	for _, k := range keys {
		auths[k] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// integDecode parses a JSON report.
func integDecode(t *testing.T, s string) integReport {
	t.Helper()
	var r integReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("decoding JSON report: %v\n%s", err, s)
	}
	return r
}

// integPush pushes idx to the registry with the right credentials.
func integPush(t *testing.T, ref string, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	return imagetest.Push(t, ref, idx, remote.WithAuth(&authn.Basic{Username: integUser, Password: integPassword}))
}

// integPlatforms lists the platform images of idx as the report should.
func integPlatforms(t *testing.T, idx v1.ImageIndex) []integPlatform {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []integPlatform
	for _, d := range im.Manifests {
		out = append(out, integPlatform{Platform: d.Platform.OS + "/" + d.Platform.Architecture, Digest: d.Digest.String()})
	}
	return out
}

// integNoSecrets fails if a credential shows up in the output.
func integNoSecrets(t *testing.T, r integRun) {
	t.Helper()
	secrets := []string{integPassword, integWrongPassword}
	for _, pw := range []string{integPassword, integWrongPassword} {
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(integUser+":"+pw)))
	}
	for _, s := range secrets {
		if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
			t.Errorf("output leaks the credential %q:\n%s", s, r)
		}
	}
}

func TestIntegrationRealRegistryAuth(t *testing.T) {
	t.Parallel()
	for _, srv := range integServers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			integRealRegistryAuth(t, srv.start(t, integUser, integPassword))
		})
	}
}

// integRealRegistryAuth is TestIntegrationRealRegistryAuth against the
// registry at host.
func integRealRegistryAuth(t *testing.T, host string) {
	idx := imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1<<20)
	digest := integPush(t, host+"/"+integRepo+":"+integTag, idx)
	ref := host + "/" + integRepo + ":" + integTag
	missing := host + "/" + integRepo + ":9.9.9"

	tests := []struct {
		name string
		// args are the flags; the image reference comes last.
		args []string
		ref  string
		// stdin is standard input (the password with --password-stdin).
		stdin string
		// docker is written to $DOCKER_CONFIG/config.json; nil means no
		// DOCKER_CONFIG.
		docker *integCreds
		// home is written to $HOME/.docker/config.json.
		home       *integCreds
		wantCode   int
		wantStderr []string
	}{
		{
			name:     "username and password on stdin",
			args:     []string{"--format", "json", "--username", integUser, "--password-stdin"},
			ref:      ref,
			stdin:    integPassword + "\n",
			wantCode: exitPass,
		},
		{
			name:     "password on stdin without trailing newline",
			args:     []string{"--format", "json", "--username", integUser, "--password-stdin"},
			ref:      ref,
			stdin:    integPassword,
			wantCode: exitPass,
		},
		{
			name:     "password on stdin overrides a wrong docker config",
			args:     []string{"--format", "json", "--username", integUser, "--password-stdin"},
			ref:      ref,
			stdin:    integPassword + "\n",
			docker:   &integCreds{password: integWrongPassword, keys: []string{host}},
			wantCode: exitPass,
		},
		{
			name:     "DOCKER_CONFIG keyed by host",
			args:     []string{"--format", "json"},
			ref:      ref,
			docker:   &integCreds{password: integPassword, keys: []string{host}},
			wantCode: exitPass,
		},
		{
			name:     "DOCKER_CONFIG keyed by http URL",
			args:     []string{"--format", "json"},
			ref:      ref,
			docker:   &integCreds{password: integPassword, keys: []string{"http://" + host}},
			wantCode: exitPass,
		},
		{
			name:     "HOME/.docker without DOCKER_CONFIG",
			args:     []string{"--format", "json"},
			ref:      ref,
			home:     &integCreds{password: integPassword, keys: []string{host}},
			wantCode: exitPass,
		},
		{
			name:       "wrong password on stdin",
			args:       []string{"--username", integUser, "--password-stdin"},
			ref:        ref,
			stdin:      integWrongPassword + "\n",
			wantCode:   exitError,
			wantStderr: []string{"registry " + host + " refused access", "HTTP 401", "check the credentials"},
		},
		{
			name:       "wrong password in DOCKER_CONFIG",
			ref:        ref,
			docker:     &integCreds{password: integWrongPassword, keys: []string{host}},
			wantCode:   exitError,
			wantStderr: []string{"registry " + host + " refused access", "HTTP 401"},
		},
		{
			name:       "unknown user",
			args:       []string{"--username", "mallory", "--password-stdin"},
			ref:        ref,
			stdin:      integPassword + "\n",
			wantCode:   exitError,
			wantStderr: []string{"registry " + host + " refused access", "HTTP 401"},
		},
		{
			name:       "Docker config without credentials",
			ref:        ref,
			docker:     &integCreds{},
			wantCode:   exitError,
			wantStderr: []string{"registry " + host + " refused access", "HTTP 401"},
		},
		{
			name:       "no Docker config at all",
			ref:        ref,
			wantCode:   exitError,
			wantStderr: []string{"registry " + host + " refused access", "HTTP 401"},
		},
		{
			name:       "credentials for another registry",
			ref:        ref,
			docker:     &integCreds{password: integPassword, keys: []string{"registry.example"}},
			wantCode:   exitError,
			wantStderr: []string{"registry " + host + " refused access", "HTTP 401"},
		},
		{
			name:       "nonexistent tag",
			args:       []string{"--username", integUser, "--password-stdin"},
			ref:        missing,
			stdin:      integPassword + "\n",
			wantCode:   exitError,
			wantStderr: []string{"not found on registry " + host, missing},
		},
		{
			name:       "nonexistent repository",
			ref:        host + "/acme/nothing-here:1.0.0",
			docker:     &integCreds{password: integPassword, keys: []string{host}},
			wantCode:   exitError,
			wantStderr: []string{"not found on registry " + host, host + "/acme/nothing-here:1.0.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := map[string]string{"HOME": t.TempDir()}
			if tt.docker != nil {
				m["DOCKER_CONFIG"] = integDockerConfig(t, filepath.Join(t.TempDir(), "docker"), integUser, tt.docker.password, tt.docker.keys...)
			}
			if tt.home != nil {
				integDockerConfig(t, filepath.Join(m["HOME"], ".docker"), integUser, tt.home.password, tt.home.keys...)
			}
			getenv := func(k string) string { return m[k] }

			r := integExec(t, getenv, tt.stdin, append(slices.Clone(tt.args), tt.ref)...)
			integNoSecrets(t, r)
			if r.code != tt.wantCode {
				t.Fatalf("run() = %d, want %d\n%s", r.code, tt.wantCode, r)
			}
			for _, s := range tt.wantStderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, r.stderr)
				}
			}
			if tt.wantCode != exitPass {
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing when the check could not run", r.stdout)
				}
				return
			}
			if r.stderr != "" {
				t.Errorf("stderr = %q, want nothing on a pass", r.stderr)
			}
			rep := integDecode(t, r.stdout)
			got := integReport{
				Version: rep.Version, Image: rep.Image, Digest: rep.Digest, Repository: rep.Repository,
				Release: rep.Release, Result: rep.Result, Platforms: rep.Platforms,
			}
			want := integReport{
				Version: 1, Image: ref, Digest: digest.String(), Repository: host + "/" + integRepo,
				Release: integTag, Result: "pass", Platforms: integPlatforms(t, idx),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("run() report mismatch (-want +got):\n%s", diff)
			}
			var plats []string
			for _, p := range rep.Platforms {
				plats = append(plats, p.Platform)
			}
			sort.Strings(plats)
			if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, plats); diff != "" {
				t.Errorf("run() platforms mismatch (-want +got):\n%s", diff)
			}
			if rep.Stats.Requests <= 0 {
				t.Errorf("stats.requests = %d, want > 0", rep.Stats.Requests)
			}
			// What is read (and what is not) is TestIntegrationFrugality's.
			if rep.Stats.Bytes <= 0 {
				t.Errorf("stats.bytes = %d, want > 0", rep.Stats.Bytes)
			}
		})
	}
}

// TestIntegrationOutputFile checks --output against the real registries:
// the report lands at PATH, and the run writes nothing else (cwd, HOME and
// TMPDIR all point into the test's temp dir, and stay empty). It changes
// the process's working directory and environment, so it is not parallel.
func TestIntegrationOutputFile(t *testing.T) {
	for _, srv := range integServers {
		t.Run(srv.name, func(t *testing.T) {
			integOutputFile(t, srv.start(t, integUser, integPassword))
		})
	}
}

// integOutputFile is TestIntegrationOutputFile against the registry at
// host.
func integOutputFile(t *testing.T, host string) {
	idx := imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1<<20)
	integPush(t, host+"/"+integRepo+":"+integTag, idx)
	ref := host + "/" + integRepo + ":" + integTag

	root := t.TempDir()
	for _, d := range []string{"cwd", "home", "tmp", "out"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := integDockerConfig(t, filepath.Join(root, "docker"), integUser, integPassword, host)
	t.Chdir(filepath.Join(root, "cwd"))
	t.Setenv("TMPDIR", filepath.Join(root, "tmp"))
	m := map[string]string{"HOME": filepath.Join(root, "home"), "DOCKER_CONFIG": cfg, "TMPDIR": filepath.Join(root, "tmp")}
	getenv := func(k string) string { return m[k] }

	out := filepath.Join(root, "out", "report.json")
	r := integExec(t, getenv, "", "--format", "json", "--output", "json="+out, ref)
	if r.code != exitPass {
		t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("reading the --output report: %v", err)
	}
	if diff := cmp.Diff(r.stdout, string(b)); diff != "" {
		t.Errorf("--output json report differs from --format json on stdout (-stdout +file):\n%s", diff)
	}
	if rep := integDecode(t, string(b)); rep.Result != "pass" {
		t.Errorf("report result = %q, want pass", rep.Result)
	}

	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			rel += "/"
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"./", "cwd/", "docker/", "docker/config.json", "home/", "out/", "out/report.json", "tmp/"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files after the run mismatch (-want +got):\n%s", diff)
	}
}

// integRandomLayer is a layer holding one file of n incompressible bytes.
func integRandomLayer(t *testing.T, file string, n int, seed uint64) v1.Layer {
	t.Helper()
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return imagetest.Layer(t, imagetest.Dir(path.Dir(file)), imagetest.File{Path: file, Body: string(b)})
}

func integDigest(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func integLayers(t *testing.T, img v1.Image) []v1.Layer {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// integFrugalImage is an image under the frugality test and what it is
// made of.
type integFrugalImage struct {
	idx v1.ImageIndex
	// big are the base layers, which hold no wanted file.
	big []string
	// shared are layers that both variants use.
	shared []string
	// manifests and configs of the variants.
	manifests, configs []string
}

func integDescribe(t *testing.T, idx v1.ImageIndex) integFrugalImage {
	t.Helper()
	fi := integFrugalImage{idx: idx}
	uses := map[string]int{}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		fi.manifests = append(fi.manifests, d.Digest.String())
		fi.configs = append(fi.configs, m.Config.Digest.String())
		fi.big = append(fi.big, m.Layers[0].Digest.String())
		for _, l := range m.Layers {
			uses[l.Digest.String()]++
		}
	}
	for d, n := range uses {
		if n > 1 {
			fi.shared = append(fi.shared, d)
		}
	}
	sort.Strings(fi.shared)
	return fi
}

// TestIntegrationFrugality counts, through a recording proxy in front of
// each real registry, what a check fetches (DESIGN section 4).
func TestIntegrationFrugality(t *testing.T) {
	t.Parallel()
	const baseSize = 1 << 20

	// Both variants share the top layer (the same v1.Layer value), as
	// buildx images usually share the UI and metadata layers.
	top := imagetest.Layer(t, imagetest.PluginFiles(imagetest.PluginMetadata)...)
	var imgs []v1.Image
	for i, arch := range []string{"amd64", "arm64"} {
		base := integRandomLayer(t, "bin/busybox-"+arch, baseSize, uint64(i+1))
		backend := imagetest.Layer(t, imagetest.Dir("backend"), imagetest.File{Path: "backend/service", Body: "backend for " + arch})
		imgs = append(imgs, imagetest.Image(t, imagetest.Spec{
			Arch: arch, Labels: imagetest.ExtensionLabels(), Entrypoint: []string{"/backend/service"},
			Layers: []v1.Layer{base, backend, top},
		}))
	}
	shared := integDescribe(t, imagetest.Index(t, imgs...))
	if diff := cmp.Diff([]string{integDigest(t, top)}, shared.shared); diff != "" {
		t.Fatalf("layers shared by the variants mismatch (-want +got):\n%s", diff)
	}

	// The same, with the UI directory marked opaque in the top layer: the
	// merged /ui tree then ends there whatever lies below.
	opaqueTop := imagetest.Layer(t, append(imagetest.PluginFiles(imagetest.PluginMetadata), imagetest.Opaque("ui"))...)
	var opaqueImgs []v1.Image
	for i, arch := range []string{"amd64", "arm64"} {
		ls := integLayers(t, imgs[i])
		opaqueImgs = append(opaqueImgs, imagetest.Image(t, imagetest.Spec{
			Arch: arch, Labels: imagetest.ExtensionLabels(), Entrypoint: []string{"/backend/service"},
			Layers: []v1.Layer{ls[0], ls[1], opaqueTop},
		}))
	}

	tests := []struct {
		name string
		img  integFrugalImage
	}{
		{name: "variants share the top layer", img: shared},
		{name: "opaque ui in the shared top layer", img: integDescribe(t, imagetest.Index(t, opaqueImgs...))},
		// Layers built per arch; the top layers have equal content, so the
		// registry holds one blob for both.
		{name: "imagetest.Plugin", img: integDescribe(t, imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, baseSize))},
	}
	for _, srv := range integServers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					host := srv.start(t, integUser, integPassword)
					rec, proxy := realregistry.Record(t, host)
					ref := proxy + "/" + integRepo + ":" + integTag
					idxDigest := integPush(t, ref, tt.img.idx).String()
					rec.Reset()

					cfg := integDockerConfig(t, filepath.Join(t.TempDir(), "docker"), integUser, integPassword, proxy)
					r := integExec(t, integEnv(t, cfg), "", "--format", "json", ref)
					if r.code != exitPass {
						t.Fatalf("run() = %d, want %d\n%s", r.code, exitPass, r)
					}
					rep := integDecode(t, r.stdout)
					reqs := rec.Requests()
					defer func() {
						if t.Failed() {
							var log strings.Builder
							for _, q := range reqs {
								log.WriteString(q.Method + " " + q.Path + "\n")
							}
							t.Logf("requests the registry saw:\n%s", &log)
						}
					}()

					count := map[string]int{}
					for _, q := range reqs {
						count[q.Method+" "+q.Path]++
					}
					prefix := "/v2/" + integRepo
					blob := func(d string) string { return prefix + "/blobs/" + d }
					manifest := func(d string) string { return prefix + "/manifests/" + d }

					// The report's cost is what the registry saw, plus one https
					// attempt per ping: go-containerregistry races https against
					// http for a loopback registry, and that attempt never reaches
					// a plain-HTTP server.
					pings := count["GET /v2/"]
					if got, seen := rep.Stats.Requests, int64(len(reqs)); got < seen || got > seen+int64(pings) {
						t.Errorf("stats.requests = %d, but the registry saw %d requests (%d of them pings)", got, seen, pings)
					}
					if rep.Stats.Bytes >= baseSize {
						t.Errorf("stats.bytes = %d, want less than one base layer (%d)", rep.Stats.Bytes, baseSize)
					}
					for _, d := range tt.img.big {
						if n := count["GET "+blob(d)]; n != 0 {
							t.Errorf("base layer %s fetched %d times, want never", d, n)
						}
					}
					for _, d := range tt.img.shared {
						if n := count["GET "+blob(d)]; n > 1 {
							t.Errorf("shared layer %s fetched %d times, want at most once", d, n)
						}
					}
					for k, n := range count {
						if strings.HasPrefix(k, "GET "+prefix+"/blobs/") && n > 1 {
							t.Errorf("%s: %d times, want each blob at most once", k, n)
						}
					}
					for _, d := range tt.img.configs {
						if n := count["GET "+blob(d)]; n != 1 {
							t.Errorf("config %s fetched %d times, want once", d, n)
						}
					}
					for _, d := range tt.img.manifests {
						if n := count["GET "+manifest(d)]; n != 1 {
							t.Errorf("variant manifest %s fetched %d times, want once", d, n)
						}
					}
					if n := count["GET "+manifest(idxDigest)] + count["GET "+manifest(integTag)]; n != 1 {
						t.Errorf("index fetched %d times (by digest or tag), want once", n)
					}
					if n := count["GET "+manifest(integTag)]; n != 0 {
						t.Errorf("GET of the tag sent %d times, want none (HEAD resolves it)", n)
					}

					// Resolution: a HEAD of the tag before any manifest GET.
					head := slices.IndexFunc(reqs, func(q realregistry.Request) bool {
						return q.Method == "HEAD" && q.Path == manifest(integTag)
					})
					get := slices.IndexFunc(reqs, func(q realregistry.Request) bool {
						return q.Method == "GET" && strings.HasPrefix(q.Path, prefix+"/manifests/")
					})
					if head < 0 || get < 0 || head > get {
						t.Errorf("HEAD of the tag at request %d, first manifest GET at %d: want the HEAD first", head, get)
					}
				})
			}
		})
	}
}
