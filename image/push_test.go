package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/docker/desktop-plugin-check/internal/realregistry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// pushRefs parses references for Push.
func pushRefs(t *testing.T, refs ...string) []name.Reference {
	t.Helper()
	var out []name.Reference
	for _, r := range refs {
		ref, err := name.ParseReference(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ref)
	}
	return out
}

// pushOK pushes img to the targets, which must succeed.
func pushOK(t *testing.T, img *Image, opts PushOptions, targets ...string) []Pushed {
	t.Helper()
	got, err := img.Push(context.Background(), pushRefs(t, targets...), opts)
	if err != nil {
		t.Fatalf("Push(%v): %v", targets, err)
	}
	if len(got) != len(targets) {
		t.Fatalf("Push(%v) = %d results, want %d", targets, len(got), len(targets))
	}
	for _, p := range got {
		if p.Digest != img.Digest {
			t.Errorf("Push: %s resolves to %s, want the image's %s", p.Ref, p.Digest, img.Digest)
		}
	}
	return got
}

// validateRemote reads everything ref holds, every blob checked against its
// digest (go-containerregistry's validate), and returns the number of
// entries of its index (0 for an image).
func validateRemote(t *testing.T, ref string, opts ...remote.Option) int {
	return validateRemoteWith(t, ref, nil, opts...)
}

// validateRemoteWith is validateRemote with validate's options: with
// validate.Fast, layers are read and checked against their digests only
// (not decompressed).
func validateRemoteWith(t *testing.T, ref string, vopts []validate.Option, opts ...remote.Option) int {
	t.Helper()
	d, err := remote.Get(mustRef(t, ref), opts...)
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	if d.MediaType.IsIndex() {
		idx, err := d.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(idx); err != nil {
			t.Errorf("%s is not a complete, valid index: %v", ref, err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		return len(m.Manifests)
	}
	img, err := d.Image()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img, vopts...); err != nil {
		t.Errorf("%s is not a complete, valid image: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		// go-containerregistry checks a remote blob against its digest.
		rc, err := l.Compressed()
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		if err != nil {
			t.Errorf("reading a layer of %s: %v", ref, err)
		}
	}
	return 0
}

// attested is pluginIndex with an attestation manifest for each platform.
func attested(t *testing.T, title string) v1.ImageIndex {
	t.Helper()
	idx := pluginIndex(t, title)
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := idx
	for _, d := range m.Manifests {
		out = imagetest.WithAttestation(t, out, d.Digest)
	}
	return out
}

// TestPushCopiesExactly: from every source, the target ends up holding the
// very index (or manifest) that was opened, attestation manifests
// included, every blob present and matching its digest.
func TestPushCopiesExactly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	idx := attested(t, "Pushed")
	layoutDir := filepath.Join(dir, "layout")
	imagetest.WriteLayout(t, layoutDir, idx, "1.0.0")
	archive := filepath.Join(dir, "plugin.tar")
	imagetest.WriteOCIArchive(t, archive, idx)
	docker25 := filepath.Join(dir, "docker25.tar")
	imagetest.WriteDockerSaveArchive(t, docker25, map[string]v1.ImageIndex{"docker.io/acme/plugin:1.0.0": idx})
	single := filepath.Join(dir, "single.tar")
	imagetest.WriteDockerArchive(t, single, pluginImage(t, "amd64", "Single"), "acme/plugin:1.0.0")
	legacy := filepath.Join(dir, "legacy.tar")
	legacyArchive(t, legacy, labelsWithTitle("Legacy"), [][]byte{
		imagetest.TarBytes(t, imagetest.File{Path: "metadata.json", Body: "{}"}),
	}, nil)

	source := imagetest.Registry(t)
	imagetest.Push(t, source+"/acme/plugin-staging:1.0.0-rc.1", idx)

	tests := []struct {
		name string
		src  string
		// entries is the number of entries of the pushed index (0: an image).
		entries int
		// uncompressed says that layers are uncompressed tars in a
		// manifest that calls them gzip (the manifest made up for a docker
		// save archive from before Docker 25): they are checked against
		// their digests, not decompressed.
		uncompressed bool
	}{
		{name: "OCI layout", src: "oci:" + layoutDir, entries: 4},
		{name: "OCI archive", src: "oci-archive:" + archive, entries: 4},
		{name: "docker archive with an OCI layout", src: "docker-archive:" + docker25, entries: 4},
		{name: "docker archive, one platform", src: "docker-archive:" + single},
		{name: "docker save from before Docker 25, uncompressed layers", src: "docker-archive:" + legacy, uncompressed: true},
		{name: "registry: a staging tag promoted", src: source + "/acme/plugin-staging:1.0.0-rc.1", entries: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := openSource(t, tt.src, Options{})
			want, err := img.blobs.get(context.Background(), v1.Descriptor{Digest: img.Digest}, true)
			if err != nil {
				t.Fatal(err)
			}
			target := imagetest.Registry(t)
			ref := target + "/acme/plugin:1.0.0"
			got := pushOK(t, img, PushOptions{}, ref)
			if got[0].Unchanged || got[0].Uploaded == 0 || got[0].Manifests == 0 {
				t.Errorf("Push = %+v, want blobs uploaded and manifests written", got[0])
			}
			if raw := imagetest.GetManifest(t, ref); !bytes.Equal(raw, want) {
				t.Errorf("the target's manifest differs from the source's:\n got %s\nwant %s", raw, want)
			}
			var vopts []validate.Option
			if tt.uncompressed {
				vopts = append(vopts, validate.Fast)
			}
			if n := validateRemoteWith(t, ref, vopts); n != tt.entries {
				t.Errorf("the target's index has %d entries, want %d", n, tt.entries)
			}
			byDigest := target + "/acme/plugin@" + img.Digest.String()
			if raw := imagetest.GetManifest(t, byDigest); !bytes.Equal(raw, want) {
				t.Errorf("%s differs from the source's manifest", byDigest)
			}
		})
	}
}

// TestPushRefusals: what cannot be pushed as it was checked is refused
// before anything is sent.
func TestPushRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	layoutDir := filepath.Join(dir, "layout")
	imagetest.WriteLayout(t, layoutDir, pluginIndex(t, "Refused"), "")
	compressed := filepath.Join(dir, "compressed.tar")
	// A gzip layer named ID/layer.tar carries no digest of its content.
	legacyArchive(t, compressed, labelsWithTitle("Legacy"), [][]byte{
		imagetest.Gzip(t, imagetest.TarBytes(t, imagetest.File{Path: "metadata.json", Body: "{}"})),
	}, nil)
	other := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name, src, target string
		want              []string
	}{
		{name: "digest of another image", src: "oci:" + layoutDir, target: "/acme/plugin@" + other,
			want: []string{"refusing to push", "another digest"}},
		{name: "layer without a digest of its content", src: "docker-archive:" + compressed, target: "/acme/plugin:1.0.0",
			want: []string{"no digest of its content", "cannot be pushed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &imagetest.Recorder{}
			img := openSource(t, tt.src, Options{})
			target := imagetest.Registry(t)
			_, err := img.Push(context.Background(), pushRefs(t, target+tt.target), PushOptions{Transport: rec})
			if err == nil {
				t.Fatal("Push succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Push error %q does not say %q", err, w)
				}
			}
			if reqs := rec.Requests(); len(reqs) != 0 {
				t.Errorf("Push sent %v, want nothing", reqs)
			}
		})
	}
}

// TestPushExistingTags: a release tag that names another image is never
// moved, and nothing is written to any target; the same digest is left
// alone; an unprotected tag (latest) moves.
func TestPushExistingTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, pluginIndex(t, "New"), "")
	img := openSource(t, "oci:"+dir, Options{})
	host := imagetest.Registry(t)
	old := imagetest.Push(t, host+"/acme/plugin:1.0.0", pluginIndex(t, "Old"))
	imagetest.Push(t, host+"/acme/plugin:latest", pluginIndex(t, "Old"))

	t.Run("release tag with another digest", func(t *testing.T) {
		rec := &imagetest.Recorder{}
		got, err := img.Push(ctx, pushRefs(t, host+"/acme/other:1.0.0", host+"/acme/plugin:1.0.0"), PushOptions{Transport: rec})
		if err == nil {
			t.Fatal("Push succeeded, want a refusal")
		}
		for _, w := range []string{"refusing to push to " + host + "/acme/plugin:1.0.0", old.String(), img.Digest.String(), "never moved"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Push error %q does not say %q", err, w)
			}
		}
		for _, q := range rec.Requests() {
			if !strings.HasPrefix(q, "HEAD ") && !strings.HasPrefix(q, "GET /v2/ ") && q != "GET /v2/" {
				t.Errorf("Push sent %q, want only HEADs (nothing written)", q)
			}
		}
		if len(got) != 2 || got[0].Digest != (v1.Hash{}) || got[1].Digest != (v1.Hash{}) {
			t.Errorf("Push = %+v, want two targets, neither pushed", got)
		}
		if d := imagetest.GetManifest(t, host+"/acme/plugin:1.0.0"); !bytes.Equal(d, mustRaw(t, pluginIndex(t, "Old"))) {
			t.Error("the release tag was moved")
		}
		if _, err := remote.Head(mustRef(t, host+"/acme/other:1.0.0")); err == nil {
			t.Error("the other target was written")
		}
	})
	t.Run("same digest", func(t *testing.T) {
		pushOK(t, img, PushOptions{}, host+"/acme/plugin:1.1.0")
		rec := &imagetest.Recorder{}
		got := pushOK(t, img, PushOptions{Transport: rec}, host+"/acme/plugin:1.1.0")
		if !got[0].Unchanged || got[0].Manifests != 0 || got[0].Uploaded != 0 || got[0].BytesSent != 0 {
			t.Errorf("Push again = %+v, want unchanged, nothing written", got[0])
		}
		for _, q := range rec.Requests() {
			if m, _, _ := strings.Cut(q, " "); m != "HEAD" && m != "GET" {
				t.Errorf("Push again sent %q, want only reads", q)
			}
		}
	})
	t.Run("latest moves", func(t *testing.T) {
		latest, err := remote.Head(mustRef(t, host+"/acme/plugin:latest"))
		if err != nil {
			t.Fatal(err)
		}
		release := func(tag string) bool { return tag != "latest" }
		got := pushOK(t, img, PushOptions{Protected: release}, host+"/acme/plugin:1.2.0", host+"/acme/plugin:latest")
		if got[1].Previous != latest.Digest {
			t.Errorf("latest: Previous = %s, want %s", got[1].Previous, latest.Digest)
		}
	})
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	return pushRefs(t, s)[0]
}

func mustRaw(t *testing.T, x remote.Taggable) []byte {
	t.Helper()
	raw, err := x.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestPushBlobsPresent: blobs the target holds already are not sent again:
// a release that shares its base and backend layers with the one before
// uploads only its configs and top layer.
func TestPushBlobsPresent(t *testing.T) {
	t.Parallel()
	const baseSize = 1 << 20
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/acme/plugin:1.0.0", imagetest.Plugin(t, labelsWithTitle("One"), imagetest.PluginMetadata, baseSize))
	next := imagetest.Plugin(t, labelsWithTitle("Two"), strings.Replace(imagetest.PluginMetadata, "My Plugin", "My Plugin 2", 1), baseSize)
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, next, "")
	img := openSource(t, "oci:"+dir, Options{})

	rec := &imagetest.Recorder{}
	got := pushOK(t, img, PushOptions{Transport: rec}, host+"/acme/plugin:2.0.0")[0]
	// New: two configs and one top layer (the same for both platforms).
	// Present: two base layers and two backend layers.
	if got.Uploaded != 3 || got.Present != 4 || got.Mounted != 0 {
		t.Errorf("Push = %d uploaded, %d present, %d mounted; want 3, 4, 0", got.Uploaded, got.Present, got.Mounted)
	}
	if n := rec.Count("PATCH", ""); n != 3 {
		t.Errorf("%d PATCH requests, want 3 (one per new blob)", n)
	}
	if n := rec.Count("POST", "/blobs/uploads/"); n != 3 {
		t.Errorf("%d blob uploads started, want 3", n)
	}
	if got.BytesSent >= baseSize {
		t.Errorf("%d bytes sent, want less than one base layer (%d)", got.BytesSent, baseSize)
	}
	// The index and both platform manifests by digest, and the tag.
	if got.Manifests != 4 {
		t.Errorf("%d manifests written, want 4", got.Manifests)
	}
}

// failOnce answers the first request of each rule with the rule's status
// (Retry-After: 0), then lets requests through.
type failOnce struct {
	mu    sync.Mutex
	rules []failRule
}

type failRule struct {
	method, path string // path is a substring
	status       int
	done         bool
}

func (f *failOnce) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		for i := range f.rules {
			rule := &f.rules[i]
			if !rule.done && r.Method == rule.method && strings.Contains(r.URL.Path, rule.path) {
				rule.done = true
				f.mu.Unlock()
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Retry-After", "0")
				http.Error(w, "try again", rule.status)
				return
			}
		}
		f.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// TestPushRetries: 429 and 503 answers to an upload's start, its PATCH and
// a manifest PUT are retried, and the push completes.
func TestPushRetries(t *testing.T) {
	t.Parallel()
	f := &failOnce{rules: []failRule{
		{method: http.MethodPost, path: "/blobs/uploads/", status: http.StatusServiceUnavailable},
		{method: http.MethodPatch, path: "/blobs/uploads/", status: http.StatusTooManyRequests},
		{method: http.MethodPut, path: "/manifests/", status: http.StatusServiceUnavailable},
		{method: http.MethodPut, path: "/manifests/1.0.0", status: http.StatusTooManyRequests},
	}}
	host := imagetest.RegistryWith(t, f.middleware)
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, pluginIndex(t, "Retried"), "")
	img := openSource(t, "oci:"+dir, Options{})
	rec := &imagetest.Recorder{}
	pushOK(t, img, PushOptions{Transport: rec}, host+"/acme/plugin:1.0.0")
	for _, r := range f.rules {
		if !r.done {
			t.Errorf("no %s %s was answered %d", r.method, r.path, r.status)
		}
	}
	validateRemote(t, host+"/acme/plugin:1.0.0")
}

// dropper closes the connection of the first times PATCH requests after
// reading after bytes of the body, as a registry or proxy that goes away
// mid-layer does.
type dropper struct {
	times, after int64
	dropped      atomic.Int64
}

func (d *dropper) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && d.dropped.Add(1) <= d.times {
			io.CopyN(io.Discard, r.Body, d.after)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				panic(err)
			}
			conn.Close()
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestPushInterruptedUpload: an upload whose connection drops mid-layer is
// started again; when it keeps dropping, the push fails and no tag is
// written.
func TestPushInterruptedUpload(t *testing.T) {
	t.Parallel()
	big := imagetest.Image(t, imagetest.Spec{Labels: labelsWithTitle("Big"), Layers: []v1.Layer{
		imagetest.Layer(t, imagetest.File{Path: "base.bin", Body: string(imagetest.Incompressible(2<<20, "big"))}),
	}})
	dir := t.TempDir()
	imagetest.WriteImageLayout(t, dir, big, "")
	for _, tt := range []struct {
		name   string
		times  int64
		wantOK bool
	}{
		{name: "dropped once", times: 1, wantOK: true},
		{name: "dropped every time", times: 1 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &dropper{times: tt.times, after: 64 << 10}
			host := imagetest.RegistryWith(t, d.middleware)
			img := openSource(t, "oci:"+dir, Options{})
			rec := &imagetest.Recorder{}
			ref := host + "/acme/plugin:1.0.0"
			got, err := img.Push(context.Background(), pushRefs(t, ref), PushOptions{Transport: rec})
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Push: %v", err)
				}
				if got[0].Digest != img.Digest {
					t.Errorf("Push: %s resolves to %s, want %s", ref, got[0].Digest, img.Digest)
				}
				validateRemote(t, ref)
				return
			}
			if err == nil {
				t.Fatal("Push succeeded, want an error")
			}
			if !strings.Contains(err.Error(), "pushing to "+ref) {
				t.Errorf("Push error %q does not name the target", err)
			}
			if n := rec.Count(http.MethodPut, "/manifests/1.0.0"); n != 0 {
				t.Errorf("the tag was written (%d PUTs)", n)
			}
			if _, err := remote.Head(mustRef(t, ref)); err == nil {
				t.Error("the tag exists after a failed push")
			}
			if n := d.dropped.Load(); n < 2 {
				t.Errorf("%d upload attempts, want the upload retried", n)
			}
		})
	}
}

// TestPushMounts: against the reference registry server (which, unlike
// go-containerregistry's, keeps blobs per repository), blobs of another
// repository of the same registry are mounted, not uploaded: from the
// repository the image was read from (a staging tag promoted), and from
// the first target for the second.
func TestPushMounts(t *testing.T) {
	t.Parallel()
	const user, password = "pusher", "Push-S3cret-1b2c"
	creds := &authn.Basic{Username: user, Password: password}
	for _, srv := range []struct {
		name  string
		start func(testing.TB, string, string) string
	}{
		{name: "distribution-v3-in-process", start: realregistry.Start},
		{name: "docker-registry-2.8-binary", start: realregistry.StartBinary},
	} {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			host := srv.start(t, user, password)
			keychain := registryKeychain{registry: host, auth: creds}
			idx := attested(t, "Mounted")
			imagetest.Push(t, host+"/acme/staging:1.0.0-rc.1", idx, remote.WithAuth(creds))
			dir := t.TempDir()
			imagetest.WriteLayout(t, dir, idx, "")

			t.Run("from the image's repository", func(t *testing.T) {
				img := openSource(t, host+"/acme/staging:1.0.0-rc.1", Options{Auth: creds})
				rec := &imagetest.Recorder{}
				got := pushOK(t, img, PushOptions{Keychain: keychain, Transport: rec}, host+"/acme/plugin:1.0.0")[0]
				// 2 platforms and 2 attestations: 4 configs, 6 distinct layers.
				if got.Mounted == 0 || got.Uploaded != 0 {
					t.Errorf("Push = %d mounted, %d uploaded; want every blob mounted", got.Mounted, got.Uploaded)
				}
				if n := rec.Count(http.MethodPatch, ""); n != 0 {
					t.Errorf("%d PATCH requests, want none", n)
				}
				validateRemote(t, host+"/acme/plugin:1.0.0", remote.WithAuth(creds))
			})
			t.Run("from the first target", func(t *testing.T) {
				img := openSource(t, "oci:"+dir, Options{})
				got := pushOK(t, img, PushOptions{Keychain: keychain}, host+"/acme/first:1.0.0", host+"/acme/second:1.0.0")
				if got[0].Uploaded == 0 || got[0].Mounted != 0 {
					t.Errorf("first target: %d uploaded, %d mounted; want uploads only", got[0].Uploaded, got[0].Mounted)
				}
				if got[1].Mounted != got[0].Uploaded || got[1].Uploaded != 0 {
					t.Errorf("second target: %d mounted, %d uploaded; want the %d blobs of the first mounted", got[1].Mounted, got[1].Uploaded, got[0].Uploaded)
				}
				validateRemote(t, host+"/acme/second:1.0.0", remote.WithAuth(creds))
			})
		})
	}
}

// hubStandIn stands in for Docker Hub's protocol: the registry answers
// every request without a token with a Bearer challenge naming the token
// endpoint; the token endpoint grants the scopes asked for to one user,
// and a request is let through only with a token whose scopes cover it
// (push for writes; pull on the source repository for a mount, which is
// otherwise ignored, as Hub does). Blob uploads are sent on to another
// host, as Hub's storage is, which takes no credentials. Every
// Authorization header each host receives is logged.
type hubStandIn struct {
	user, password string
	inner          http.Handler

	mu     sync.Mutex
	tokens map[string][]string
	scopes []string
	auth   map[string][]string // by host
	reqs   []string            // "HOST METHOD PATH"
}

const (
	hubRegistry = "index.docker.io"
	hubAuth     = "auth.docker.io"
	hubStorage  = "storage.hub.example"
)

func newHubStandIn(user, password string) *hubStandIn {
	return &hubStandIn{user: user, password: password, inner: imagetest.RegistryHandler(), tokens: map[string][]string{}, auth: map[string][]string{}}
}

// log records a request; it also gives a request without a body the empty
// one a server would (fakeNetwork hands the client's request over).
func (h *hubStandIn) log(host string, r *http.Request) {
	if r.Body == nil {
		r.Body = http.NoBody
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.auth[host] = append(h.auth[host], r.Header.Get("Authorization"))
	h.reqs = append(h.reqs, host+" "+r.Method+" "+r.URL.Path)
}

func (h *hubStandIn) tokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log(hubAuth, r)
		if r.Header.Get("Authorization") != basicHeader(h.user, h.password) || r.URL.Query().Get("service") != "registry.docker.io" {
			w.Header().Set("WWW-Authenticate", `Basic realm="Docker Hub"`)
			http.Error(w, `{"details":"incorrect username or password"}`, http.StatusUnauthorized)
			return
		}
		scopes := r.URL.Query()["scope"]
		h.mu.Lock()
		tok := "hub-token-" + string(rune('a'+len(h.tokens)))
		h.tokens[tok] = scopes
		h.scopes = append(h.scopes, scopes...)
		h.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300})
	})
}

// allows reports whether token grants action (pull or push) on repo.
func (h *hubStandIn) allows(token, repo, action string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.tokens[token] {
		parts := strings.Split(s, ":")
		if len(parts) == 3 && parts[0] == "repository" && parts[1] == repo && strings.Contains(","+parts[2]+",", ","+action+",") {
			return true
		}
	}
	return false
}

func (h *hubStandIn) registryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log(hubRegistry, r)
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		h.mu.Lock()
		_, known := h.tokens[token]
		h.mu.Unlock()
		repo, action := hubRepo(r.URL.Path), "pull"
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			action = "push"
		}
		if !known || repo != "" && !h.allows(token, repo, action) {
			challenge := `Bearer realm="https://` + hubAuth + `/token",service="registry.docker.io"`
			if repo != "" {
				challenge += `,scope="repository:` + repo + `:` + action + `"`
			}
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		if from := r.URL.Query().Get("from"); r.Method == http.MethodPost && from != "" && !h.allows(token, from, "pull") {
			q := r.URL.Query()
			q.Del("mount")
			q.Del("from")
			r.URL.RawQuery = q.Encode()
		}
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		rw := &relocate{ResponseWriter: w}
		h.inner.ServeHTTP(rw, r)
	})
}

func (h *hubStandIn) storageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log(hubStorage, r)
		h.inner.ServeHTTP(w, r)
	})
}

// relocate points the Location of a started upload at the storage host.
type relocate struct{ http.ResponseWriter }

func (r *relocate) WriteHeader(code int) {
	if loc := r.Header().Get("Location"); code == http.StatusAccepted && strings.HasPrefix(loc, "/") {
		r.Header().Set("Location", "https://"+hubStorage+loc)
	}
	r.ResponseWriter.WriteHeader(code)
}

// hubRepo is the repository a registry path names ("" for /v2/).
func hubRepo(p string) string {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return ""
	}
	for _, sep := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.Index(rest, sep); i >= 0 {
			return rest[:i]
		}
	}
	return ""
}

// TestPushDockerHubProtocol: a push to Docker Hub as Hub speaks (a Bearer
// challenge, a token with scope push,pull from auth.docker.io, uploads
// sent on to its storage, manifest PUT by digest and by tag), from an
// image on another registry: each registry gets its own credentials only,
// the token endpoint gets the push credentials only, and the storage host
// none.
func TestPushDockerHubProtocol(t *testing.T) {
	t.Parallel()
	const staging = "registry.staging.example"
	sourceCreds := &authn.Basic{Username: "staging-ci", Password: "Staging-S3cret-44aa"}
	pushCreds := &authn.Basic{Username: "acme", Password: "Hub-T0ken-9f8e"}

	stagingInner := imagetest.RegistryHandler()
	srv := httptest.NewServer(stagingInner)
	t.Cleanup(srv.Close)
	idx := attested(t, "Hub")
	imagetest.Push(t, strings.TrimPrefix(srv.URL, "http://")+"/acme/plugin:1.2.0-rc.1", idx)

	hub := newHubStandIn(pushCreds.Username, pushCreds.Password)
	var stagingAuth []string
	var mu sync.Mutex
	stagingHandler := requireAuth(basicHeader(sourceCreds.Username, sourceCreds.Password), `Basic realm="staging"`,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stagingInner.ServeHTTP(w, r) }))
	network := &fakeNetwork{t: t, hosts: map[string]fakeHost{
		staging: {https: true, handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			stagingAuth = append(stagingAuth, r.Header.Get("Authorization"))
			mu.Unlock()
			stagingHandler.ServeHTTP(w, r)
		})},
		hubRegistry: {https: true, handler: hub.registryHandler()},
		hubAuth:     {https: true, handler: hub.tokenHandler()},
		hubStorage:  {https: true, handler: hub.storageHandler()},
	}}

	img := openSource(t, staging+"/acme/plugin:1.2.0-rc.1", Options{Auth: sourceCreds, Transport: network})
	keychain := registryKeychain{registry: hubRegistry, auth: pushCreds}
	got := pushOK(t, img, PushOptions{Keychain: keychain, Transport: network}, "acme/plugin:1.2.0", "acme/plugin:latest")
	if got[0].Uploaded == 0 || got[1].Manifests != 1 {
		t.Errorf("Push = %+v, want blobs uploaded to the first target and only the tag written for the second", got)
	}

	raw := imagetest.GetManifest(t, "acme/plugin:1.2.0", remote.WithTransport(network), remote.WithAuthFromKeychain(keychain))
	if !bytes.Equal(raw, mustRaw(t, idx)) {
		t.Errorf("Docker Hub holds %s, want the staging index", raw)
	}
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if !slices.Contains(hub.scopes, "repository:acme/plugin:push,pull") {
		t.Errorf("token scopes asked for: %v, want repository:acme/plugin:push,pull", hub.scopes)
	}
	for _, a := range hub.auth[hubAuth] {
		if a != basicHeader(pushCreds.Username, pushCreds.Password) && a != "" {
			t.Errorf("the token endpoint received %q, want only the push credentials", a)
		}
	}
	for _, a := range hub.auth[hubRegistry] {
		if a != "" && !strings.HasPrefix(a, "Bearer hub-token-") {
			t.Errorf("Docker Hub received %q, want only its tokens", a)
		}
	}
	if len(hub.auth[hubStorage]) == 0 {
		t.Error("no upload went to the storage host")
	}
	for _, a := range hub.auth[hubStorage] {
		if a != "" {
			t.Errorf("the storage host received credentials %q", a)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range stagingAuth {
		if a != "" && a != basicHeader(sourceCreds.Username, sourceCreds.Password) {
			t.Errorf("the source registry received %q, want only its own credentials", a)
		}
	}
	for _, want := range []string{
		hubRegistry + " POST /v2/acme/plugin/blobs/uploads/",
		hubStorage + " PATCH /v2/acme/plugin/blobs/uploads/",
		hubStorage + " PUT /v2/acme/plugin/blobs/uploads/",
		hubRegistry + " PUT /v2/acme/plugin/manifests/" + img.Digest.String(),
		hubRegistry + " PUT /v2/acme/plugin/manifests/1.2.0",
		hubRegistry + " PUT /v2/acme/plugin/manifests/latest",
	} {
		if !slices.ContainsFunc(hub.reqs, func(q string) bool { return strings.HasPrefix(q, want) }) {
			t.Errorf("no request %q; Hub saw:\n%s", want, strings.Join(hub.reqs, "\n"))
		}
	}
}

// TestPushChecksWhatItSends: a layer of the source that does not match its
// digest fails the push before the registry commits it, and nothing is
// tagged.
func TestPushChecksWhatItSends(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img := pluginImage(t, "amd64", "Tampered")
	imagetest.WriteImageLayout(t, dir, img, "")
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	base := m.Layers[0].Digest
	p := filepath.Join(dir, "blobs", base.Algorithm, base.Hex)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff // same size, other content
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	src := openSource(t, "oci:"+dir, Options{})
	var mu sync.Mutex
	var commits, tags []string
	host := imagetest.RegistryWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if r.Method == http.MethodPut && r.URL.Query().Has("digest") {
				commits = append(commits, r.URL.Query().Get("digest"))
			}
			if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/1.0.0") {
				tags = append(tags, r.URL.Path)
			}
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
	_, err = src.Push(context.Background(), pushRefs(t, host+"/acme/plugin:1.0.0"), PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "blob "+base.String()+" does not match its digest") {
		t.Fatalf("Push error %v, want the tampered layer named", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(commits, base.String()) || len(tags) != 0 {
		t.Errorf("commits %v, tags %v: want neither the tampered layer committed nor the tag written", commits, tags)
	}
}

// rewriter answers GET and HEAD of one tag with another manifest, as a
// registry that rewrote the tag under the push would.
type rewriter struct {
	tag string
	raw []byte
	on  atomic.Bool
}

func (rw *rewriter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rw.on.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/"+rw.tag) {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			w.Write(rw.raw)
			return
		}
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+rw.tag) {
			rw.on.Store(true)
		}
		next.ServeHTTP(w, r)
	})
}

// TestPushReadsBack: a target that does not resolve to the image once
// pushed fails the push.
func TestPushReadsBack(t *testing.T) {
	t.Parallel()
	rw := &rewriter{tag: "1.0.0", raw: mustRaw(t, pluginIndex(t, "Someone else's"))}
	host := imagetest.RegistryWith(t, rw.middleware)
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, pluginIndex(t, "Ours"), "")
	img := openSource(t, "oci:"+dir, Options{})
	_, err := img.Push(context.Background(), pushRefs(t, host+"/acme/plugin:1.0.0"), PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "reading back "+host+"/acme/plugin:1.0.0: it resolves to") {
		t.Errorf("Push error %v, want the read-back mismatch", err)
	}
}

// inFlight counts the uploads (PATCH) a registry is serving at once, each
// held a moment so that uploads sent together overlap.
type inFlight struct {
	mu       sync.Mutex
	now, max int
}

func (f *inFlight) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPatch {
			next.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		f.now++
		f.max = max(f.max, f.now)
		f.mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		next.ServeHTTP(w, r)
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	})
}

// TestPushBoundsUploads: however many platforms and layers, at most
// PushOptions.Concurrency uploads are in flight to a target (the pusher's
// own limit applies per image, and per index to its images: its square).
func TestPushBoundsUploads(t *testing.T) {
	t.Parallel()
	var imgs []v1.Image
	for _, arch := range []string{"amd64", "arm64", "riscv64", "s390x"} {
		var layers []v1.Layer
		for i := range 4 {
			layers = append(layers, imagetest.Layer(t, imagetest.File{Path: fmt.Sprintf("%s-%d", arch, i), Body: arch}))
		}
		imgs = append(imgs, imagetest.Image(t, imagetest.Spec{Arch: arch, Labels: labelsWithTitle("Wide"), Layers: layers}))
	}
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, imagetest.Index(t, imgs...), "")
	img := openSource(t, "oci:"+dir, Options{})
	f := &inFlight{}
	host := imagetest.RegistryWith(t, f.middleware)
	got := pushOK(t, img, PushOptions{Concurrency: 2}, host+"/acme/plugin:1.0.0")
	if got[0].Uploaded != 20 {
		t.Errorf("%d blobs uploaded, want 20 (4 configs, 16 layers)", got[0].Uploaded)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.max != 2 {
		t.Errorf("at most %d uploads in flight, want 2", f.max)
	}
}
